"""The grading side's door to solution code: a worker process, or (for debugging) in-process.

``WorkerRunner`` starts ``python -m autograder.worker`` once and keeps it for
the whole run. Each request has a deadline; a worker that misses it, or dies,
is killed and restarted on the next request, and the implementations it had
loaded are loaded again, so one hanging check costs only that check.

``InProcessRunner`` runs the same ``Executor`` in this process, so ``pdb``
reaches the solution's frames. It is for debugging only: it imports solution
code into the grading process.
"""
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from autograder.wire import WireError, decode_data, decode_json, encode_json, _LENGTH

STARTUP_TIMEOUT = 180.0
LOAD_TIMEOUT = 60.0


@dataclass
class Outcome:
    """What one request to an implementation produced."""

    status: str                 # ok, error, not_implemented, load_error, timeout, crash,
    #                             bad_output, grader_error
    data: object = None
    message: str = ""
    traceback: str = ""
    stdout: str = ""
    forbidden_calls: list = field(default_factory=list)
    seconds: float = 0.0        # wall time seen by the grading side
    inner_seconds: float = None  # time reported by the worker itself (informational)

    @property
    def ok(self):
        return self.status == "ok"


class WorkerDied(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class WorkerRunner:
    """Runs requests in a separate worker process, with deadlines."""

    def __init__(self, name, extra_env=None):
        self.name = name
        self._extra_env = dict(extra_env or {})
        self._process = None
        self._loads = []
        self._stderr = None
        self.info = {}

    def start(self):
        """Launch the worker without waiting for it (torch imports in the background)."""
        if self._process is not None:
            return
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self._extra_env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_kit_root(), env.get("PYTHONPATH")]))
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, env=env, start_new_session=True)
        self.info = {}

    def load(self, request):
        """Load an implementation; remembered so a restarted worker loads it again."""
        self._loads.append(request)
        outcome, _ = self._request(request, LOAD_TIMEOUT)
        return outcome

    def run(self, request, timeout):
        outcome, _ = self._request(request, timeout)
        return outcome

    def speed_setup(self, request, timeout):
        return self._request(request, timeout)[0]

    def speed_run(self, request, timeout):
        """Run a timed block; ``Outcome.seconds`` is measured here, around the request."""
        return self._request(request, timeout)[0]

    def close(self):
        if self._process is None:
            return
        try:
            self._send({"op": "exit"})
            self._process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired, WorkerDied):
            pass
        self._kill()

    def _request(self, request, timeout):
        try:
            self._ensure_ready()
            started = time.perf_counter()
            self._send(request)
            header = decode_json(self._receive(started + timeout))
            data = None
            if header.get("has_payload"):
                data = decode_data(self._receive(time.perf_counter() + LOAD_TIMEOUT))
            seconds = time.perf_counter() - started
        except WorkerDied as died:
            self._kill()
            return Outcome(died.status, message=died.message), None
        except WireError as error:
            self._kill()
            return Outcome("bad_output", message=f"the worker sent malformed data: {error}"), None
        return Outcome(
            status=header["status"], data=data, message=header.get("message", ""),
            traceback=header.get("traceback", ""), stdout=header.get("stdout", ""),
            forbidden_calls=header.get("forbidden_calls", []), seconds=seconds,
            inner_seconds=header.get("inner_seconds")), header

    def _ensure_ready(self):
        if self._process is not None and self.info:
            return
        self.start()
        ready = decode_json(self._receive(time.perf_counter() + STARTUP_TIMEOUT))
        self.info = ready
        for request in self._loads:
            self._send(request)
            header = decode_json(self._receive(time.perf_counter() + LOAD_TIMEOUT))
            if header.get("has_payload"):
                self._receive(time.perf_counter() + LOAD_TIMEOUT)

    def _send(self, request):
        payload = encode_json(request)
        try:
            self._process.stdin.write(_LENGTH.pack(len(payload)) + payload)
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerDied("crash", self._death_message()) from None

    def _receive(self, deadline):
        head = self._read(_LENGTH.size, deadline)
        (length,) = _LENGTH.unpack(head)
        return self._read(length, deadline)

    def _read(self, size, deadline):
        fd = self._process.stdout.fileno()
        chunks, remaining = [], size
        while remaining:
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise WorkerDied("timeout", "")
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                raise WorkerDied("crash", self._death_message())
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _death_message(self):
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the worker process stopped answering"
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (out of memory?)" if name == "SIGKILL" else ""
            return f"the worker process was killed by {name}{hint}"
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        return f"the worker process exited with code {code}" + (f":\n{tail}" if tail else "")

    def _kill(self):
        process, self._process, self.info = self._process, None, {}
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class InProcessRunner:
    """Runs requests in this process (debug mode: exceptions propagate for pdb)."""

    def __init__(self, name, reraise=True):
        from autograder.worker import Executor, PythonCapture
        capture = PythonCapture()
        capture.reraise = reraise
        self.name = name
        self._executor = Executor(capture)
        self.info = {"in_process": True}

    def start(self):
        pass

    def load(self, request):
        return self._outcome(*self._executor.load(request), 0.0)

    def run(self, request, timeout):
        started = time.perf_counter()
        header, payload = self._executor.run(request)
        return self._outcome(header, payload, time.perf_counter() - started)

    def speed_setup(self, request, timeout):
        return self._outcome(*self._executor.speed_setup(request), 0.0)

    def speed_run(self, request, timeout):
        started = time.perf_counter()
        header, _ = self._executor.speed_run(request)
        return self._outcome(header, None, time.perf_counter() - started)

    def close(self):
        pass

    @staticmethod
    def _outcome(header, payload, seconds):
        return Outcome(
            status=header["status"], data=None if payload is None else decode_data(payload),
            message=header.get("message", ""), traceback=header.get("traceback", ""),
            stdout=header.get("stdout", ""), forbidden_calls=header.get("forbidden_calls", []),
            seconds=seconds, inner_seconds=header.get("inner_seconds"))


def _kit_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
