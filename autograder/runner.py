"""The grading side's door to solution code: a worker process, or (for debugging) in-process.

``WorkerRunner`` starts ``python -m autograder.worker`` once and keeps it for
the whole run. Each request has a deadline; a worker that misses it, or dies,
is killed and restarted on the next request, and the implementations it had
loaded are loaded again, so one hanging check costs only that check.

A student's worker is confined (``autograder.sandbox``): it starts in a scratch
folder of its own with a clean environment, under resource limits, and where the
machine allows, without network and behind landlock and seccomp. Every worker dies
with the grading process: the kernel kills it when its parent dies (Linux), and a
lifeline pipe tells it when the grader is gone anywhere else.

Each request carries a fresh nonce that its answer must echo, so nothing the
solution writes to the answer channel can pass for the answer to a later request.

``InProcessRunner`` runs the same ``Executor`` in this process, so ``pdb``
reaches the solution's frames. It is for debugging only: it imports solution
code into the grading process.
"""
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from autograder.wire import WireError, _LENGTH, decode_data, decode_json, encode_json, read_frame

STARTUP_TIMEOUT = 180.0
LOAD_TIMEOUT = 60.0

# glibc returns large freed blocks to the system (and faults fresh pages in again on the
# next allocation) or keeps them, depending on each process's allocation history: the same
# vectorized distance code measured 2.5 ms in one worker and 18 ms in the other, either way
# round. Fixed thresholds give every worker the same, reusing, allocator, so paired timings
# compare code, not heap histories. (Ignored outside glibc; AUTOGRADER_MALLOC=system leaves
# glibc's own thresholds, to measure the difference.)
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


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
    forbidden_how: dict = field(default_factory=dict)   # name -> how it was reached
    touched: dict = field(default_factory=dict)         # module -> names the scenario reached
    seconds: float = 0.0        # wall time seen by the grading side
    inner_seconds: float = None  # time reported by the worker itself (informational)
    scenario_seconds: float = None  # the scenario's own time, measured in the worker
    header: dict = field(default_factory=dict)          # the worker's whole answer header

    @property
    def ok(self):
        return self.status == "ok"


# Process groups and inheritable pipe ends (POSIX): without them (Windows) a worker is
# started and stopped on its own.
PROCESS_GROUPS = hasattr(os, "killpg") and hasattr(os, "setsid") and os.name == "posix"


class WorkerDied(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class WorkerRunner:
    """Runs requests in a separate worker process, with deadlines."""

    def __init__(self, name, extra_env=None, confinement=None, zygote=None):
        self.name = name
        self._extra_env = dict(extra_env or {})
        self.confinement = confinement
        self.zygote = zygote  # forks warm workers (autograder.zygote); None: start afresh
        self._process = None
        self._loads = []
        self._pending = []
        self._stderr = None
        self._lifeline = None
        self._scratch = None
        self.info = {}

    def start(self):
        """Launch the worker without waiting for it (torch imports in the background)."""
        if self._process is not None:
            return
        self._remove_scratch()
        prefix, cwd = [], None
        if self.confinement is not None:
            self._scratch = tempfile.mkdtemp(prefix="autograder-student-")
            env = self.confinement.environment(self._scratch, _kit_root())
            prefix, cwd = self.confinement.prefix, self._scratch
        else:
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [_kit_root(),
                                                              env.get("PYTHONPATH")]))
        env.update(self._extra_env)
        if os.environ.get("AUTOGRADER_MALLOC", "") != "system":
            for name, value in ALLOCATOR_ENV.items():
                env.setdefault(name, value)
        # Idle OpenMP threads otherwise spin for a while after each parallel op: with the
        # student and the reference timed in turns, one side's spinning threads would
        # steal the cores the other side is being timed on.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        read_end, self._lifeline = os.pipe()
        self._stderr = tempfile.TemporaryFile()
        self._process = None
        if self.zygote is not None and self.zygote.alive:
            self._process = self._fork(env, cwd, read_end)
        if self._process is not None:
            os.close(read_end)
            self._drain()
            return
        env.update(AUTOGRADER_PARENT=str(os.getpid()))
        # POSIX: the worker leads its own process group (so everything it starts is killed
        # with it) and holds the read end of a lifeline pipe (it exits when we are gone).
        # Elsewhere (Windows) neither exists: the worker exits when its stdin closes.
        options = {}
        if PROCESS_GROUPS:
            env["AUTOGRADER_LIFELINE"] = str(read_end)
            options = dict(pass_fds=(read_end,), start_new_session=True)
        try:
            self._process = _spawn(
                [*prefix, sys.executable, "-m", "autograder.worker"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self._stderr, env=env, cwd=cwd, **options)
        finally:
            os.close(read_end)
        self._drain()

    def _fork(self, env, cwd, lifeline):
        """A worker forked by the zygote, or None (the caller starts one afresh)."""
        from autograder.zygote import ZygoteError
        env = {k: v for k, v in env.items() if k != "AUTOGRADER_TMPFS"}
        namespaces = self.confinement is not None and bool(self.confinement.support.namespaces)
        try:
            return self.zygote.spawn(env, cwd or os.getcwd(), self._stderr.fileno(), lifeline,
                                     namespaces=namespaces)
        except ZygoteError:
            return None

    def _drain(self):
        self.info = {}
        # A thread drains the worker's answers as they come, so a worker never blocks on
        # a full pipe while we are still sending it requests (which would deadlock both).
        self._frames = queue.Queue()
        threading.Thread(target=_drain_frames, args=(self._process.stdout, self._frames),
                         daemon=True).start()

    def load(self, request):
        """Load an implementation; remembered so a restarted worker loads it again."""
        return self.collect(self.submit_load(request))

    def submit_load(self, request, timeout=LOAD_TIMEOUT):
        ticket = self.submit(request, timeout)
        self._loads.append(request)  # after sending: a restart replays it once
        return ticket

    def run(self, request, timeout):
        """Send ``request`` and wait for its outcome (at most ``timeout`` seconds)."""
        return self.collect(self.submit(request, timeout))

    def discard(self, handle):
        """Free a timed callable; a worker that is gone has nothing left to free."""
        if self._process is not None:
            self.run({"op": "speed_drop", "handle": handle}, LOAD_TIMEOUT)

    def submit(self, request, timeout):
        """Send ``request`` without waiting; ``collect`` the returned ticket later.

        Answers come back in the order requests were sent, so a runner can have
        several requests in flight while the other side works too.
        """
        ticket = _Ticket(request, timeout)
        try:
            self._ensure_ready()
            ticket.started = time.perf_counter()
            self._send(request)
            self._pending.append(ticket)
        except WorkerDied as died:
            self._kill()
            ticket.outcome = Outcome(died.status, message=died.message)
        return ticket

    def collect(self, ticket):
        """Wait for the outcome of a submitted request."""
        while ticket.outcome is None:
            oldest = self._pending.pop(0)
            oldest.outcome = self._receive_outcome(oldest)
        return ticket.outcome

    def _receive_outcome(self, ticket):
        try:
            header = decode_json(self._receive(ticket.started + ticket.timeout))
            if not isinstance(header, dict):
                raise WireError("an answer header that is not a JSON object")
            if header.get("nonce") != ticket.request.get("nonce"):
                raise WireError("an answer that does not belong to this request (something "
                                "else wrote to the grader's channel)")
            data = None
            if header.get("has_payload"):
                data = decode_data(self._receive(time.perf_counter() + LOAD_TIMEOUT))
            seconds = time.perf_counter() - ticket.started
        except WorkerDied as died:
            stuck = self._stuck_report() if died.status == "timeout" else None
            self._fail_pending(died)
            return Outcome(died.status, message=died.message,
                           header={"stuck": stuck} if stuck else {})
        except WireError as error:
            self._fail_pending(WorkerDied("bad_output", f"the worker sent malformed data: {error}"))
            return Outcome("bad_output", message=f"the worker sent malformed data: {error}")
        return _outcome_from(header, data, seconds)

    def _fail_pending(self, died):
        """The worker is gone: every request still in flight shares its fate."""
        self._kill()
        for ticket in self._pending:
            ticket.outcome = Outcome("crash", message="the worker was restarted before this "
                                                      "request was answered")
        self._pending = []

    def close(self):
        if self._process is not None:
            try:
                self._send({"op": "exit"})
                self._process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired, WorkerDied):
                pass
        self._kill()
        self._remove_scratch()

    def abort(self):
        """Kill the worker now, without asking (an interrupted run)."""
        self._kill()
        self._remove_scratch()

    def _remove_scratch(self):
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _ensure_ready(self):
        if self._process is not None and self.info:
            return
        self.start()
        ready = decode_json(self._receive(time.perf_counter() + STARTUP_TIMEOUT))
        self.info = ready
        for request in self._loads:
            self._send(request)
            header = decode_json(self._receive(time.perf_counter() + LOAD_TIMEOUT))
            if header.get("nonce") != request.get("nonce"):
                raise WorkerDied("bad_output", "the worker's answer does not belong to the "
                                               "request")
            if header.get("has_payload"):
                self._receive(time.perf_counter() + LOAD_TIMEOUT)

    def _send(self, request):
        request["nonce"] = secrets.token_hex(8)
        payload = encode_json(request)
        try:
            self._process.stdin.write(_LENGTH.pack(len(payload)) + payload)
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerDied("crash", self._death_message()) from None

    def _receive(self, deadline):
        try:
            frame = self._frames.get(timeout=max(0.0, deadline - time.perf_counter()))
        except queue.Empty:
            raise WorkerDied("timeout", "") from None
        if isinstance(frame, Exception):
            raise WorkerDied("crash", self._death_message())
        return frame

    def _stuck_report(self):
        """Where a worker that ran out of time was (its watchdog's report on its stderr,
        ``autograder.worker.Watchdog``), or None when it wrote none."""
        from autograder.worker import STUCK_MARK
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - (1 << 16)))
            text = self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError, AttributeError):
            return None
        return parse_stuck_report(text, STUCK_MARK)

    def _death_message(self):
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the worker process stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = {"SIGKILL": " (out of memory?)", "SIGXCPU": " (it used up its CPU-time limit)",
                    "SIGSYS": " (it made a system call the sandbox forbids)"}.get(name, "")
            return f"the worker process was killed by {name}{hint}"
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        return f"the worker process exited with code {code}" + (f":\n{tail}" if tail else "")

    def _kill(self):
        process, self._process, self.info = self._process, None, {}
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        if process is None:
            return
        try:
            if PROCESS_GROUPS:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass


def _spawn(command, **options):
    """``subprocess.Popen`` from a thread that lives as long as this process.

    Linux kills a worker when the *thread* that started it ends (``PR_SET_PDEATHSIG``
    follows the thread), so a worker started from a short-lived thread of a pool would die
    with that thread. The main thread lives as long as the process; any other thread hands
    the start over to one long-lived spawner thread.
    """
    if threading.current_thread() is threading.main_thread():
        return subprocess.Popen(command, **options)
    reply = queue.Queue()
    _spawner().put((command, options, reply))
    kind, value = reply.get()
    if kind == "error":
        raise value
    return value


_SPAWN_REQUESTS = None
_SPAWN_LOCK = threading.Lock()


def _spawner():
    global _SPAWN_REQUESTS
    with _SPAWN_LOCK:
        if _SPAWN_REQUESTS is None:
            _SPAWN_REQUESTS = queue.Queue()
            threading.Thread(target=_serve_spawns, args=(_SPAWN_REQUESTS,),
                             name="autograder-spawner", daemon=True).start()
    return _SPAWN_REQUESTS


def _serve_spawns(requests):
    while True:
        command, options, reply = requests.get()
        try:
            reply.put(("process", subprocess.Popen(command, **options)))
        except BaseException as error:  # handed back to the caller's thread
            reply.put(("error", error))


def _drain_frames(stream, frames):
    """Reader thread: move every frame from ``stream`` to ``frames``; an exception ends it."""
    try:
        while True:
            frame = read_frame(stream)
            if frame is None:
                frames.put(EOFError("the worker closed its output"))
                return
            frames.put(frame)
    except (WireError, OSError, ValueError) as error:
        frames.put(error)


_FAULTHANDLER_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)')


def parse_stuck_report(text, mark):
    """The last watchdog report in ``text`` (a dict: ``stack`` innermost first, ``locals``,
    ``stdout``), else the frames of the last ``faulthandler`` dump as ``{"frames": [...]}``
    (absolute paths, each thread's innermost first), else None."""
    import json
    for line in reversed(text.splitlines()):
        if line.startswith(mark):
            try:
                report = json.loads(line[len(mark):])
            except ValueError:
                break
            return report if isinstance(report, dict) else None
    dump = text.rsplit("Timeout (", 1)   # faulthandler.dump_traceback_later's header
    if len(dump) == 2:
        frames = [m.groupdict() for m in map(_FAULTHANDLER_FRAME.match, dump[1].splitlines())
                  if m]
        if frames:
            return {"frames": [dict(f, line=int(f["line"])) for f in frames]}
    return None


class _Ticket:
    def __init__(self, request, timeout):
        self.request, self.timeout = request, timeout
        self.started = time.perf_counter()
        self.outcome = None


def _outcome_from(header, data, seconds):
    def field_of(name, kind, default):
        value = header.get(name, default)
        return value if isinstance(value, kind) else default

    return Outcome(
        status=str(header.get("status", "bad_output")), data=data,
        message=str(header.get("message", "")), traceback=str(header.get("traceback", "")),
        stdout=str(header.get("stdout", "")),
        forbidden_calls=[str(n) for n in field_of("forbidden_calls", list, [])],
        forbidden_how={str(k): str(v) for k, v in field_of("forbidden_how", dict, {}).items()},
        touched={str(k): [str(n) for n in v] for k, v in field_of("touched", dict, {}).items()
                 if isinstance(v, list)},
        seconds=seconds, inner_seconds=header.get("inner_seconds"),
        scenario_seconds=field_of("seconds", (int, float), None), header=header)


class InProcessRunner:
    """Runs requests in this process (debug mode: exceptions propagate for pdb)."""

    def __init__(self, name, reraise=True):
        from autograder.worker import Executor, PythonCapture
        capture = PythonCapture()
        capture.reraise = reraise
        self.name = name
        # Putting back global state here would undo pytest's own (its output capture,
        # warning filters and signal handlers), so this debug mode leaves it alone.
        self._executor = Executor(capture, restore_state=False)
        self._handlers = {"load": self._executor.load, "run": self._executor.run,
                          "speed_setup": self._executor.speed_setup,
                          "speed_run": self._executor.speed_run,
                          "speed_drop": self._executor.speed_drop}
        self.info = {"in_process": True}

    def start(self):
        pass

    def submit(self, request, timeout):
        ticket = _Ticket(request, timeout)
        header, payload = self._handlers[request["op"]](request)
        data = None if payload is None else decode_data(payload)
        ticket.outcome = _outcome_from(header, data, time.perf_counter() - ticket.started)
        return ticket

    def submit_load(self, request, timeout=LOAD_TIMEOUT):
        return self.submit(request, timeout)

    def record(self, request):
        """Run a scenario again, recording the calls it makes to the solution's functions
        (``autograder.repro``); their list."""
        return self._executor.record(request)

    def collect(self, ticket):
        return ticket.outcome

    def run(self, request, timeout):
        return self.collect(self.submit(request, timeout))

    def discard(self, handle):
        self._executor.speed_drop({"handle": handle})

    def load(self, request):
        return self.run(request, LOAD_TIMEOUT)

    def close(self):
        self._executor.close()

    def abort(self):
        self.close()


def _kit_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
