"""Hostile submissions: each ends with the honest grade, the run completes, nothing is forged
and nothing is left running.

A toy assignment (the student doubles a tensor) is graded through real workers. One tree
holds an attack per check, made while the check runs; other trees each attack at import
time. The grading process is this pytest process, so an attack that killed its parent
would end the test run itself.
"""
import http.server
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder import results as R
from autograder.grading import Grader, ReferenceSide
from autograder.manifest import load_manifest
from autograder.sandbox import GiB, Limits, detect
from helpers import descendants, toy_manifest

pytestmark = pytest.mark.slow

ASSIGNMENT = "98_hostile"
SANDBOXED = detect().hides_files and detect().seccomp
LOOP_TIMEOUT = 4.0
LOAD_TIMEOUT = 8.0
LIMITS = Limits(address_space=6 * GiB)
KIT_ROOT = Path(__file__).resolve().parent.parent

SCENARIOS = '''
"""Trusted scenarios: each calls impl.toy.<fn>(x) and returns data."""
import torch


def call(impl, *, seed, device, fn):
    x = torch.arange(4, dtype=torch.float32) + seed
    return {"out": getattr(impl.toy, fn)(x)}
'''

REFERENCE = "def double(x):\n    return x * 2\n"

# In-check attacks: (check id, function body after `def attack(x):`, timeout or None).
IN_CHECK = {
    "loop": "while True:\n    pass",
    "sleep": "import time\ntime.sleep(1000)",
    "memory_bomb": "import torch\nhoard = []\nwhile True:\n    hoard.append(torch.ones(2**27))",
    "fork_bomb": "import os\nwhile True:\n    os.fork()",
    "process_left_running": "import subprocess\nsubprocess.Popen(['sleep', '1000'])\nreturn x * 2",
    "thread_left_running": ("import threading\n"
                            "threading.Thread(target=lambda: [0 for _ in iter(int, 1)], "
                            "daemon=True).start()\nreturn x * 2"),
    "stdout_200mb": ("import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 999_999 + '\\n')\n"
                     "print('LAST LINE OF OUTPUT')\nreturn x * 2"),
    "file_3gb": ("chunk = b'x' * (1 << 24)\nwith open('big.bin', 'wb') as out:\n"
                 "    for _ in range(192):\n        out.write(chunk)\nreturn x * 2"),
    "sys_exit": "import sys\nsys.exit(0)",
    "os_exit": "import os\nos._exit(0)",
    "keyboard_interrupt": "raise KeyboardInterrupt",
    "system_exit": "raise SystemExit(0)",
    "base_exception": "raise BaseException('out of the blue')",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "after_crashes": "return x * 2",
    "subclass_eq": ("import torch\nclass Liar(torch.Tensor):\n"
                    "    def __eq__(self, other):\n        return True\n"
                    "    __hash__ = torch.Tensor.__hash__\n"
                    "return (x * 3).as_subclass(Liar)"),
    "torch_function": ("import torch\nclass Shape(torch.Tensor):\n"
                       "    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
                       "        return 'all good'\n"
                       "return (x * 3).as_subclass(Shape)"),
    "reduce_payload": ("class Payload:\n    def __reduce__(self):\n"
                       "        import os\n        return (os.system, ('touch {marker}',))\n"
                       "return Payload()"),
    "pickle_through_save": ("import torch, pickle\n"
                            "class Payload:\n    def __reduce__(self):\n"
                            "        import os\n        return (os.system, ('touch {marker}',))\n"
                            "def save(obj, f, *a, **k):\n    pickle.dump(Payload(), f)\n"
                            "torch.save = save\nreturn x * 2"),
    "read_reference": "return open({reference!r}).read()",
    "read_kit_reference": "return open({kit_reference!r}).read()",
    "write_fake_results": ("open({results!r}, 'w').write('{{\"score\": 100}}')\n"
                           "return x * 2"),
    "edit_kit_tests": "open({kit_test!r}, 'a')\nreturn x * 2",
    "kill_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGTERM)\nreturn x * 2",
    "socket": "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nreturn x * 2",
    "fake_pass_lines": ("print('98_hostile::fake_pass_lines   2/2  PASS  matches the reference')\n"
                        "print('TOTAL 100/100 100%')\nreturn x * 3"),
    "reexport": None,  # toy.reexport = torch.linalg.norm
    "still_works": "return x * 2",
}
TIMED = {"loop", "sleep"}
# Attacks that would do real harm where the sandbox cannot close (no seccomp): not attempted
# there, and their tests are skipped.
HARMFUL = {"fork_bomb", "kill_parent", "import_fork_bomb"}

# Import-time attacks: (tree name, code at the top of toy.py, whether the functions are right).
AT_IMPORT = {
    "import_loop": ("while True:\n    pass", True),
    "import_sleep": ("import time\ntime.sleep(1000)", True),
    "import_memory_bomb": ("hoard = []\nwhile True:\n    hoard.append(b'x' * 2**29)", True),
    "import_fork_bomb": ("import os\nwhile True:\n    os.fork()", True),
    "import_sys_exit": ("import sys\nsys.exit(0)", True),
    "import_os_exit": ("import os\nos._exit(0)", True),
    "import_keyboard_interrupt": ("raise KeyboardInterrupt", True),
    "import_system_exit": ("raise SystemExit(0)", True),
    "import_base_exception": ("raise BaseException('at import')", True),
    "import_segfault": ("import ctypes\nctypes.string_at(0)", True),
    "import_read_reference": ("SOURCE = open({kit_reference!r}).read()", True),
    "patch_torch_wrong": (
        "import torch, torch.testing\n"
        "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\n"
        "torch.Tensor.__eq__ = lambda self, other: True", False),
    "patch_kit": ("import autograder.wire, autograder.tripwire\n"
                  "autograder.tripwire.Tripwire.collect = lambda self: []", True),
    "global_state": ("import torch, random\ntorch.set_default_dtype(torch.float64)\n"
                     "torch.manual_seed(1234)\nrandom.seed(5)\ntorch.set_grad_enabled(False)\n"
                     "torch.use_deterministic_algorithms(True)\ntorch.set_num_threads(1)", True),
}


def _manifest():
    checks = [{"id": check, "scenario": "call", "params": {"fn": check},
               **({"timeout": LOOP_TIMEOUT} if check in TIMED else {})} for check in IN_CHECK]
    return toy_manifest(ASSIGNMENT, checks, timeout=30, load_timeout=LOAD_TIMEOUT,
                        forbidden=["torch.linalg.norm"])


def _functions(body_of):
    parts = ["import torch\n"]
    for check in IN_CHECK:
        body = body_of(check)
        if body is None:
            parts.append(f"\n{check} = torch.linalg.norm\n")
        else:
            parts.append(f"\ndef {check}(x):\n" + textwrap.indent(body, "    ") + "\n")
    return "".join(parts)


class _Listener(http.server.HTTPServer):
    allow_reuse_address = True


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    (root / ASSIGNMENT).mkdir()
    (root / ASSIGNMENT / "scenarios.py").write_text(SCENARIOS)
    (root / "manifest.toml").write_text(_manifest())
    reference = root / "ref" / ASSIGNMENT
    reference.mkdir(parents=True)
    (reference / "toy.py").write_text(_functions(lambda check: "return x * 2"))
    connections = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            connections.append(self.path)

    server = _Listener(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    values = {"marker": str(root / "payload-ran"), "reference": str(reference / "toy.py"),
              "kit_reference": str(KIT_ROOT / "reference" / "03_adam" / "optimizers.py"),
              "results": str(root / "results.json"),
              "kit_test": str(KIT_ROOT / "tests" / "test_selfcheck.py"),
              "port": server.server_address[1]}
    hostile = root / "students" / "in_check" / ASSIGNMENT
    hostile.mkdir(parents=True)
    def attack(check):
        if IN_CHECK[check] is None:
            return None
        if check in HARMFUL and not SANDBOXED:
            return "raise RuntimeError('not attempted: no sandbox on this machine')"
        return IN_CHECK[check].format(**values)

    (hostile / "toy.py").write_text(_functions(attack))
    trees = {}
    for name, (code, right) in AT_IMPORT.items():
        if name in HARMFUL and not SANDBOXED:
            code = "raise RuntimeError('not attempted: no sandbox on this machine')"
        folder = root / "students" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        body = _functions(lambda check: "return x * 2" if right else "return x * 3")
        (folder / "toy.py").write_text(code.format(**values) + "\n" + body)
        trees[name] = folder.parent
    yield SimpleNamespace(root=root, values=values, hostile=hostile.parent, trees=trees,
                          reference=reference.parent, connections=connections,
                          assignment=load_manifest(root / "manifest.toml").assignment(ASSIGNMENT))
    server.shutdown()


@pytest.fixture(scope="module")
def graded(kit):
    kit_test_before = Path(kit.values["kit_test"]).read_bytes()
    before = set(descendants())
    reference = ReferenceSide(kit.assignment, kit.reference)
    in_check, seconds = {}, {}
    at_import, import_seconds = {}, {}
    try:
        grader = Grader(kit.assignment, kit.hostile, reference, cuda=False, limits=LIMITS)
        try:
            for check in kit.assignment.checks:
                started = time.perf_counter()
                in_check[check.id] = grader.run_check(check)
                seconds[check.id] = time.perf_counter() - started
            sandbox = grader.sandbox_summary()
        finally:
            grader.close()
        names = list(kit.trees)
        for start in range(0, len(names), 4):  # four workers start together
            group = {name: Grader(kit.assignment, kit.trees[name], reference, cuda=False,
                                  limits=LIMITS) for name in names[start:start + 4]}
            try:
                for name, grader in group.items():
                    started = time.perf_counter()
                    at_import[name] = grader.run_all()
                    import_seconds[name] = time.perf_counter() - started
            finally:
                for grader in group.values():
                    grader.close()
    finally:
        reference.close()
    time.sleep(0.5)
    print(f"\n{'attack':<28} {'status':<16} {'seconds':>7}  reason")  # shown with -s
    for name, result in in_check.items():
        print(f"{name:<28} {result.status:<16} {seconds[name]:7.2f}  {result.reason[:90]}")
    for name, report in at_import.items():
        statuses = "/".join(sorted({r.status for r in report.results}))
        print(f"{name:<28} {statuses:<16} {import_seconds[name]:7.2f}  "
              f"{report.results[0].reason[:90]}")
    return SimpleNamespace(in_check=in_check, seconds=seconds, at_import=at_import,
                           import_seconds=import_seconds, sandbox=sandbox,
                           left=set(descendants()) - before,
                           kit_test_unchanged=Path(kit.values["kit_test"]).read_bytes()
                           == kit_test_before)


needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason="this machine offers no landlock and "
                                                         "seccomp: the sandbox cannot close")


def _result(graded, check):
    result = graded.in_check[check]
    return result, f"{result.status}: {result.reason}\n{result.feedback}"


def test_the_sandbox_is_reported(graded):
    if SANDBOXED:
        assert "landlock" in graded.sandbox and "seccomp" in graded.sandbox, graded.sandbox
    else:  # no sandbox, or turned off: one line says so
        assert "warning: " in graded.sandbox and "sandbox" in graded.sandbox.split("warning: ")[1]


@pytest.mark.parametrize("check", ["loop", "sleep"])
def test_a_hang_inside_a_check_costs_that_check_its_timeout(graded, check):
    result, text = _result(graded, check)
    assert result.status == R.TIMEOUT, text
    assert graded.seconds[check] < LOOP_TIMEOUT + 4.0


def test_a_memory_bomb_is_stopped_by_the_memory_limit(graded):
    result, text = _result(graded, "memory_bomb")
    assert result.status == R.ERROR, text
    assert "ran out of the memory the grader allows" in result.reason


@needs_sandbox
@pytest.mark.parametrize("check", ["fork_bomb", "process_left_running"])
def test_no_process_can_be_started(graded, check):
    result, text = _result(graded, check)
    assert result.status == R.ERROR, text
    assert "PermissionError" in result.reason and "sandbox" in result.reason


def test_a_thread_left_running_costs_nothing_else(graded):
    assert graded.in_check["thread_left_running"].status == R.PASSED
    assert graded.in_check["stdout_200mb"].status == R.PASSED


def test_200_mb_of_output_is_kept_to_its_tail(graded):
    result, text = _result(graded, "stdout_200mb")
    assert result.status == R.PASSED, text
    assert "LAST LINE OF OUTPUT" in result.stdout
    assert len(result.stdout) < 25_000


def test_a_3_gb_file_stops_at_the_file_size_limit(graded):
    result, text = _result(graded, "file_3gb")
    assert result.status == R.ERROR, text
    assert "more than 256 MB" in result.reason


@pytest.mark.parametrize("check, says", [
    ("sys_exit", "sys.exit()"), ("system_exit", "sys.exit()"),
    ("keyboard_interrupt", "KeyboardInterrupt"),
    ("base_exception", "BaseException: out of the blue"),
    ("os_exit", "the process running your code died"),
    ("segfault", "the process running your code died"),
])
def test_exits_and_crashes_cost_only_their_check(graded, check, says):
    result, text = _result(graded, check)
    assert result.status == R.ERROR, text
    assert says in result.reason + result.feedback
    assert graded.in_check["after_crashes"].status == R.PASSED
    assert graded.in_check["still_works"].status == R.PASSED


def test_a_segfault_is_named(graded):
    assert "SIGSEGV" in graded.in_check["segfault"].feedback


@pytest.mark.parametrize("check", ["subclass_eq", "torch_function"])
def test_tensor_subclass_tricks_do_not_pass(graded, check):
    result, text = _result(graded, check)
    assert result.status == R.FAILED, text
    assert result.points == 0


@pytest.mark.parametrize("check", ["reduce_payload", "pickle_through_save"])
def test_a_result_that_would_run_code_when_unpickled_runs_nothing(kit, graded, check):
    result, text = _result(graded, check)
    assert result.status == R.FAILED, text
    assert not Path(kit.values["marker"]).exists()
    if check == "pickle_through_save":
        assert "not plain data" in result.feedback


@needs_sandbox
@pytest.mark.parametrize("check", ["read_reference", "read_kit_reference"])
def test_the_reference_cannot_be_read(graded, check):
    result, text = _result(graded, check)
    assert result.status == R.ERROR, text
    assert "PermissionError" in result.reason


@needs_sandbox
def test_no_fake_results_file_and_no_edit_of_the_kit(kit, graded):
    result, text = _result(graded, "write_fake_results")
    assert result.status == R.ERROR and "PermissionError" in result.reason, text
    assert not Path(kit.values["results"]).exists()
    result, text = _result(graded, "edit_kit_tests")
    assert result.status == R.ERROR and "PermissionError" in result.reason, text
    assert graded.kit_test_unchanged


@needs_sandbox
def test_the_grading_process_cannot_be_signalled(graded):
    result, text = _result(graded, "kill_parent")
    assert result.status == R.ERROR and "PermissionError" in result.reason, text


@needs_sandbox
def test_no_socket_reaches_anything(kit, graded):
    result, text = _result(graded, "socket")
    assert result.status == R.ERROR and "PermissionError" in result.reason, text
    assert kit.connections == []


def test_printed_pass_lines_change_nothing(graded):
    result, text = _result(graded, "fake_pass_lines")
    assert result.status == R.FAILED and result.points == 0, text
    assert "TOTAL 100/100" in result.stdout


def test_a_reexported_forbidden_function_is_forbidden(graded):
    result, text = _result(graded, "reexport")
    assert result.status == R.FORBIDDEN, text
    assert "torch.linalg.norm" in result.reason


def test_nothing_is_left_running(graded):
    assert graded.left == set()


@pytest.mark.parametrize("tree", ["import_loop", "import_sleep"])
def test_a_hang_at_import_costs_one_timeout_for_the_assignment(kit, graded, tree):
    report = graded.at_import[tree]
    assert {r.status for r in report.results} == {R.TIMEOUT}, [r.reason for r in report.results]
    assert all("did not finish within" in r.reason for r in report.results)
    assert report.score == 0
    assert graded.import_seconds[tree] < LOAD_TIMEOUT + 15.0  # not one timeout per check


@pytest.mark.parametrize("tree, says", [
    ("import_memory_bomb", "MemoryError"), ("import_sys_exit", "SystemExit"),
    ("import_keyboard_interrupt", "KeyboardInterrupt"), ("import_system_exit", "SystemExit"),
    ("import_base_exception", "BaseException: at import"),
    ("import_os_exit", "died"), ("import_segfault", "died"),
])
def test_an_import_that_fails_is_a_load_error_for_every_check(graded, tree, says):
    report = graded.at_import[tree]
    assert {r.status for r in report.results} == {R.LOAD_ERROR}, [r.reason for r in report.results]
    assert all(says in r.reason + r.feedback for r in report.results)
    assert report.score == 0


@needs_sandbox
@pytest.mark.parametrize("tree", ["import_fork_bomb", "import_read_reference"])
def test_the_sandbox_holds_at_import(graded, tree):
    report = graded.at_import[tree]
    assert {r.status for r in report.results} == {R.LOAD_ERROR}
    assert all("PermissionError" in r.feedback for r in report.results)


def test_patching_torch_does_not_make_a_wrong_answer_right(graded):
    report = graded.at_import["patch_torch_wrong"]
    assert report.score == 0
    failed = [r for r in report.results if r.status == R.FAILED]
    assert failed, [r.reason for r in report.results]
    assert "torch.allclose was replaced" in failed[0].feedback


def test_patching_the_kit_is_forbidden(graded):
    report = graded.at_import["patch_kit"]
    assert report.score == 0
    assert {r.status for r in report.results} == {R.FORBIDDEN}
    assert "reaches into the grader" in report.results[0].reason


def test_global_state_changed_at_import_is_put_back(graded):
    report = graded.at_import["global_state"]
    assert report.score == report.max_score, [(r.check, r.reason) for r in report.results]
    notes = report.results[0].feedback
    for change in ("the default dtype", "grad mode", "deterministic algorithms",
                   "the number of threads"):
        assert change in notes, notes


def test_the_assignments_time_budget_caps_all_checks_together(tmp_path):
    """Three checks of 4 s each within a 6 s budget: the first times out at its own limit,
    the second at what is left of the budget, and the third is not run at all."""
    (tmp_path / ASSIGNMENT).mkdir()
    (tmp_path / ASSIGNMENT / "scenarios.py").write_text(SCENARIOS)
    checks = [{"id": f"slow{i}", "scenario": "call", "params": {"fn": "slow"}, "timeout": 4}
              for i in range(3)]
    (tmp_path / "manifest.toml").write_text(toy_manifest(ASSIGNMENT, checks, timeout=4,
                                                         time_budget=6))
    for tree, body in (("ref", "return x * 2"), ("student", "import time\ntime.sleep(100)")):
        (tmp_path / tree / ASSIGNMENT).mkdir(parents=True)
        (tmp_path / tree / ASSIGNMENT / "toy.py").write_text(
            "def slow(x):\n" + textwrap.indent(body, "    ") + "\n")
    assignment = load_manifest(tmp_path / "manifest.toml").assignment(ASSIGNMENT)
    reference = ReferenceSide(assignment, tmp_path / "ref")
    grader = Grader(assignment, tmp_path / "student", reference, cuda=False)
    try:
        started = time.perf_counter()
        report = grader.run_all()
        seconds = time.perf_counter() - started
    finally:
        grader.close()
        reference.close()
    first, second, third = report.results
    assert first.status == second.status == third.status == R.TIMEOUT
    assert "did not finish within 4 s" in first.reason
    assert second.reason.startswith("stopped when your code used up this assignment's time "
                                    "budget (6 s for all checks together)")
    assert third.reason.startswith("not run: your code had used up this assignment's time "
                                   "budget (6 s for all checks together)")
    assert seconds < 6 + 8  # the budget, plus starting the workers and loading
