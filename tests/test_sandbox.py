"""The sandbox's parts, one by one; tests/test_hostile.py attacks the whole."""
import subprocess
import sys
import textwrap

import pytest

from autograder import sandbox


def test_limits_travel_through_the_environment():
    limits = sandbox.Limits(address_space=None, cpu_seconds=90)
    assert sandbox.Limits.from_env(limits.to_env()) == limits
    trusted = sandbox.Limits.from_env("")
    assert trusted.file_size == 256 << 20 and trusted.address_space is None
    assert trusted.cpu_seconds is None


def test_the_sandbox_can_be_turned_off_and_says_so(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "0")
    sandbox.detect.cache_clear()
    try:
        support = sandbox.detect()
        assert support.layers == ["limits"]
        assert "turned off (AUTOGRADER_SANDBOX=0)" in support.warning()
    finally:
        monkeypatch.delenv("AUTOGRADER_SANDBOX")
        sandbox.detect.cache_clear()


def test_the_student_may_read_python_and_the_solution_but_not_the_kit(kit_root, tmp_path):
    confinement = sandbox.student_confinement(
        kit_root, [kit_root / "assignments" / "03_adam" / "scenarios.py"], tmp_path)
    readable = set(confinement.read)
    assert str(kit_root / "autograder") in readable
    assert str(tmp_path.resolve()) in readable
    assert str(kit_root) not in readable
    for place in readable:
        for secret in ("reference", "tests", "assignments", "student_template"):
            assert not place.startswith(str(kit_root / secret)), place
    assert confinement.read_files == [str(kit_root / "assignments" / "03_adam" / "scenarios.py")]
    environment = confinement.environment(tmp_path, kit_root)
    # nothing of the grader's reaches the student's code but its limits, its scratch mount
    # and the language its messages are written in
    assert not [name for name in environment if name.startswith("AUTOGRADER_")
                and name not in ("AUTOGRADER_LIMITS", "AUTOGRADER_TMPFS", "AUTOGRADER_LANG")]
    assert environment["HOME"] == environment["TMPDIR"] == str(tmp_path)


def test_a_cuda_machine_gets_no_address_space_limit(kit_root, tmp_path):
    assert sandbox.student_confinement(kit_root, [], tmp_path, cuda=True).limits.address_space \
        is None
    assert sandbox.student_confinement(kit_root, [], tmp_path).limits.address_space == 8 << 30


def test_every_seccomp_jump_lands_inside_the_filter():
    program = sandbox._seccomp_program(sandbox._X86_64, 4242)
    for index, (code, jt, jf, _) in enumerate(program):
        if code in (sandbox._JEQ_K, sandbox._JSET_K):
            assert index + 1 + max(jt, jf) < len(program)
    assert program[-1][3] == sandbox._RET_KILL_PROCESS


@pytest.mark.skipif(not (sandbox.detect().seccomp and sandbox.detect().landlock_abi),
                    reason="needs landlock and seccomp")
def test_a_confined_process_keeps_threads_and_its_own_files(tmp_path, kit_root):
    """Confined, a process still runs torch with its threads and writes its scratch folder;
    it cannot fork, open a network socket or read the kit's reference."""
    script = textwrap.dedent(f"""
        import os, socket, threading, torch
        from autograder import sandbox
        policy = sandbox.FilePolicy(read=sandbox.python_paths({str(kit_root)!r})
                                    + [{str(kit_root / "autograder")!r}, *sandbox.SYSTEM_READ],
                                    write=[{str(tmp_path)!r}], devices=list(sandbox.DEVICES))
        applied, problems = sandbox.confine(policy, sandbox.landlock_abi(), True)
        print("applied", applied)
        threading.Thread(target=lambda: None).start()
        print("matmul", float((torch.ones(64, 64) @ torch.ones(64, 64)).sum()))
        open({str(tmp_path / "mine.txt")!r}, "w").write("ok")
        for name, attempt in [("fork", os.fork), ("socket", socket.socket),
                              ("read", lambda: open({str(kit_root / "reference" / "03_adam" /
                                                          "optimizers.py")!r}).read())]:
            try:
                attempt()
                print(name, "allowed")
            except PermissionError:
                print(name, "refused")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(kit_root),
                                                        "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "landlock" in done.stdout and "seccomp" in done.stdout
    assert "matmul 262144.0" in done.stdout
    assert (tmp_path / "mine.txt").read_text() == "ok"
    for name in ("fork", "socket", "read"):
        assert f"{name} refused" in done.stdout, done.stdout


def test_a_worker_started_from_a_short_lived_thread_outlives_that_thread(kit_root):
    """The kernel kills a worker when the thread that started it ends; workers started from
    other threads are therefore started by one long-lived thread."""
    import threading
    import time

    from autograder.runner import WorkerRunner
    runner = WorkerRunner("reference")
    thread = threading.Thread(target=runner._ensure_ready)  # starts it, waits until it is up
    thread.start()
    thread.join()
    try:
        time.sleep(0.5)
        assert runner._process.poll() is None
        outcome = runner.run({"op": "speed_drop", "handle": "nothing"}, 120)
        assert outcome.ok, outcome.message
    finally:
        runner.close()
