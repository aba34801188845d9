"""A failed check, reproduced outside the grader, for a debugger (``--in-process`` only).

When a check fails on its values in debug mode, the grader runs its scenario once more with
the solution's module-level functions wrapped, so that every call the check makes to them is
recorded with copies of its inputs. It writes, under ``autograder-repro/`` in the current
folder:

* ``<assignment>-<check>.pt``: the recorded calls whose inputs are plain data (tensors,
  numbers, strings, lists, tuples, dicts), readable with ``torch.load(weights_only=True)``;
* ``<assignment>-<check>.py``: a script that imports the student's function and calls it on
  the first recorded inputs, so ``python -m pdb`` (or an IDE, or a ``breakpoint()``) stops in
  the student's own lines; and a line that re-runs the whole check in one process
  (``rerun``), for tasks whose inputs are objects (an optimizer, a model, a dataset).
"""
import copy
import functools
import inspect
import io
from pathlib import Path

FOLDER = "autograder-repro"
MOST_CALLS = 50


class CallRecorder:
    """Wraps the public module-level functions of a solution's modules while it is active;
    records each outermost call (a function the student's code calls from another is part
    of the first one's run)."""

    def __init__(self, modules, most=MOST_CALLS):
        self.modules = dict(modules)   # stem -> module
        self.most = most
        self.calls = []
        self._saved = []
        self._depth = 0

    def __enter__(self):
        for stem, module in self.modules.items():
            for name, value in list(vars(module).items()):
                if name.startswith("_") or not inspect.isfunction(value) \
                        or value.__module__ != module.__name__:
                    continue
                self._saved.append((module, name, value))
                setattr(module, name, self._wrap(stem, name, value))
        return self

    def __exit__(self, *exc):
        for module, name, value in self._saved:
            setattr(module, name, value)
        self._saved = []
        return False

    def _wrap(self, stem, name, function):
        @functools.wraps(function)
        def recorded(*args, **kwargs):
            if self._depth == 0 and len(self.calls) < self.most:
                self.calls.append({"module": stem, "function": name,
                                   "args": _copy(args), "kwargs": _copy(kwargs)})
            self._depth += 1
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
        return recorded


def _copy(value):
    try:
        return copy.deepcopy(value)
    except Exception:  # an object that cannot be copied cannot be replayed either
        return _NotData(type(value).__name__)


class _NotData:
    def __init__(self, kind):
        self.kind = kind


def _plain(call):
    """Whether ``call``'s inputs survive ``torch.save`` and a ``weights_only`` load."""
    import torch
    buffer = io.BytesIO()
    try:
        torch.save({"args": call["args"], "kwargs": call["kwargs"]}, buffer)
        buffer.seek(0)
        torch.load(buffer, weights_only=True)
    except Exception:
        return False
    return True


def write(assignment, check, solution_root, calls, seed_offset=0, folder=None):
    """Write the script (and the recorded inputs, when some are plain data); return the
    script's path and a sentence for the feedback."""
    import torch
    folder = Path(folder or Path.cwd() / FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{assignment.id}-{check.id}"
    script, data = folder / f"{stem}.py", folder / f"{stem}.pt"
    plain = [c for c in calls if _plain(c)]
    solution = Path(solution_root).resolve()
    lines = [f'"""Check {check.id} of {assignment.id} failed: "{check.title}".',
             "Run this file with a debugger to step through your own code:",
             f"    python -m pdb {script}",
             '(or put breakpoint() in your function and run it with python)."""',
             "import sys", "", "import torch", "",
             f"sys.path.insert(0, {str(solution / assignment.id)!r})"]
    if plain:
        first = plain[0]
        torch.save([{k: c[k] for k in ("module", "function", "args", "kwargs")} for c in plain],
                   data)
        lines += [f"from {first['module']} import {first['function']}", "",
                  f"# The check made {len(calls)} call(s) to your functions; the inputs of "
                  f"{len(plain)} of them are in",
                  f"# {data.name} (each: module, function, args, kwargs). The first:",
                  f"calls = torch.load({str(data)!r}, weights_only=True)",
                  f"print({first['function']}(*calls[0]['args'], **calls[0]['kwargs']))", ""]
        what = (f"the inputs of {len(plain)} call(s) it made to your functions are in "
                f"{data}, and")
    else:
        data.unlink(missing_ok=True)
        what = "its inputs are objects (not plain data), so"
    call = (f"rerun({assignment.id!r}, {check.id!r}, {str(solution)!r}"
            + (f", seed_offset={seed_offset}" if seed_offset else "") + ")")
    lines += ["# The whole check, in this process (trusted code calling yours):",
              "from autograder.repro import rerun", "",
              call if not plain else f"# {call}", ""]
    script.write_text("\n".join(lines))
    return script, (f"To step through it in a debugger: {what} python -m pdb {script} "
                    f"reproduces it in one process.")


def rerun(assignment_id, check_id, solution, seed_offset=0):
    """Grade one check of ``solution`` in this process and print its feedback; a debugger
    stops in the student's code when it raises. Returns the ``CheckResult``."""
    from autograder.grading import Grader, reference_side_for
    from autograder.manifest import load_manifest
    assignment = load_manifest().assignment(assignment_id)
    reference = reference_side_for(assignment, seed_offset=seed_offset, in_process=True)
    grader = Grader(assignment, solution, reference, in_process=True, seed_offset=seed_offset,
                    repro=False)
    try:
        result = grader.run_check(assignment.check(check_id))
    finally:
        grader.close()
        reference.close()
    print(f"[{result.label}] {result.points:g}/{result.max_points:g}: {result.reason}\n")
    print(result.full_text())
    return result
