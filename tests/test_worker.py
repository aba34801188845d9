"""Worker isolation, through real worker processes, on a tiny fake kit built in a temp folder.

One module-scoped fixture builds the kit (manifest, scenarios, a reference tree and
three student trees) and grades it once: the "good" tree has one function per failure
mode, so a single ``Grader`` (one worker, restarted after each crash or hang) grades
every check of it in manifest order. Each test then inspects the recorded results.
"""
import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder import results as R
from autograder.grading import Grader, ReferenceSide, make_runner
from autograder.manifest import load_manifest
from helpers import toy_manifest

pytestmark = pytest.mark.slow

ASSIGNMENT = "99_toy"
LOOP_TIMEOUT = 3.0

# (check id, scenario, the toy function it calls, extra check fields), in grading order.
# Each crash or hang is followed by a plain check that must pass on the restarted worker.
CHECKS = [
    ("correct", "call", "double", {}),
    ("raises", "call", "raises", {}),
    ("todo", "call", "todo", {}),
    ("crash_exit", "call", "crash_exit", {}),
    ("after_crash_exit", "call", "double", {}),
    ("crash_kill", "call", "crash_kill", {}),
    ("after_crash_kill", "call", "double", {}),
    ("wrong_list", "call", "as_list", {}),
    ("wrong_object", "call", "as_object", {}),
    ("signature", "call", "one_arg", {}),
    ("nan", "call", "nan", {}),
    ("chatty", "call", "chatty", {}),
    ("quiet", "call", "double", {}),
    ("forbidden", "call", "uses_norm", {}),
    ("scenario_uses_norm", "norm_in_scenario", "double", {}),
    ("mutation", "keeps_input", "mutates", {}),
    ("loop", "call", "loop", {"timeout": LOOP_TIMEOUT}),
    ("after_loop", "call", "double", {}),
]

SCENARIOS = '''
"""Trusted scenarios of the toy assignment: each calls impl.toy.<fn> and returns data."""
import torch


def _input(seed):
    g = torch.Generator().manual_seed(1000 + seed)
    return torch.randn(4, generator=g)


def call(impl, *, seed, device, fn):
    x = _input(seed)
    return {"out": getattr(impl.toy, fn)(x, 2.0)}


def norm_in_scenario(impl, *, seed, device, fn):
    """Trusted code may call the forbidden API itself."""
    x = _input(seed)
    norm = torch.linalg.norm(x)
    return {"out": getattr(impl.toy, fn)(x, 2.0), "norm": norm}


def keeps_input(impl, *, seed, device, fn):
    """The caller's tensor after the call: it must be left untouched."""
    x = _input(seed)
    out = getattr(impl.toy, fn)(x, 2.0)
    return {"out": out, "x after the call": x}
'''

REFERENCE = "import torch\n\n" + "".join(
    f"\ndef {name}(x, scale):\n    return x * scale\n"
    for name in sorted({fn for _, _, fn, _ in CHECKS}))

GOOD = '''
import os
import signal
import sys

import torch

print("IMPORT-TIME-PRINT")


def double(x, scale):
    return x * scale


def raises(x, scale):
    y = x * scale
    raise RuntimeError("toy exploded")  # RAISING-LINE


def todo(x, scale):
    raise NotImplementedError("Task 7: todo is not implemented yet")


def crash_exit(x, scale):
    os._exit(3)


def crash_kill(x, scale):
    os.kill(os.getpid(), signal.SIGKILL)


def as_list(x, scale):
    return (x * scale).tolist()


class Box:
    def __init__(self, value):
        self.value = value


def as_object(x, scale):
    return Box(x * scale)


def one_arg(x):
    return x * 2.0


def nan(x, scale):
    return x * scale * float("nan")


def chatty(x, scale):
    print("PY-HELLO from chatty")
    sys.stderr.write("PY-STDERR from chatty\\n")
    os.write(1, b"C-HELLO from chatty\\n")
    os.write(2, b"C-STDERR from chatty\\n")
    return x * scale


def uses_norm(x, scale):
    norm = torch.linalg.norm(x)
    return x * scale


def mutates(x, scale):
    return x.mul_(scale)


def loop(x, scale):
    steps = 0
    while steps < 10:
        steps *= 2
'''

BROKEN = '''
def double(x, scale):
    return x *
'''


def _manifest_text():
    checks = [{"id": check_id, "title": f"{check_id}: {scenario} with toy.{fn}",
               "scenario": scenario, "params": {"fn": fn}, "points": 2, **extra}
              for check_id, scenario, fn, extra in CHECKS]
    return toy_manifest(ASSIGNMENT, checks, title="A toy assignment for the worker tests",
                        timeout=30, forbidden=["torch.linalg.norm"])


def _write_tree(root, source):
    folder = root / ASSIGNMENT
    folder.mkdir(parents=True)
    if source is not None:
        (folder / "toy.py").write_text(source)
    return root


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    root = tmp_path_factory.mktemp("kit")
    (root / ASSIGNMENT).mkdir()
    (root / ASSIGNMENT / "scenarios.py").write_text(SCENARIOS)
    (root / "manifest.toml").write_text(_manifest_text())
    manifest = load_manifest(root / "manifest.toml")
    return SimpleNamespace(
        root=root, assignment=manifest.assignment(ASSIGNMENT),
        reference=_write_tree(root / "ref", REFERENCE),
        good=_write_tree(root / "students" / "good", GOOD),
        broken=_write_tree(root / "students" / "broken", BROKEN),
        missing=_write_tree(root / "students" / "missing", None),
        in_process=_write_tree(root / "students" / "in_process", GOOD))


@pytest.fixture(scope="module")
def graded(kit):
    """Grade the good tree check by check (timing each), then the broken and missing trees."""
    assignment = kit.assignment
    reference = ReferenceSide(assignment, kit.reference)
    graders = {}
    try:
        # Created together so the workers import torch in parallel.
        for name in ("good", "broken", "missing"):
            graders[name] = Grader(assignment, getattr(kit, name), reference, cuda=False)
        good, seconds = {}, {}
        for check in assignment.checks:
            started = time.perf_counter()
            good[check.id] = graders["good"].run_check(check)
            seconds[check.id] = time.perf_counter() - started
        broken = graders["broken"].run_all()
        missing = graders["missing"].run_all()
    finally:
        for grader in graders.values():
            grader.close()
        reference.close()
    return SimpleNamespace(good=good, seconds=seconds, broken=broken, missing=missing)


def _line_of(source, marker):
    return next(i for i, line in enumerate(source.splitlines(), 1) if marker in line)


def test_a_correct_function_passes_with_full_points(graded):
    result = graded.good["correct"]
    assert result.status == R.PASSED, result.feedback
    assert result.points == result.max_points == 2
    assert "matches the reference" in result.reason


def test_an_exception_shows_the_students_line_and_hides_the_kit(graded):
    result = graded.good["raises"]
    assert result.status == R.ERROR
    assert result.points == 0
    assert "RuntimeError: toy exploded" in result.reason
    line = _line_of(GOOD, "RAISING-LINE")
    assert re.search(rf'toy\.py", line {line}, in raises\b', result.feedback), result.feedback
    assert 'raise RuntimeError("toy exploded")' in result.feedback
    assert "autograder/worker.py" not in result.feedback
    assert "scenarios.py" not in result.feedback


def test_not_implemented_error_is_reported_with_its_message(graded):
    result = graded.good["todo"]
    assert result.status == R.NOT_IMPLEMENTED
    assert result.points == 0
    assert "Task 7: todo is not implemented yet" in result.reason
    assert "Task 7: todo is not implemented yet" in result.feedback


def test_an_infinite_loop_times_out_and_the_next_check_passes(kit, graded):
    assert kit.assignment.timeout_for(kit.assignment.check("loop")) == LOOP_TIMEOUT
    result = graded.good["loop"]
    assert result.status == R.TIMEOUT
    assert result.points == 0
    assert f"did not finish within {LOOP_TIMEOUT:g} s" in result.reason
    assert 0.9 * LOOP_TIMEOUT <= graded.seconds["loop"] <= LOOP_TIMEOUT + 3.0
    # Where the code was stuck: the watchdog's report, read before the worker was stopped.
    line = GOOD.splitlines().index("    while steps < 10:") + 1
    assert f"it was at line {line} of 99_toy/toy.py" in result.reason
    assert f"running line {line} of 99_toy/toy.py, in loop:" in result.feedback
    assert "    while steps < 10:" in result.feedback
    assert "    steps = 0" in result.feedback
    assert "for the reference on this check" in result.feedback
    # The hung worker was killed; a fresh one loaded the solution again for the next check.
    after = graded.good["after_loop"]
    assert after.status == R.PASSED, (after.status, after.reason, after.feedback)
    assert after.points == after.max_points


@pytest.mark.parametrize("check_id, says", [
    ("crash_exit", "the worker process exited with code 3"),
    ("crash_kill", "the worker process was killed by SIGKILL"),
])
def test_a_dead_worker_is_an_error_and_the_next_check_passes(graded, check_id, says):
    result = graded.good[check_id]
    assert result.status == R.ERROR
    assert result.points == 0
    assert "the process running your code died" in result.reason
    assert says in result.feedback
    after = graded.good[f"after_{check_id}"]
    assert after.status == R.PASSED, (after.reason, after.feedback)
    assert after.points == after.max_points


def test_a_wrong_return_type_fails_naming_what_came_back(graded):
    as_list = graded.good["wrong_list"]
    assert as_list.status == R.FAILED
    assert "expected a Tensor, got a list" in as_list.reason
    as_object = graded.good["wrong_object"]
    assert as_object.status == R.FAILED
    assert "expected a Tensor, got an object of type" in as_object.reason
    assert "Box" in as_object.reason


def test_a_wrong_signature_is_an_error_with_the_type_error(graded):
    result = graded.good["signature"]
    assert result.status == R.ERROR
    assert "TypeError" in result.reason
    assert "one_arg() takes 1 positional argument but 2 were given" in result.reason
    assert "one_arg() takes 1 positional argument but 2 were given" in result.feedback


def test_nans_in_the_result_fail_as_nonfinite(graded):
    result = graded.good["nan"]
    assert result.status == R.FAILED
    assert "4 of 4 elements are NaN or Inf where a finite value was expected" in result.reason
    assert "division by zero" in result.feedback


def test_prints_are_captured_per_check(graded):
    chatty = graded.good["chatty"]
    assert chatty.status == R.PASSED
    for text in ("PY-HELLO", "PY-STDERR", "C-HELLO", "C-STDERR"):
        assert f"{text} from chatty" in chatty.stdout
    assert "PY-HELLO from chatty" in chatty.full_text()
    for check_id, result in graded.good.items():
        assert "IMPORT-TIME-PRINT" not in result.stdout, check_id
        if check_id != "chatty":
            assert "from chatty" not in result.stdout, check_id
    assert graded.good["quiet"].stdout == ""


def test_a_syntax_error_is_a_load_error_for_every_check(kit, graded):
    report = graded.broken
    assert [r.check for r in report.results] == [c.id for c in kit.assignment.checks]
    for result in report.results:
        assert result.status == R.LOAD_ERROR, (result.check, result.reason)
        assert result.points == 0
        # the table's reason leads with the error and its place (a table cuts long reasons)
        assert result.reason.startswith("SyntaxError: invalid syntax at line 3 of toy.py")
        assert "toy.py could not be imported" in result.feedback and "line 3" in result.feedback
        assert "SyntaxError" in result.feedback and "<frozen" not in result.feedback
    assert report.score == 0


def test_a_missing_file_is_a_load_error_naming_it(kit, graded):
    report = graded.missing
    assert len(report.results) == len(kit.assignment.checks)
    for result in report.results:
        assert result.status == R.LOAD_ERROR, (result.check, result.reason)
        assert "toy.py not found" in result.reason
        assert str(kit.missing / ASSIGNMENT / "toy.py") in result.feedback


def test_a_forbidden_call_is_flagged_but_not_in_trusted_scenario_code(graded):
    result = graded.good["forbidden"]
    assert result.status == R.FORBIDDEN
    assert result.points == 0
    assert "torch.linalg.norm" in result.reason
    trusted = graded.good["scenario_uses_norm"]
    assert trusted.status == R.PASSED, (trusted.reason, trusted.feedback)


def test_mutating_the_input_in_place_fails(graded):
    result = graded.good["mutation"]
    assert result.status == R.FAILED
    assert "x after the call" in result.reason


def test_the_grading_process_never_imports_the_students_code(kit, graded):
    trees = [str(kit.good.resolve()), str(kit.broken.resolve()), str(kit.missing.resolve())]
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file:
            assert not str(Path(file).resolve()).startswith(tuple(trees)), name
    assert not any(str(kit.root) in str(entry) for entry in sys.path)
    assert not any(name.startswith("_solution_") and "good" in str(getattr(m, "__file__", ""))
                   for name, m in sys.modules.items())


def test_in_process_debug_mode_runs_and_propagates_student_exceptions(kit, monkeypatch):
    import torch
    monkeypatch.setattr(torch.linalg, "norm", torch.linalg.norm)  # the tripwire wraps it
    monkeypatch.setattr(sys, "path", list(sys.path))               # add_to_path inserts
    before = set(sys.modules)
    assignment = kit.assignment
    reference = ReferenceSide(assignment, kit.reference, runner=make_runner("reference", True))
    grader = Grader(assignment, kit.in_process, reference, in_process=True, cuda=False)
    try:
        correct = grader.run_check(assignment.check("correct"))
        assert correct.status == R.PASSED, (correct.reason, correct.feedback)
        assert correct.points == correct.max_points
        raising = assignment.check("raises")
        with pytest.raises(RuntimeError, match="toy exploded"):
            grader.run_check(raising)
        recorded = grader.result_of(raising)
        assert recorded is not None
        assert recorded.status == R.ERROR
        assert "RuntimeError: toy exploded" in recorded.reason
    finally:
        grader.close()
        reference.close()
        for name in set(sys.modules) - before:
            if name.startswith(("_solution_", "_scenarios_")):
                del sys.modules[name]


def test_endless_printing_is_stopped_at_the_file_size_limit(tmp_path, kit_root):
    """A print in an endless loop fills the capture file up to the worker's limit; that
    check errors with a clear reason and the next one still runs."""
    import shutil

    from autograder.grading import grade
    tree = tmp_path / "spam"
    shutil.copytree(kit_root / "reference" / "03_adam", tree / "03_adam")
    path = tree / "03_adam" / "optimizers.py"
    path.write_text(path.read_text() + "\n\ndef gradient_descent(grad_fn, x0, lr, steps):\n"
                    "    while True:\n        print('x' * 10000)\n")
    report = grade("03_adam", tree, checks=["gd_quadratic", "manual_step"])
    spam, after = report.results
    assert spam.status == "error" and "more than 256 MB" in spam.reason
    assert after.status == "passed"


def test_the_profilers_log_lines_are_not_shown_as_the_students_output():
    from autograder.worker import _tail
    text = ("USDT:2026-11-28 20:23:31 32010:32010 SyncActivityProfilerHandler.cpp:39] "
            "profiler_start\nloss 0.5\nERROR:2026-11-28 20:23:31 32010:32010 "
            "DeviceProperties.cpp:56] gpuGetDeviceCount failed with code 35\nERROR: my own\n")
    assert _tail(text) == "loss 0.5\nERROR: my own\n"
