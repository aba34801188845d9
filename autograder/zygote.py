"""A warm start for workers: a zygote process imports torch (and the scenarios) once, then
forks a fresh worker for each solution.

Starting a worker costs an import of torch (about 2.5 s here, more with torchvision). A
batch of 200 students and 8 assignments would pay it 1,600 times. A zygote pays it once:
it is started by the grading process, imports torch, numpy, the kit and every scenario
module it is told to preload, and then waits. For each solution the grading process
hands it the pipes of a new worker (over a Unix socket, with ``SCM_RIGHTS``); the zygote
forks, and the child becomes an ordinary worker, exactly as a freshly started one would:
its own session, its own environment and scratch folder, namespaces, limits, and, at its
first load, landlock and seccomp. Nothing of one solution reaches another: each child
starts from the zygote's pristine memory, which no solution code has ever touched.

The zygote never runs solution code and never initialises CUDA (a CUDA context does not
survive a fork). It reaps its children and reports how each ended, so the grading side
can say "killed by SIGSEGV" as it does for a worker it started itself.

``Zygote`` (grading side) starts and talks to it; ``ForkedProcess`` stands in for a
``subprocess.Popen`` of the child. Linux only (``available()``); elsewhere workers start
the usual way.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

_MAX_MESSAGE = 1 << 20
_FDS = 4  # the child's stdin, stdout, stderr, and its lifeline


def available():
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds") and hasattr(os, "fork")


class ZygoteError(RuntimeError):
    pass


def start(preload):
    """A zygote with ``preload`` (scenario files) imported, or None where there is none:
    not available here, turned off with ``AUTOGRADER_ZYGOTE=0`` (a fresh worker per job, to
    compare), or failed to start. Workers then start afresh."""
    if os.environ.get("AUTOGRADER_ZYGOTE", "") == "0" or not available():
        return None
    try:
        return Zygote(list(preload))
    except ZygoteError:
        return None


class Zygote:
    """The grading side of a zygote: start it, spawn workers from it, learn how they end."""

    def __init__(self, preload=(), startup_timeout=300.0):
        from autograder.runner import ALLOCATOR_ENV, _kit_root, _spawn
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._socket = ours
        read_end, self._lifeline = os.pipe()
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   AUTOGRADER_CONTROL=str(theirs.fileno()), AUTOGRADER_LIFELINE=str(read_end),
                   AUTOGRADER_PARENT=str(os.getpid()),
                   AUTOGRADER_PRELOAD=json.dumps([str(p) for p in preload]))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_kit_root(), env.get("PYTHONPATH")]))
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if os.environ.get("AUTOGRADER_MALLOC", "") != "system":
            for name, value in ALLOCATOR_ENV.items():  # read by glibc at start: children inherit
                env.setdefault(name, value)
        import tempfile
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = _spawn([sys.executable, "-m", "autograder.worker", "--zygote"],
                                   pass_fds=(theirs.fileno(), read_end), stdin=subprocess.DEVNULL,
                                   stdout=self._stderr, stderr=self._stderr,
                                   start_new_session=True, env=env)
        finally:
            theirs.close()
            os.close(read_end)
        self._lock = threading.Lock()          # one spawn at a time on the socket
        self._changed = threading.Condition()
        self._replies, self._exits = {}, {}
        self._ready = False
        self._next = 0
        threading.Thread(target=self._listen, name="autograder-zygote", daemon=True).start()
        with self._changed:
            if not self._changed.wait_for(lambda: self._ready or self._exits.get("zygote"),
                                          timeout=startup_timeout):
                self.close()
                raise ZygoteError("the zygote did not start")
        if not self._ready:
            self._stderr.seek(0)
            tail = self._stderr.read()[-2000:].decode("utf-8", "replace")
            self.close()
            raise ZygoteError(f"the zygote stopped while starting:\n{tail}")

    def _listen(self):
        while True:
            try:
                data = self._socket.recv(_MAX_MESSAGE)
            except OSError:
                data = b""
            with self._changed:
                if not data:
                    self._exits["zygote"] = "gone"
                    self._changed.notify_all()
                    return
                message = json.loads(data)
                if message["op"] == "ready":
                    self._ready = True
                elif message["op"] == "spawned":
                    self._replies[message["id"]] = message
                elif message["op"] == "exited":
                    self._exits[message["pid"]] = message["returncode"]
                self._changed.notify_all()

    @property
    def alive(self):
        return self._ready and "zygote" not in self._exits and self._process.poll() is None

    def spawn(self, env, cwd, stderr, lifeline, namespaces=False, timeout=30.0):
        """A new worker: its requests go to the returned process's ``stdin``, its answers
        come from its ``stdout``; ``stderr`` and ``lifeline`` are file descriptors."""
        child_stdin, our_stdin = os.pipe()
        our_stdout, child_stdout = os.pipe()
        try:
            with self._lock:
                self._next += 1
                ident = self._next
                message = json.dumps({"op": "spawn", "id": ident, "env": env, "cwd": str(cwd),
                                      "namespaces": bool(namespaces)}).encode()
                socket.send_fds(self._socket, [message],
                                [child_stdin, child_stdout, stderr, lifeline])
        except OSError as error:
            os.close(our_stdin)
            os.close(our_stdout)
            raise ZygoteError(f"the zygote did not take the request: {error}") from None
        finally:
            os.close(child_stdin)  # the child has its own copies now
            os.close(child_stdout)
        with self._changed:
            if not self._changed.wait_for(lambda: ident in self._replies or
                                          "zygote" in self._exits, timeout=timeout):
                raise ZygoteError("the zygote did not fork a worker in time")
            if ident not in self._replies:
                raise ZygoteError("the zygote is gone")
            pid = self._replies.pop(ident)["pid"]
        return ForkedProcess(self, pid, os.fdopen(our_stdin, "wb"), os.fdopen(our_stdout, "rb"))

    def returncode(self, pid):
        with self._changed:
            return self._exits.get(pid)

    def wait(self, pid, timeout=None):
        with self._changed:
            if not self._changed.wait_for(lambda: pid in self._exits or "zygote" in self._exits,
                                          timeout=timeout):
                return None
            return self._exits.get(pid, -signal.SIGKILL)

    def close(self):
        try:
            self._socket.close()
        except OSError:
            pass
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._process.wait()


class ForkedProcess:
    """The part of ``subprocess.Popen`` a runner uses, for a worker forked by a zygote."""

    def __init__(self, zygote, pid, stdin, stdout):
        self._zygote, self.pid, self.stdin, self.stdout = zygote, pid, stdin, stdout

    @property
    def returncode(self):
        return self._zygote.returncode(self.pid)

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        code = self._zygote.wait(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
        return code


# --- the zygote process ------------------------------------------------------------------

def zygote_main():
    """Import what every worker needs, then fork a worker for each request."""
    from autograder import sandbox, worker
    control = socket.socket(fileno=int(os.environ.pop("AUTOGRADER_CONTROL")))
    lifeline = int(os.environ.pop("AUTOGRADER_LIFELINE"))
    sandbox.die_with_parent(int(os.environ.pop("AUTOGRADER_PARENT", "0") or 0))
    worker._watch_lifeline(lifeline)
    preload = json.loads(os.environ.pop("AUTOGRADER_PRELOAD", "[]"))
    import numpy  # noqa: F401
    import torch  # noqa: F401

    import autograder.state  # noqa: F401
    import autograder.tripwire  # noqa: F401
    import autograder.wire  # noqa: F401
    for path in preload:
        worker.PRELOADED[path] = worker._import_scenarios(f"preloaded_{len(worker.PRELOADED)}",
                                                          path)
    sending = threading.Lock()

    def send(message):
        with sending:
            control.send(json.dumps(message).encode())

    def reap():
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.05)
                continue
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            send({"op": "exited", "pid": pid, "returncode": code})

    threading.Thread(target=reap, name="autograder-reaper", daemon=True).start()
    send({"op": "ready", "pid": os.getpid()})
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, _MAX_MESSAGE, _FDS)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the grading process is gone
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            _child(request, fds, control, lifeline)  # never returns
        for fd in fds:
            os.close(fd)
        send({"op": "spawned", "id": request["id"], "pid": pid})


def _child(request, fds, control, zygote_lifeline):
    """In the forked child: become a worker for the grading process."""
    from autograder import worker
    try:
        control.close()
        os.close(zygote_lifeline)
        stdin, stdout, stderr, lifeline = fds
        os.setsid()
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        import tempfile
        tempfile.tempdir = None  # found again from the new TMPDIR
        os.chdir(request["cwd"])
        worker.start_worker(os.getppid(), lifeline, namespaces=request["namespaces"])
    except BaseException:  # nothing of the zygote's may run on in a child
        import traceback
        traceback.print_exc()
    os._exit(70)
