"""Torch's process-wide state, saved before any solution code runs and put back before
every check, so that what a module does on import, or what one check leaves behind, never
changes the conditions of another check.

Two kinds of state are covered:

* settings: the default dtype and device, grad and anomaly mode, deterministic
  algorithms, cuDNN and TF32 flags, matmul precision, the number of threads, the random
  number generators of torch, NumPy and Python, warning filters, ``sys.stdout`` and
  ``sys.stderr``, ``sys.path``, the working directory, the environment, and timers and
  signal handlers;
* namespaces: the functions and classes of torch's public modules (and of the modules
  that own a forbidden name, and Python's builtins). A solution that replaces
  ``torch.allclose`` on import finds it back in place before its first check.

``restore()`` returns a line for each thing it had to put back, so the grader can tell
the student what their code changed.
"""
import os
import random
import signal
import sys
import warnings

_NAMESPACES = ("torch", "torch.Tensor", "torch.nn", "torch.nn.functional", "torch.nn.init",
               "torch.nn.Module", "torch.optim", "torch.optim.Optimizer", "torch.testing",
               "torch.linalg", "torch.special", "torch.fft", "torch.autograd",
               "torch.autograd.Function", "torch.random", "torch.utils.data",
               "torch.utils.data.Dataset", "builtins")
_SIGNALS = [getattr(signal, name) for name in ("SIGALRM", "SIGVTALRM", "SIGPROF", "SIGUSR1",
                                               "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP",
                                               "SIGCHLD", "SIGPIPE", "SIGXFSZ", "SIGXCPU")
            if hasattr(signal, name)]


def _resolve(dotted):
    import importlib
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            obj = getattr(obj, part, None)
        return obj
    return None


class GlobalState:
    """A snapshot of process-wide state; ``restore()`` puts it back."""

    def __init__(self, owners=()):
        import numpy
        import torch
        self._torch, self._numpy = torch, numpy
        self._namespaces = {}
        for name in dict.fromkeys([*_NAMESPACES, *owners]):
            obj = _resolve(name) if isinstance(name, str) else name
            if obj is None:
                continue
            label = name if isinstance(name, str) else getattr(obj, "__name__", repr(obj))
            entries = {key: value for key, value in vars(obj).items()
                       if callable(value) or isinstance(value, type(os))}
            self._namespaces[label] = (obj, entries)
        self._settings = self._read_settings()
        self._rng = (torch.random.get_rng_state(), numpy.random.get_state(), random.getstate())
        self._warnings = list(warnings.filters)
        self._streams = (sys.stdout, sys.stderr)
        self._path = list(sys.path)
        self._cwd = os.getcwd()
        self._environ = dict(os.environ)
        self._handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
        self._recursion = sys.getrecursionlimit()

    def _read_settings(self):
        torch = self._torch
        backends = torch.backends
        settings = {
            "the default dtype": (torch.get_default_dtype, torch.set_default_dtype),
            "grad mode": (torch.is_grad_enabled, torch.set_grad_enabled),
            "anomaly detection": (torch.is_anomaly_enabled, torch.set_anomaly_enabled),
            "deterministic algorithms": (
                lambda: (torch.are_deterministic_algorithms_enabled(),
                         torch.is_deterministic_algorithms_warn_only_enabled()),
                lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1])),
            "cuDNN flags": (
                lambda: (backends.cudnn.enabled, backends.cudnn.benchmark,
                         backends.cudnn.deterministic, backends.cudnn.allow_tf32),
                lambda v: _set_cudnn(backends.cudnn, v)),
            "TF32 matmul": (lambda: backends.cuda.matmul.allow_tf32,
                            lambda v: setattr(backends.cuda.matmul, "allow_tf32", v)),
            "float32 matmul precision": (torch.get_float32_matmul_precision,
                                         torch.set_float32_matmul_precision),
            "the number of threads": (torch.get_num_threads, torch.set_num_threads),
        }
        if hasattr(torch, "get_default_device"):
            settings["the default device"] = (torch.get_default_device, torch.set_default_device)
        return {name: (get, put, _safe(get)) for name, (get, put) in settings.items()}

    def restore(self):
        """Put everything back; return a line for each thing that had changed."""
        changed = []
        for label, (obj, entries) in self._namespaces.items():
            current = vars(obj)
            for key, value in entries.items():
                if current.get(key, _GONE) is not value:
                    try:
                        setattr(obj, key, value)
                    except (AttributeError, TypeError):
                        continue
                    changed.append(f"{label}.{key} was replaced")
        for name, (get, put, value) in self._settings.items():
            now = _safe(get)
            if now != value:
                try:
                    put(value)
                    changed.append(f"{name} was changed (to {now})")
                except Exception:  # a setting this build cannot set back: leave it
                    pass
        torch_state, numpy_state, python_state = self._rng
        self._torch.random.set_rng_state(torch_state)
        self._numpy.random.set_state(numpy_state)
        random.setstate(python_state)
        warnings.filters[:] = self._warnings
        if (sys.stdout, sys.stderr) != self._streams:
            sys.stdout, sys.stderr = self._streams
            changed.append("sys.stdout or sys.stderr was replaced")
        if sys.path != self._path:
            sys.path[:] = self._path
        if os.getcwd() != self._cwd:
            os.chdir(self._cwd)
        if dict(os.environ) != self._environ:
            os.environ.clear()
            os.environ.update(self._environ)
        if hasattr(signal, "setitimer"):
            for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
                if signal.getitimer(timer) != (0.0, 0.0):
                    signal.setitimer(timer, 0)
                    changed.append("a timer (signal.alarm or setitimer) was left running")
        for sig, handler in self._handlers.items():
            if signal.getsignal(sig) is not handler and handler is not None:
                try:
                    signal.signal(sig, handler)
                    changed.append(f"the handler of {signal.Signals(sig).name} was replaced")
                except (OSError, ValueError, TypeError):
                    pass
        if sys.getrecursionlimit() != self._recursion:
            sys.setrecursionlimit(self._recursion)
        return list(dict.fromkeys(changed))


_GONE = object()


def _safe(get):
    try:
        return get()
    except Exception:  # a setting this build does not have
        return None


def _set_cudnn(cudnn, values):
    cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32 = values
