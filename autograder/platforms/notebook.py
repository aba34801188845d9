"""The kit's checks on code written in a Jupyter notebook.

An assignment's notebook (built by ``autograder.platforms.nbgrader``) has one answer
cell per student file, whose first line names the file::

    # file: optimizers.py

and one test cell per check::

    from autograder.platforms.notebook import check
    check("03_adam", "adam_f32")

Each answer cell is the whole file, so what a notebook defines is graded exactly like the
same file in a repository: the cells' code is written into a solution tree and graded by
the engine (``autograder.grading``), in a sandboxed worker process, against the reference
where it is installed, else against the recorded reference outputs (a student's own
environment holds no solutions). Nothing here compares or scores anything itself.

A test cell passes quietly with one line on stdout, or raises ``CheckFailed`` whose text
is the kit's feedback. It never writes to stderr (nbgrader scores a cell that does 0) and
never shows a value of the reference's (feedback is built with ``reveal=False``).

When nbgrader autogrades a submission, the points do not come from these cells: the
student's code has run in the same kernel, and could have changed anything in it. The
kit's nbgrader preprocessor (``autograder.platforms.nbgrader.KitGrades``) grades the
notebook's answer cells from outside the kernel, with the course's hidden seeds, and
writes each test cell's output itself. Here, ``check`` only says so.
"""
import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

FILE_MARKER = re.compile(r"^\s*#\s*file:\s*([\w.\-/]+)")
# set by the course's nbgrader_config.py: the preprocessor grades the test cells
PREPROCESSOR_ENV = "AUTOGRADER_NBGRADER_PREPROCESSOR"


class CheckFailed(Exception):
    """A check that did not pass; IPython shows only the kit's feedback, no traceback."""

    def __init__(self, reason, text):
        super().__init__(reason)
        self.text = text

    def _render_traceback_(self):
        return [f"CheckFailed: {self.args[0]}", "", *self.text.splitlines()]


def file_of(source):
    """The student file an answer cell holds (its ``# file:`` line), or None."""
    for line in source.splitlines():
        if line.strip():
            match = FILE_MARKER.match(line)
            return match.group(1) if match else None
    return None


def write_solution_tree(root, assignment, sources):
    """Write ``sources`` ({file: code}) as ``root/<assignment>/<file>``; a file no source
    holds is simply absent, and the engine's load error names it."""
    folder = Path(root) / assignment.id
    folder.mkdir(parents=True, exist_ok=True)
    for name, code in sources.items():
        if name in assignment.files:
            (folder / name).write_text(code)


def grade_sources(assignment_id, sources, *, checks=None, seed_offset=0, cuda=None,
                  manifest=None):
    """Grade the code of ``sources`` ({file: code}) with the engine; return its ``Report``.

    The feedback never shows the reference's values. A file that no cell holds is graded
    as missing (the engine's load error names it)."""
    from autograder.grading import grade
    from autograder.manifest import load_manifest
    manifest = manifest or load_manifest()
    assignment = manifest.assignment(assignment_id)
    root = Path(tempfile.mkdtemp(prefix="notebook-solution-"))
    try:
        write_solution_tree(root, assignment, sources)
        with quiet():
            return grade(assignment_id, root, manifest=manifest, seed_offset=seed_offset,
                         checks=checks, cuda=cuda, reveal=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def quiet():
    """Nothing reaches stderr: warnings are dropped, and what would go to stderr is kept."""
    kept = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(kept):
        warnings.simplefilter("ignore")
        yield kept


def cell_output(result):
    """(stdout line, None) for a result that earns its points, else (None, CheckFailed)."""
    from autograder import results as R
    points = f"{result.points:g}/{result.max_points:g}"
    if result.status == R.PASSED:
        return f"PASS  {result.check}  {points}: {result.reason}", None
    if result.status == R.INSTRUCTOR:
        return f"LATER  {result.check}: {result.reason}", None
    text = result.full_text()
    return None, CheckFailed(f"{result.label} {result.check} 0/{result.max_points:g}: "
                             f"{result.reason}", text)


# --- in the kernel -------------------------------------------------------------------------

_cache = {}


def check(assignment_id, check_id):
    """Grade one check on the answer cells this kernel has run; raise ``CheckFailed`` unless
    it passes. Results are cached per version of the code, so a notebook's test cells share
    one grading run."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        if os.environ.get(PREPROCESSOR_ENV) == "1":
            print(f"{check_id}: graded by the course's autograder, outside this notebook.")
            return
        raise CheckFailed("the kit's nbgrader preprocessor is not configured",
                          "This course's nbgrader_config.py must add "
                          "autograder.platforms.nbgrader.KitGrades to "
                          "Autograde.autograde_preprocessors (python -m autograder nbgrader "
                          "writes it so); without it no check is graded.")
    sources = _sources_run_in_kernel()
    key = (assignment_id, hashlib.sha256(repr(sorted(sources.items())).encode()).hexdigest())
    if key not in _cache:
        from autograder.manifest import load_manifest
        assignment = load_manifest().assignment(assignment_id)
        missing = [name for name in assignment.files if name not in sources]
        if missing:
            raise CheckFailed(f"run the cell holding {missing[0]} first",
                              f"No cell run in this kernel starts with '# file: {missing[0]}'. "
                              f"Run the answer cell for {missing[0]} (keep its first line), "
                              f"then this cell again.")
        _cache.clear()   # one version of the code at a time
        _cache[key] = grade_sources(assignment_id, sources)
    result = next((r for r in _cache[key].results if r.check == check_id), None)
    if result is None:
        raise CheckFailed(f"no check {check_id!r} in {assignment_id}", "")
    line, failure = cell_output(result)
    if failure is not None:
        raise failure
    print(line)


def _sources_run_in_kernel():
    """{file: code} of the answer cells this kernel has run, the latest run of each."""
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    if shell is None:
        return {}
    sources = {}
    for cell in shell.history_manager.input_hist_raw:
        name = file_of(cell or "")
        if name:
            sources[name] = cell
    return sources
