"""The worker: the only process that imports and runs a solution's code.

Run as ``python -m autograder.worker``. It reads JSON requests as frames on
stdin and answers on the original stdout; everything the solution prints (from
Python or C) goes to a capture file instead, and is returned with the answer of
the request that printed it. Results go back as data-only frames (see
``autograder.wire``). The ``Executor`` class holds the logic, so the debug
in-process runner can use it without a process around it.

Requests: ``load`` (an implementation), ``run`` (a scenario, returning data),
``speed_setup`` / ``speed_run`` / ``speed_drop`` (a timed callable), ``exit``.
A scenarios module may define ``warm_up()`` (run once when it is imported) and
``cleanup()`` (run when the worker exits, e.g. to remove files it wrote).

A ``load`` request may ask the worker to confine itself (``autograder.sandbox``): the
scenarios are imported first, then the sandbox closes (landlock, the switch to an
unprivileged user when the grader is root and asks for one, seccomp), then the student's
code is imported. Before every scenario the worker puts torch's global state and namespaces back
as they were before any solution code ran, so nothing a module does on import (or a
previous check did) changes the conditions of a check; it reports what it had to restore.
"""
import contextlib
import errno
import importlib.util
import io
import os
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
from pathlib import Path

from autograder.i18n import _, tr

MAX_OUTPUT = 20_000


class StudentLoadError(Exception):
    """A solution file is missing or failed to import; the message says why."""


class Implementation:
    """The modules of one solution: a student's tree, the reference, or a mistake variant.

    Scenarios reach a module as an attribute: ``impl.optimizers.Adam``. A module
    that failed to load raises ``StudentLoadError`` when it is reached, so only
    the checks that use it fail.
    """

    def __init__(self, name, folder, files, patched_sources=None):
        self._name = name
        self._folder = Path(folder)
        self._modules, self._errors = {}, {}
        patched_sources = patched_sources or {}
        for file in files:
            self._load(file, patched_sources.get(file))

    @property
    def folder(self):
        return self._folder

    def __getattr__(self, module_name):
        if module_name.startswith("_"):
            raise AttributeError(module_name)
        if module_name in self._errors:
            raise StudentLoadError(self._errors[module_name])
        if module_name not in self._modules:
            raise StudentLoadError(f"no module {module_name!r} in {self._folder}")
        return self._modules[module_name]

    def _load(self, file, source):
        stem, path = Path(file).stem, self._folder / file
        if source is None and not path.is_file():
            self._errors[stem] = tr("file {path} not found: create it (start from the "
                                    "template)", path=path)
            return
        module_name = f"_solution_{self._name}_{stem}".replace("-", "_").replace(":", "_")
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            if source is None:
                spec.loader.exec_module(module)
            else:
                exec(compile(source, str(path), "exec"), module.__dict__)
        except BaseException as error:  # a solution may raise anything while importing
            sys.modules.pop(module_name, None)
            hint = f"\n({sandbox_hint()})" if SANDBOXED and isinstance(error, PermissionError) \
                else ""
            self._errors[stem] = (tr("{file} could not be imported:", file=path.name) + "\n"
                                  + format_student_traceback(error, [self._folder]) + hint)
            return
        try:
            module.__class__ = WatchedModule
        except TypeError:  # the module replaced its own class: it is not watched, say so
            self._errors[stem] = tr("{file} replaced its own module class, which the grader "
                                    "does not allow", file=path.name)
            return
        WATCHER.names[id(module)] = stem
        self._modules[stem] = module


class Watcher:
    """Records which names of a solution's modules a scenario reaches, and which of them
    are forbidden objects handed over as they are (``Adam = torch.optim.Adam``)."""

    def __init__(self):
        self.names = {}  # id(module) -> its stem
        self.tripwire = None
        self.touched, self.exports = {}, {}

    def start(self, tripwire):
        self.touched, self.exports = {}, {}
        self.tripwire = tripwire

    def stop(self):
        self.tripwire = None
        return {stem: sorted(names) for stem, names in self.touched.items()}, self.exports

    def reached(self, module, name, value):
        stem = self.names.get(id(module))
        if stem is None:
            return
        self.touched.setdefault(stem, set()).add(name)
        forbidden = self.tripwire.identify(value)
        if forbidden and forbidden not in self.exports:
            self.exports[forbidden] = f"{stem}.{name}"


WATCHER = Watcher()


class WatchedModule(types.ModuleType):
    """The class of a loaded solution module: attribute reads from outside it (the
    scenario's ``impl.optimizers.Adam``) are reported to ``WATCHER`` while a check runs.
    The module's own code reads its globals directly and is not slowed down."""

    def __getattribute__(self, name):
        value = types.ModuleType.__getattribute__(self, name)
        if WATCHER.tripwire is not None and not name.startswith("__"):
            WATCHER.reached(self, name, value)
        return value


class Executor:
    """Loads implementations and runs scenarios on them; returns (header, payload)."""

    def __init__(self, capture=None, restore_state=True):
        self._capture = capture or PythonCapture()
        self._implementations = {}
        self._scenarios = {}
        self._timed = {}
        self._tripwires = {}
        self._baseline = None
        self._restore_state = restore_state
        self._confined = None

    def load(self, request):
        """Load an implementation under ``request['name']`` (replacing any older one)."""
        from autograder.state import GlobalState
        from autograder.tripwire import Tripwire
        assignment = request["assignment"]
        if assignment not in self._tripwires:
            self._tripwires[assignment] = Tripwire(request.get("forbidden", []))
        if assignment not in self._scenarios:
            self._scenarios[assignment] = _import_scenarios(assignment, request["scenarios"])
        header = {"status": "ok"}
        if request.get("confine") and self._confined is None:
            self._confined = _confine(request["confine"])
        if self._confined is not None:
            header["sandbox"], header["sandbox_problems"] = self._confined
        folder = Path(request["root"]) / assignment
        if request.get("add_to_path") and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        if self._baseline is None and self._restore_state:
            self._baseline = GlobalState(owners=self._tripwires[assignment].owners())
        with self._capture as output:
            impl = Implementation(request["name"], folder, request["files"],
                                  request.get("patched_sources"))
        self._implementations[request["name"]] = (impl, assignment)
        if self._baseline is not None:
            header["import_changes"] = self._baseline.restore()
        tripwire = self._tripwires[assignment]
        removed = tripwire.tampered()
        if removed:
            tripwire.reinstall()
            header["import_changes"] = header.get("import_changes", []) + [
                f"the grader's check on {name} was removed" for name in removed]
        header.update(stdout=output.text, unresolved_forbidden=tripwire.unresolved)
        return header, None

    def run(self, request):
        """Run a scenario and return its result as data."""
        outcome = self._call(request, lambda fn, impl, kwargs: fn(impl, **kwargs))
        header, result = outcome
        if header["status"] != "ok":
            return header, None
        from autograder.wire import encode_data
        try:
            return header, encode_data(result)
        except Exception as error:
            header.update(status="bad_output", message=f"the result could not be sent back: "
                                                        f"{type(error).__name__}: {error}")
            return header, None

    def record(self, request):
        """Run a scenario with the solution's module-level functions recorded (the debug
        mode's repro script); the recorded calls, whatever the scenario's outcome."""
        from autograder.repro import CallRecorder
        impl, _ = self._implementations[request["impl"]]
        recorder = CallRecorder(impl._modules)
        with recorder:
            try:
                self._call(request, lambda fn, impl, kwargs: fn(impl, **kwargs))
            except Exception:  # the outcome is known already; only the calls are wanted
                pass
        return recorder.calls

    def speed_setup(self, request):
        """Build a timed callable with the scenario; keep it under ``request['handle']``."""
        header, timed = self._call(request, lambda fn, impl, kwargs: fn(impl, **kwargs))
        if header["status"] == "ok":
            if not callable(timed):
                header.update(status="grader_error",
                              message="the speed scenario did not return a callable")
            else:
                self._timed[request["handle"]] = (timed, request)
        return header, None

    def speed_run(self, request):
        """Call the timed callable ``iterations`` times, then wait for the device."""
        timed, setup = self._timed[request["handle"]]
        iterations = int(request["iterations"])

        def loop(fn, impl, kwargs):
            import torch
            if setup["params"].get("device") != "cuda":
                started = time.perf_counter()
                for _ in range(iterations):
                    timed()
                return time.perf_counter() - started
            # On the GPU, bracket the block with CUDA events and wait for the last one,
            # so the answer (and the grader's clock) includes all the queued kernels.
            torch.cuda.synchronize()
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            for _ in range(iterations):
                timed()
            end.record()
            end.synchronize()
            return begin.elapsed_time(end) / 1000.0

        header, inner = self._call(setup, loop)
        header["inner_seconds"] = inner
        return header, None

    def close(self):
        """Let each assignment's scenarios remove what they wrote (their ``cleanup()``)."""
        for module in self._scenarios.values():
            if callable(getattr(module, "cleanup", None)):
                try:
                    module.cleanup()
                except Exception:  # cleaning up must never turn into a failure
                    pass

    def speed_drop(self, request):
        self._timed.pop(request["handle"], None)
        return {"status": "ok"}, None

    def _call(self, request, body):
        impl, assignment = self._implementations[request["impl"]]
        watchdog = Watchdog(request.get("watchdog"), impl.folder,
                            getattr(self._scenarios[assignment], "__file__", ""), self._capture)
        with watchdog:
            return self._call_watched(request, body, impl, assignment)

    def _call_watched(self, request, body, impl, assignment):
        tripwire = self._tripwires[assignment]
        fn = getattr(self._scenarios[assignment], request["scenario"])
        kwargs = dict(request["params"], seed=request["seed"])
        header = {"status": "ok"}
        value = None
        if self._baseline is not None:
            self._baseline.restore()
        tripwire.reinstall()
        WATCHER.start(tripwire)
        scenarios = self._scenarios[assignment]
        tripwire.watch([impl.folder], [getattr(scenarios, "__file__", "")])
        started = time.perf_counter()
        with self._capture as output:
            try:
                value = body(fn, impl, kwargs)
            except BaseException as error:  # the student's code may raise anything
                if isinstance(error, KeyboardInterrupt) and self._capture.reraise:
                    raise
                header.update(_classify(error, impl.folder, SANDBOXED,
                                        getattr(scenarios, "__file__", "")))
                if self._capture.reraise:
                    raise
            finally:
                calls = tripwire.collect()
                touched, exports = WATCHER.stop()
                removed = tripwire.tampered()
                header["forbidden_calls"] = list(dict.fromkeys(calls + list(exports) + removed))
                header["forbidden_how"] = {
                    **{name: f"your {where} is {name} itself" for name, where in exports.items()},
                    **{name: f"your code removed the grader's check on {name}" for name in removed}}
                header["touched"] = touched
        header["seconds"] = time.perf_counter() - started
        header["stdout"] = output.text
        left = _stop_child_processes()
        if left:
            header["left_processes"] = left
        return header, value


PRELOADED = {}  # str(scenarios path) -> module, imported by a zygote before it forked us

STUCK_MARK = "@@autograder-stuck@@"
REPORT_FD = None  # the worker's own stderr (the grader reads it after a timeout)
FAULTHANDLER_DELAY = 0.5  # seconds after the watchdog: a dump that needs no Python thread


class Watchdog:
    """Where the solution's code is when a run goes on past ``after`` seconds: a thread
    writes the innermost frame of the solution's files (file, line, function, code, a few
    local variables) and what the code printed so far, as one marked JSON line on the
    worker's own stderr, which the grader reads before it stops the worker. Should the
    main thread hold the interpreter in C code, ``faulthandler`` dumps the bare stack to the
    same place a moment later."""

    def __init__(self, after, student_folder, scenarios_file, capture):
        self.after = after if isinstance(after, (int, float)) and after > 0 else None
        self.root = Path(student_folder).resolve().parent   # the whole solution tree
        self.scenarios = str(Path(scenarios_file).resolve()) if scenarios_file else ""
        self.capture = capture
        self._timer = None

    def __enter__(self):
        if self.after is None or REPORT_FD is None:
            return self
        self._thread = threading.get_ident()
        self._timer = threading.Timer(self.after, self._report)
        self._timer.daemon = True
        self._timer.start()
        import faulthandler
        faulthandler.dump_traceback_later(self.after + FAULTHANDLER_DELAY, file=REPORT_FD)
        return self

    def __exit__(self, *exc):
        if self._timer is not None:
            self._timer.cancel()
            import faulthandler
            faulthandler.cancel_dump_traceback_later()
        return False

    def _report(self):
        import json
        frame = sys._current_frames().get(self._thread)
        report = {"stack": []}
        while frame is not None:
            path = str(Path(frame.f_code.co_filename).resolve())
            if path.startswith(str(self.root)) and path != self.scenarios:
                import linecache
                report["stack"].append({"file": os.path.relpath(path, self.root),
                                        "line": frame.f_lineno, "function": frame.f_code.co_name,
                                        "code": linecache.getline(path, frame.f_lineno).strip()})
                if len(report["stack"]) == 1:
                    report["locals"] = _brief_locals(frame.f_locals,
                                                     report["stack"][0]["code"])
            frame = frame.f_back
        report["stdout"] = getattr(self.capture, "peek", lambda: "")()
        try:
            os.write(REPORT_FD, f"\n{STUCK_MARK} {json.dumps(report)}\n".encode())
        except OSError:
            pass


def _brief_locals(variables, line="", most=8):
    """A few of a frame's variables as short strings: numbers, strings, shapes of tensors;
    other objects by their type (their own repr might run code that hangs as well). The
    names on the line it is running come first, then the plain values."""
    named = set(re.findall(r"[A-Za-z_]\w*", line))
    candidates = [(name, value) for name, value in list(variables.items())
                  if not name.startswith("__")
                  and not isinstance(value, (types.ModuleType, types.FunctionType, type))]
    candidates.sort(key=lambda item: (item[0] not in named,
                                      _brief(item[1]).startswith("<")))
    return {name: _brief(value) for name, value in candidates[:most]}


def _brief(value):
    kind = type(value)
    if value is None or kind in (bool, int, float, complex):
        text = repr(value)
    elif kind is str:
        text = repr(value)
    elif kind in (tuple, list) and len(value) <= 8 and all(
            type(v) in (bool, int, float) for v in value):
        text = repr(value)
    elif kind in (list, tuple, dict, set):
        text = f"<{kind.__name__} of {len(value)}>"
    elif kind.__module__ == "torch" and kind.__name__ == "Size":
        text = repr(tuple(value))
    elif getattr(kind, "__module__", "").startswith("torch") and hasattr(value, "shape") \
            and hasattr(value, "dtype"):
        dtype = str(value.dtype).replace("torch.", "")
        text = f"tensor of shape {tuple(value.shape)}, {dtype}"
        if value.numel() == 1 and value.device.type == "cpu":
            text += f", value {value.item():.6g}"
    else:
        text = f"<{kind.__name__} object>"
    return text if len(text) <= 80 else text[:77] + "..."


def _import_scenarios(assignment, path):
    """Import an assignment's scenarios; run its optional ``warm_up()`` (slow first-use imports)."""
    if str(path) in PRELOADED:
        return PRELOADED[str(path)]
    spec = importlib.util.spec_from_file_location(f"_scenarios_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if callable(getattr(module, "warm_up", None)):
        module.warm_up()
    return module


SANDBOXED = False  # set once the worker has confined itself
LIMITS = None      # the worker's resource limits (autograder.sandbox.Limits)

def sandbox_hint():
    return _("the grader runs your code in a sandbox: it may not start processes, use the "
             "network, signal other processes, or read files outside Python, its packages and "
             "your solution")


def _classify(error, student_folder, sandboxed=False, scenarios_file=""):
    text = format_student_traceback(error, [student_folder], [scenarios_file])
    if isinstance(error, MemoryError) or (isinstance(error, RuntimeError)
                                          and "can't allocate memory" in str(error)):
        limit = getattr(LIMITS, "address_space", None)
        message = tr("{error}: your code ran out of the memory the grader allows it ({size} "
                     "GB of address space)", error=type(error).__name__,
                     size=f"{limit / (1 << 30):g}") if limit else \
            tr("{error}: your code ran out of the memory the grader allows it",
               error=type(error).__name__)
        return {"status": "error", "message": message, "traceback": text}
    if sandboxed and isinstance(error, PermissionError):
        return {"status": "error", "message": f"PermissionError: {error} ({sandbox_hint()})",
                "traceback": text}
    if isinstance(error, StudentLoadError):
        return {"status": "load_error", "message": str(error), "traceback": ""}
    if isinstance(error, NotImplementedError):
        return {"status": "not_implemented", "message": str(error) or "NotImplementedError",
                "traceback": text}
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        size = (getattr(LIMITS, "file_size", None) or 256 << 20) >> 20
        return {"status": "error", "message": tr(
            "OSError: your code wrote more than {size} MB to one file, or printed that much "
            "(the grader's limit): is there a print in an endless loop?", size=size),
                "traceback": text}
    if isinstance(error, SystemExit):
        return {"status": "error", "message": _(
            "SystemExit: your code called sys.exit() or exit(), which would stop the whole "
            "program: return a value or raise an exception"), "traceback": text}
    if isinstance(error, KeyboardInterrupt):
        return {"status": "error", "message": "KeyboardInterrupt",
                "traceback": text}
    reading = _check_line(error, student_folder, scenarios_file)
    if reading is not None:
        from autograder.feedback import CHECK_RAISED
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return {"status": "error",
                "message": tr("{error}, raised by the check's own code, not inside your "
                              "functions: it could not use what your code returned or left "
                              "behind, or your function does not take the arguments its "
                              "docstring gives", error=f"{type(error).__name__}"
                              + (f": {first}" if first else "")),
                "traceback": f"{CHECK_RAISED} {reading}\n"
                             + "".join(traceback.format_exception_only(type(error), error))}
    return {"status": "error", "message": f"{type(error).__name__}: {error}", "traceback": text}


def _check_line(error, student_folder, scenarios_file):
    """The line of the scenario that raised ``error`` when no frame of the solution's code
    (this assignment's files or the earlier ones a scenario loads) is in its traceback: their
    code had returned, or was never entered. Else None."""
    if not scenarios_file:
        return None
    student = str(Path(student_folder).resolve().parent)   # the whole solution tree
    scenarios = str(Path(scenarios_file).resolve())
    frames = traceback.extract_tb(error.__traceback__)
    paths = [str(Path(f.filename).resolve()) for f in frames]
    if any(p.startswith(student) and p != scenarios for p in paths):
        return None
    own = [f for f, p in zip(frames, paths) if p == scenarios]
    if not own:
        return None
    return (own[-1].line or "").strip() or f"line {own[-1].lineno} of {Path(scenarios).name}"


def format_student_traceback(error, student_folders, trusted_files=()):
    """Format ``error``'s traceback keeping only frames in the student's files (not the
    ``trusted_files`` that may sit beside them, such as the scenarios).

    When no frame is the student's (a wrong signature fails at the call), the
    innermost frame is kept so the message still says where it happened.
    """
    prefixes = tuple(str(Path(f).resolve()) for f in student_folders)
    trusted = {str(Path(f).resolve()) for f in trusted_files if f}
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if str(Path(f.filename).resolve()).startswith(prefixes)
            and str(Path(f.filename).resolve()) not in trusted]
    # A SyntaxError names its own file and line (below); the frame that compiled it is not
    # the student's.
    shown = mine or ([] if isinstance(error, SyntaxError) else frames[-1:])
    lines = [f'  File "{_display_path(f.filename)}", line {f.lineno}, in {f.name}\n'
             + (f"    {f.line}\n" if f.line else "") for f in shown]
    detail = "".join(traceback.format_exception_only(type(error), error))
    return "".join(lines) + detail


def _display_path(filename):
    try:
        return os.path.relpath(filename)
    except ValueError:
        return filename


class PythonCapture:
    """Capture Python-level prints (the in-process runner's capture)."""

    reraise = False

    def __enter__(self):
        self.text = ""
        self._buffer = io.StringIO()
        self._redirects = contextlib.ExitStack()
        self._redirects.enter_context(contextlib.redirect_stdout(self._buffer))
        self._redirects.enter_context(contextlib.redirect_stderr(self._buffer))
        return self

    def __exit__(self, *exc):
        self._redirects.close()
        self.text = _tail(self._buffer.getvalue())
        return False


class FileDescriptorCapture:
    """Capture everything written to fds 1 and 2, from Python or from C."""

    reraise = False

    def __init__(self):
        handle, self._path = tempfile.mkstemp(prefix="autograder-output-")
        os.close(handle)
        self._fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_TRUNC)
        os.dup2(self._fd, 1)
        os.dup2(self._fd, 2)
        os.unlink(self._path)

    def __enter__(self):
        self.text = ""
        sys.stdout.flush()
        sys.stderr.flush()
        os.ftruncate(self._fd, 0)
        return self

    def peek(self, most=2000):
        """The end of what was written so far (from another thread, while a run goes on)."""
        size = os.fstat(self._fd).st_size
        data = os.pread(self._fd, most, max(0, size - most)) if hasattr(os, "pread") else b""
        return _tail(data.decode("utf-8", "replace"))

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        size = os.fstat(self._fd).st_size
        os.lseek(self._fd, max(0, size - MAX_OUTPUT * 4), os.SEEK_SET)
        self.text = _tail(os.read(self._fd, MAX_OUTPUT * 4).decode("utf-8", "replace"))
        return False


# Log lines the profiler's C++ library (kineto) writes to stderr when a scenario profiles
# the student's code, e.g. "USDT:2026-01-01 10:00:00 123:123 SyncActivityProfilerHandler.cpp:39]
# profiler_start". They are the kit's, not the student's output.
_KIT_NOISE = re.compile(r"^(USDT|STAGE|ERROR|WARNING|INFO):\d{4}-\d\d-\d\d [\d:.]+ \d+:\d+ "
                        r"\w+\.cpp:\d+\].*\n?", re.MULTILINE)


def _tail(text):
    text = _KIT_NOISE.sub("", text)
    if len(text) <= MAX_OUTPUT:
        return text
    return "[... earlier output cut ...]\n" + text[-MAX_OUTPUT:]


def serve(requests, answers):
    """Answer framed requests until ``exit`` or the end of the stream."""
    from autograder.wire import decode_json, encode_json, read_frame, write_frame
    global REPORT_FD
    REPORT_FD = os.dup(2)   # before the capture takes fd 2 over: the watchdog's channel
    executor = Executor(FileDescriptorCapture())
    handlers = {"load": executor.load, "run": executor.run, "speed_setup": executor.speed_setup,
                "speed_run": executor.speed_run, "speed_drop": executor.speed_drop}
    import torch
    write_frame(answers, encode_json({"status": "ready", "pid": os.getpid(),
                                      "torch": torch.__version__,
                                      "cuda": torch.cuda.is_available()}))
    while True:
        frame = read_frame(requests)
        request = None if frame is None else decode_json(frame)
        if request is None or request.get("op") == "exit":
            executor.close()
            return
        try:
            header, payload = handlers[request["op"]](request)
        except Exception:  # a fault of the kit, not of the student: say so
            header, payload = {"status": "grader_error", "message": traceback.format_exc()}, None
        header["nonce"] = request.get("nonce")
        header["has_payload"] = payload is not None
        write_frame(answers, encode_json(header))
        if payload is not None:
            write_frame(answers, payload)


def _confine(policy):
    """Close the sandbox around this process; return (layers applied, problems)."""
    from autograder import sandbox
    files = sandbox.FilePolicy(read=policy.get("read", []),
                               read_files=policy.get("read_files", []),
                               write=[os.getcwd(), *policy.get("write", [])],
                               devices=policy.get("devices", []))
    user = policy.get("user")
    global SANDBOXED
    applied, problems = sandbox.confine(files, int(policy.get("landlock", 0)),
                                        bool(policy.get("seccomp")),
                                        sandbox.SandboxUser(*user) if user else None)
    SANDBOXED = True
    return STARTUP_LAYERS + applied, problems


def _stop_child_processes():
    """Kill processes the solution started and left running (where it could start any);
    return how many there were."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 0
    children = set()
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as handle:
                children.update(int(pid) for pid in handle.read().split())
        except (OSError, ValueError):
            continue
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (OSError, ChildProcessError):
            pass
    return len(children)


def _watch_lifeline(fd):
    """Exit as soon as the grader's end of the lifeline pipe closes (the grader is gone)."""
    def wait():
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            pass
        os._exit(70)

    threading.Thread(target=wait, name="autograder-lifeline", daemon=True).start()


STARTUP_LAYERS = []  # the confinement this worker entered before importing anything


def _scratch_owner(text):
    """The (uid, gid) the student's code will run as (``"uid:gid"``), with the scratch
    folder (the working directory) already handed over to it; None when it keeps ours."""
    if not text:
        return None
    uid, _, gid = text.partition(":")
    owner = (int(uid), int(gid))
    try:
        os.chown(os.getcwd(), *owner)
    except OSError:  # the user switch reports what fails; a scratch we keep is still ours
        return None
    return owner


def start_worker(parent=0, lifeline=None, namespaces=False, in_namespaces=False):
    """Everything a worker does before it serves: die with the grader, enter its
    namespaces (or note that ``unshare`` put it in them), mount its scratch folder, set its
    limits (from the environment), then serve requests on fds 0 and 1 until told to exit."""
    from autograder import sandbox
    global LIMITS
    sandbox.die_with_parent(parent)
    if lifeline is not None:
        _watch_lifeline(lifeline)
    limits = LIMITS = sandbox.Limits.from_env(os.environ.pop("AUTOGRADER_LIMITS", ""))
    owner = _scratch_owner(os.environ.pop("AUTOGRADER_SCRATCH_OWNER", ""))
    if namespaces:
        in_namespaces = sandbox.enter_namespaces()
    if in_namespaces and limits.scratch and sandbox.mount_scratch(os.getcwd(), limits.scratch,
                                                                  owner):
        STARTUP_LAYERS.append("namespaces (no network, tmpfs scratch)")
    # Limits are set before any solution code runs, soft = hard, so it cannot raise them.
    # Past the file-size limit, a print without end fails with EFBIG (Python ignores
    # SIGXFSZ) instead of filling the disk through the capture file.
    if sandbox.apply_limits(limits):
        STARTUP_LAYERS.insert(0, "limits")
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    serve(requests, answers)
    answers.flush()
    # Skip interpreter teardown: a solution's threads or atexit hooks must not hang us.
    os._exit(0)


def main():
    if sys.argv[1:] == ["--zygote"]:
        from autograder.zygote import zygote_main
        return zygote_main()
    parent = int(os.environ.pop("AUTOGRADER_PARENT", "0") or 0)
    lifeline = os.environ.pop("AUTOGRADER_LIFELINE", "")
    in_namespaces = bool(os.environ.pop("AUTOGRADER_TMPFS", ""))  # started by unshare
    start_worker(parent, int(lifeline) if lifeline else None, in_namespaces=in_namespaces)


if __name__ == "__main__":
    main()
