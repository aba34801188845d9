"""A grading run stopped by a signal stops within a second, leaves a results file that
parses, and leaves no process behind: sent to real runs of the CLI and of pytest, while
the student's code is stuck in an endless loop."""
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from helpers import alive, descendants

pytestmark = pytest.mark.slow

HANG = ("\n\ndef gradient_descent(grad_fn, x0, lr, steps):\n"
        "    while True:\n        pass\n")


def _tree(tmp_path, kit_root):
    tree = tmp_path / "hung"
    shutil.copytree(kit_root / "reference" / "03_adam", tree / "03_adam")
    path = tree / "03_adam" / "optimizers.py"
    path.write_text(path.read_text() + HANG)
    return tree


def _run_until(command, cwd, marker, stream):
    """Start ``command``; return (process, its worker pids) once ``marker`` was printed on
    ``stream`` ('out' or 'err') and the student's code has been looping for a second."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    chunks = queue.Queue()
    source = process.stdout if stream == "out" else process.stderr
    other = process.stderr if stream == "out" else process.stdout

    def pump(fd, sink):
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return
            sink.put(chunk)

    threading.Thread(target=pump, args=(source.fileno(), chunks), daemon=True).start()
    threading.Thread(target=pump, args=(other.fileno(), queue.Queue()), daemon=True).start()
    seen, deadline = b"", time.monotonic() + 120
    while marker.encode() not in seen:
        try:
            seen += chunks.get(timeout=1)
        except queue.Empty:
            assert process.poll() is None, f"the run ended first: {seen.decode()[-2000:]}"
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{marker!r} was never printed")
    time.sleep(1.5)
    workers = descendants(process.pid)
    assert len(workers) >= 2, workers  # the student's and the reference's workers
    return process, workers


def _stop(process, signum):
    started = time.monotonic()
    os.kill(process.pid, signum)
    try:
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return code, time.monotonic() - started


def _gone(workers, within=3.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in workers):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum, code, says", [
    (signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_the_cli_stops_within_a_second_and_leaves_partial_results(tmp_path, kit_root, signum,
                                                                   code, says):
    results = tmp_path / "results.json"
    process, workers = _run_until(
        [sys.executable, "-m", "autograder", "grade", "03_adam", "--solution",
         str(_tree(tmp_path, kit_root)), "--results", str(results)],
        kit_root, "gd_quadratic", "err")
    returncode, seconds = _stop(process, signum)
    assert returncode == code
    assert seconds < 1.0, f"stopped after {seconds:.2f} s"
    assert _gone(workers), [p for p in workers if alive(p)]
    data = json.loads(results.read_text())
    assert f"interrupted by {says}" in data["output"]
    assert "not a final grade" in data["output"]


def test_a_killed_cli_takes_its_workers_with_it(tmp_path, kit_root):
    results = tmp_path / "results.json"
    process, workers = _run_until(
        [sys.executable, "-m", "autograder", "grade", "03_adam", "--solution",
         str(_tree(tmp_path, kit_root)), "--results", str(results)],
        kit_root, "gd_quadratic", "err")
    returncode, _ = _stop(process, signal.SIGKILL)
    assert returncode == -signal.SIGKILL
    assert _gone(workers, within=2.0), [p for p in workers if alive(p)]
    data = json.loads(results.read_text())
    assert "did not finish: this is not a grade" in data["output"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_pytest_stops_within_a_second_and_leaves_partial_results(tmp_path, kit_root, signum):
    results = tmp_path / "results.json"
    process, workers = _run_until(
        [sys.executable, "-m", "pytest", "assignments/03_adam", "-v", "-p", "no:cacheprovider",
         "--solution", str(_tree(tmp_path, kit_root)), "--results", str(results)],
        kit_root, "::gd_quadratic", "out")
    returncode, seconds = _stop(process, signum)
    assert returncode == 2  # pytest's "interrupted"
    assert seconds < 1.0, f"stopped after {seconds:.2f} s"
    assert _gone(workers), [p for p in workers if alive(p)]
    data = json.loads(results.read_text())
    assert "interrupted" in data["output"] and "not a final grade" in data["output"]
