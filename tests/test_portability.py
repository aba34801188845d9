"""The student's loop on a system without POSIX extras (Windows has no ``resource`` module,
no process groups and no ``fork``), simulated here: a ``sitecustomize`` removes them from
every Python process of a real pytest session, the grading side and the workers alike."""
import os
import sys

import pytest

from autograder import runner, sandbox
from helpers import solution_tree

pytestmark = pytest.mark.slow

SIMULATION = '''
import os
import sys

sys.modules["resource"] = None          # "import resource" raises ImportError
for name in ("killpg", "setsid", "fork", "forkpty", "getpgid"):
    if hasattr(os, name):
        delattr(os, name)
os.environ["AUTOGRADER_SIMULATED"] = "no resource, no process groups, no fork"
'''


@pytest.fixture
def simulated(tmp_path, monkeypatch):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SIMULATION)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(shim), os.environ.get("PYTHONPATH", "")])))
    return shim


def test_the_simulation_removes_what_windows_lacks(simulated):
    import subprocess
    code = ("import os; from autograder import runner, sandbox, zygote; "
            "print(runner.PROCESS_GROUPS, sandbox.resource, zygote.available(), "
            "os.environ['AUTOGRADER_SIMULATED'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split()[:3] == ["False", "None", "False"]


def test_grading_works_without_resource_process_groups_or_fork(pytester, kit_root, tmp_path,
                                                               simulated):
    """A correct Adam passes, and a hanging one is stopped (without killpg), at its line."""
    adam = str(kit_root / "assignments" / "03_adam")
    run = pytester.runpytest_subprocess(adam, "--solution", "reference", "-k", "adam_f32 or "
                                        "gd_quadratic", "-p", "no:cacheprovider")
    assert run.ret == 0, run.stdout.str()
    run.stdout.fnmatch_lines(["TOTAL * 5/5 * partial: 2 of 17 checks run, not a grade"])
    # the workers had no resource limits to set: the sandbox line says so by leaving them out
    header = next(line for line in run.stdout.lines if line.startswith("autograder: solution"))
    assert "confined by limits" not in header
    tree, _ = solution_tree(tmp_path, "03_adam", replace=(
        "        counts = [step.item() for step in steps]\n",
        "        counts = [step.item() for step in steps]\n        while True:\n            pass\n"))
    run = pytester.runpytest_subprocess(adam, "--solution", str(tree), "-k", "adam_f32 or "
                                        "gd_quadratic", "-p", "no:cacheprovider")
    assert run.ret == 1
    run.stdout.fnmatch_lines(["*gd_quadratic * 2/2 * PASS*",
                              "*adam_f32 * 0/3 * TIMEOUT * did not finish within 5 s; it was at "
                              "line * of 03_adam/optimizers.py*"])


def test_this_machine_has_the_posix_extras():
    """The real path is the POSIX one here; the simulation above is the other."""
    if os.name != "posix":
        pytest.skip("not a POSIX system")
    assert runner.PROCESS_GROUPS and sandbox.resource is not None
