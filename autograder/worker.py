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
"""
import contextlib
import errno
import importlib.util
import io
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

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
            self._errors[stem] = f"file {path} not found: create it (start from the template)"
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
            self._errors[stem] = (f"{path.name} could not be imported:\n"
                                  + format_student_traceback(error, [self._folder]))
            return
        self._modules[stem] = module


class Executor:
    """Loads implementations and runs scenarios on them; returns (header, payload)."""

    def __init__(self, capture=None):
        self._capture = capture or PythonCapture()
        self._implementations = {}
        self._scenarios = {}
        self._timed = {}
        self._tripwires = {}

    def load(self, request):
        """Load an implementation under ``request['name']`` (replacing any older one)."""
        from autograder.tripwire import Tripwire
        assignment = request["assignment"]
        if assignment not in self._tripwires:
            self._tripwires[assignment] = Tripwire(request.get("forbidden", []))
        folder = Path(request["root"]) / assignment
        if request.get("add_to_path") and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        with self._capture as output:
            impl = Implementation(request["name"], folder, request["files"],
                                  request.get("patched_sources"))
        self._implementations[request["name"]] = (impl, assignment)
        if assignment not in self._scenarios:
            self._scenarios[assignment] = _import_scenarios(assignment, request["scenarios"])
        unresolved = self._tripwires[assignment].unresolved
        return {"status": "ok", "stdout": output.text, "unresolved_forbidden": unresolved}, None

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
        tripwire = self._tripwires[assignment]
        fn = getattr(self._scenarios[assignment], request["scenario"])
        kwargs = dict(request["params"], seed=request["seed"])
        header = {"status": "ok"}
        value = None
        tripwire.watch([impl.folder])
        started = time.perf_counter()
        with self._capture as output:
            try:
                value = body(fn, impl, kwargs)
            except BaseException as error:  # the student's code may raise anything
                if isinstance(error, KeyboardInterrupt) and self._capture.reraise:
                    raise
                header.update(_classify(error, impl.folder))
                if self._capture.reraise:
                    raise
            finally:
                header["forbidden_calls"] = tripwire.collect()
        header["seconds"] = time.perf_counter() - started
        header["stdout"] = output.text
        return header, value


def _import_scenarios(assignment, path):
    """Import an assignment's scenarios; run its optional ``warm_up()`` (slow first-use imports)."""
    spec = importlib.util.spec_from_file_location(f"_scenarios_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if callable(getattr(module, "warm_up", None)):
        module.warm_up()
    return module


def _classify(error, student_folder):
    text = format_student_traceback(error, [student_folder])
    if isinstance(error, StudentLoadError):
        return {"status": "load_error", "message": str(error), "traceback": ""}
    if isinstance(error, NotImplementedError):
        return {"status": "not_implemented", "message": str(error) or "NotImplementedError",
                "traceback": text}
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return {"status": "error", "message": "OSError: your code printed (or wrote) more than 256 MB: "
                "is there a print in an endless loop?", "traceback": text}
    if isinstance(error, SystemExit):
        return {"status": "error", "message": "the code called sys.exit() or exit()",
                "traceback": text}
    return {"status": "error", "message": f"{type(error).__name__}: {error}", "traceback": text}


def format_student_traceback(error, student_folders):
    """Format ``error``'s traceback keeping only frames in the student's files.

    When no frame is the student's (a wrong signature fails at the call), the
    innermost frame is kept so the message still says where it happened.
    """
    prefixes = tuple(str(Path(f).resolve()) for f in student_folders)
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if str(Path(f.filename).resolve()).startswith(prefixes)]
    shown = mine or frames[-1:]
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
        header["has_payload"] = payload is not None
        write_frame(answers, encode_json(header))
        if payload is not None:
            write_frame(answers, payload)


MAX_FILE_BYTES = 256 << 20


def main():
    # A solution that prints without end would fill the disk through the capture file;
    # past this size the kernel stops the worker with SIGXFSZ instead.
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    serve(requests, answers)
    answers.flush()
    # Skip interpreter teardown: a solution's threads or atexit hooks must not hang us.
    os._exit(0)


if __name__ == "__main__":
    main()
