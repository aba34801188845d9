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

Language: the notebook's markdown is written in the course's language, and its metadata
names it (``metadata.autograder.lang``). In a student's Jupyter, ``check`` speaks the
language chosen with ``AUTOGRADER_LANG`` if one is, else the notebook's (Jupyter tells the
kernel which notebook it runs), else the locale's. When nbgrader autogrades, the course's
settings file names it.
"""
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

from autograder import i18n
from autograder.i18n import _, tr

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


def notebook_language(path):
    """The language a notebook built by the kit names in its metadata, or None."""
    try:
        metadata = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
        return i18n.normalize((metadata.get("autograder") or {}).get("lang"))
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def _follow_the_notebook():
    """In a student's kernel: speak the notebook's language, unless one was chosen
    (``AUTOGRADER_LANG``, or ``set_language``). Jupyter gives the kernel the notebook's path
    (``__session__``, ``JPY_SESSION_NAME``; VS Code ``__vsc_ipynb_file__``)."""
    if i18n.explicit():
        return
    names = {}
    try:
        from IPython import get_ipython
        shell = get_ipython()
        names = shell.user_ns if shell is not None else {}
    except ImportError:
        pass
    for path in (names.get("__session__"), names.get("__vsc_ipynb_file__"),
                 os.environ.get("JPY_SESSION_NAME")):
        if isinstance(path, str) and path.endswith(".ipynb"):
            lang = notebook_language(path)
            if lang:
                i18n.set_language(lang)
                return


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
            print(tr("{check}: graded by the course's autograder, outside this notebook.",
                     check=check_id))
            return
        raise CheckFailed(_("the kit's nbgrader preprocessor is not configured"),
                          _("This course's nbgrader_config.py must add "
                            "autograder.platforms.nbgrader.KitGrades to "
                            "Autograde.autograde_preprocessors (python -m autograder nbgrader "
                            "writes it so); without it no check is graded."))
    _follow_the_notebook()
    sources = _sources_run_in_kernel()
    key = (assignment_id, hashlib.sha256(repr(sorted(sources.items())).encode()).hexdigest())
    if key not in _cache:
        from autograder.manifest import load_manifest
        assignment = load_manifest().assignment(assignment_id)
        missing = [name for name in assignment.files if name not in sources]
        if missing:
            raise CheckFailed(tr("run the cell holding {file} first", file=missing[0]),
                              tr("No cell run in this kernel starts with '# file: {file}'. "
                                 "Run the answer cell for {file} (keep its first line), then "
                                 "this cell again.", file=missing[0]))
        _cache.clear()   # one version of the code at a time
        _cache[key] = grade_sources(assignment_id, sources)
    result = next((r for r in _cache[key].results if r.check == check_id), None)
    if result is None:
        raise CheckFailed(no_such_check(assignment_id, check_id), "")
    line, failure = cell_output(result)
    if failure is not None:
        raise failure
    print(line)


def no_such_check(assignment_id, check_id):
    return tr("no check {check} in {assignment}", check=repr(check_id), assignment=assignment_id)


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
