"""Workers forked from a zygote grade exactly as freshly started ones, each from pristine
memory, confined the same way, and they end with their grader."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from autograder import results as R
from autograder.grading import Grader, ReferenceSide
from autograder.manifest import load_manifest
from autograder.runner import WorkerRunner
from autograder.sandbox import detect
from autograder.zygote import Zygote, available
from helpers import alive, descendants, toy_manifest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not available(), reason="the zygote needs Linux")]

ASSIGNMENT = "97_forked"
SCENARIOS = '''
import math

import torch


def call(impl, *, seed, device, fn):
    x = torch.arange(4, dtype=torch.float32) + seed
    return {"out": getattr(impl.toy, fn)(x), "root": math.sqrt(4.0)}
'''
TREES = {
    "right": "def double(x):\n    return x * 2\ndef crash(x):\n    import ctypes\n    ctypes.string_at(0)\n",
    # changes its worker for good (math is not among what is put back before each check)
    "spoiler": "import math\nmath.sqrt = lambda value: -1.0\n"
               "def double(x):\n    return x * 2\ndef crash(x):\n    return x\n",
}


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    root = tmp_path_factory.mktemp("forked")
    (root / ASSIGNMENT).mkdir()
    (root / ASSIGNMENT / "scenarios.py").write_text(SCENARIOS)
    (root / "manifest.toml").write_text(toy_manifest(ASSIGNMENT, [
        {"id": "double", "scenario": "call", "params": {"fn": "double"}},
        {"id": "crash", "scenario": "call", "params": {"fn": "crash"}}]))
    for name, source in {"ref": TREES["right"], **TREES}.items():
        (root / name / ASSIGNMENT).mkdir(parents=True)
        (root / name / ASSIGNMENT / "toy.py").write_text(source)
    assignment = load_manifest(root / "manifest.toml").assignment(ASSIGNMENT)
    zygote = Zygote([assignment.scenarios_path])
    yield root, assignment, zygote
    zygote.close()


def _grade(root, assignment, tree, zygote):
    reference = ReferenceSide(assignment, root / "ref")
    grader = Grader(assignment, root / tree, reference, cuda=False, zygote=zygote)
    try:
        return grader.run_all(), grader
    finally:
        grader.close()
        reference.close()


def test_a_forked_worker_grades_like_a_fresh_one(kit):
    root, assignment, zygote = kit
    forked, grader = _grade(root, assignment, "right", zygote)
    fresh, _ = _grade(root, assignment, "right", None)
    assert [(r.check, r.status, r.reason) for r in forked.results] == \
        [(r.check, r.status, r.reason) for r in fresh.results]
    assert forked.results[0].status == R.PASSED
    assert "SIGSEGV" in forked.results[1].feedback  # the zygote reports how its child died
    if detect().landlock_abi:
        assert "landlock" in grader.sandbox_summary()


def test_what_one_solution_does_to_its_worker_never_reaches_the_next(kit):
    root, assignment, zygote = kit
    spoiled, _ = _grade(root, assignment, "spoiler", zygote)
    assert spoiled.results[0].status == R.FAILED
    assert spoiled.results[0].reason.startswith("in root:")
    after, _ = _grade(root, assignment, "right", zygote)
    assert after.results[0].status == R.PASSED, after.results[0].feedback


def test_forked_workers_end_with_the_grading_process(kit, tmp_path):
    root, assignment, _ = kit
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from autograder.manifest import load_manifest
        from autograder.runner import WorkerRunner
        from autograder.zygote import Zygote
        assignment = load_manifest(Path({str(root / "manifest.toml")!r})).assignment({ASSIGNMENT!r})
        zygote = Zygote([assignment.scenarios_path])
        runners = [WorkerRunner(f"w{{i}}", zygote=zygote) for i in range(2)]
        for runner in runners:
            runner.run({{"op": "speed_drop", "handle": "none"}}, 60)
        print("up", flush=True)
        time.sleep(600)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        assert process.stdout.readline().strip() == "up"
        below = descendants(process.pid)
        assert len(below) >= 3  # the zygote and its two workers
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 3
        while any(alive(pid) for pid in below) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in below if alive(pid)]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_worker_starts_afresh_when_the_zygote_is_gone(kit):
    root, assignment, _ = kit
    zygote = Zygote([assignment.scenarios_path])
    zygote.close()
    runner = WorkerRunner("late", zygote=zygote)
    try:
        assert runner.run({"op": "speed_drop", "handle": "none"}, 120).ok
    finally:
        runner.close()
