"""nbgrader: a course directory built from the kit, and the preprocessor that grades it.

``python -m autograder nbgrader COURSE`` writes an nbgrader course directory::

    COURSE/nbgrader_config.py         nbgrader's configuration, with the kit's preprocessor
    COURSE/autograder_course.toml     the hidden seed offset (never released to students)
    COURSE/gradebook.db               nbgrader's gradebook, with the assignments in it
    COURSE/source/<id>/<id>.ipynb     one notebook per assignment

Each notebook is the assignment's README as markdown cells (the teaching text), one
autograded answer cell per student file holding the reference file with its ``### BEGIN
SOLUTION`` regions (nbgrader's own markers, which the kit's template uses too), and one
autograder test cell per check, worth the check's points, that calls
``autograder.platforms.notebook.check``. No check is written into a notebook: every cell
calls the engine.

When nbgrader autogrades a submission it runs the notebook in a kernel, the student's
code included, so nothing the kernel computes can be trusted. ``KitGrades``, configured
after nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``, takes the answer
cells' code from the notebook, grades it with the engine in a sandboxed worker process
with the course's hidden seeds, and writes every test cell's output: one line on stdout
for a check that passed, an error whose text is the kit's feedback for one that did not.
nbgrader then scores the cells as it always does (an error scores 0).
"""
import json
import os
import re
import tomllib
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets import Unicode

from autograder.manifest import REFERENCE_ROOT, load_manifest
from autograder.platforms.notebook import PREPROCESSOR_ENV, file_of

SETTINGS_FILE = "autograder_course.toml"
NBGRADER_SCHEMA = 3


def answer_id(name):
    return "answer_" + re.sub(r"\W", "_", name)


def check_cell_id(check_id):
    return f"test_{check_id}"


# --- building the course ---------------------------------------------------------------

def build_course(destination, assignments=None, *, seed=0, cuda=False, manifest=None,
                 reference_root=REFERENCE_ROOT, course_id="pytorch-exercises"):
    """Write the course directory; return the notebook paths. ``cuda``: include the checks
    that need a GPU (the autograding machine must have one, or they score 0)."""
    manifest = manifest or load_manifest()
    chosen = [manifest.assignment(a) for a in assignments] if assignments \
        else list(manifest.assignments)
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    notebooks = []
    for assignment in chosen:
        folder = destination / "source" / assignment.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{assignment.id}.ipynb"
        path.write_text(json.dumps(notebook_for(assignment, reference_root, cuda),
                                   indent=1, ensure_ascii=False) + "\n")
        notebooks.append(path)
    (destination / "nbgrader_config.py").write_text(_CONFIG.format(course_id=course_id,
                                                                   settings=SETTINGS_FILE))
    settings = destination / SETTINGS_FILE
    settings.write_text(f"# the course's hidden seed offset: keep this file from students\n"
                        f"seed = {int(seed)}\ncuda = {'true' if cuda else 'false'}\n")
    settings.chmod(0o600)
    _gradebook(destination, [a.id for a in chosen])
    return notebooks


def checks_for(assignment, cuda):
    return [c for c in assignment.checks if cuda or c.device != "cuda"]


def notebook_for(assignment, reference_root=REFERENCE_ROOT, cuda=False):
    """The source notebook of ``assignment`` (nbformat 4, as a dict)."""
    readme = (assignment.folder / "README.md").read_text()
    intro, sections = _split_readme(readme, assignment)
    checks = checks_for(assignment, cuda)
    cells = [_markdown(intro, "intro"), _markdown(_how_it_works(assignment, checks), "howto")]
    cells += [_markdown(text, f"readme_{number}") for number, text in enumerate(sections, 1)]
    for name in assignment.files:
        code = (Path(reference_root) / assignment.id / name).read_text()
        cells.append(_markdown(f"## Your code: `{name}`\n\nThis cell is your file `{name}`: "
                               f"write your code where it says `YOUR CODE HERE`, and keep its "
                               f"first line, which tells the checks which file it is. Run it "
                               f"before the checks below.", f"about_{answer_id(name)}"))
        cells.append(_code(f"# file: {name}\n{code.rstrip()}\n",
                           {"solution": True, "grade": False, "locked": False,
                            "grade_id": answer_id(name)}))
    cells.append(_markdown("## Checks\n\nEach cell below runs one check of the autograder on "
                           "the code above and shows what differs, or `PASS`. The grade comes "
                           "from your instructor's run of the same checks, with other seeds.",
                           "checks"))
    for check in checks:
        source = (f"# {check.title}: {check.points:g} point(s)\n"
                  f"from autograder.platforms.notebook import check\n"
                  f"check({assignment.id!r}, {check.id!r})")
        cells.append(_code(source, {"solution": False, "grade": True, "locked": True,
                                    "points": check.points, "grade_id": check_cell_id(check.id)}))
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"},
                         "language_info": {"name": "python"},
                         "autograder": {"assignment": assignment.id}}}


def _how_it_works(assignment, checks):
    rows = "\n".join(f"| `{c.id}` | {c.points:g} | {c.title} |" for c in checks)
    total = sum(c.points for c in checks)
    return (f"## How this notebook works\n\n"
            f"Write your code in the answer cell{'s' if len(assignment.files) > 1 else ''} "
            f"near the end (one per file: {', '.join(f'`{n}`' for n in assignment.files)}), run "
            f"{'them' if len(assignment.files) > 1 else 'it'}, then run the check cells below "
            f"{'them' if len(assignment.files) > 1 else 'it'}. Each check runs your code in a "
            f"separate process and compares its results with the reference solution's; a "
            f"failing check says where your result differs and, when it recognises a common "
            f"mistake, names it. Checks never show the reference's values.\n\n"
            f"| check | points | what is checked |\n| --- | ---: | --- |\n{rows}\n\n"
            f"Total: {total:g} points.")


def _split_readme(readme, assignment):
    """(intro, [section]): the README's teaching text, without what only fits a repository
    (where the file lives, how to run pytest, the generated checks table)."""
    parts = re.split(r"(?m)^(?=## )", readme)
    intro = parts[0].strip()
    first_paragraph = intro.split("\n\n")[0]
    sections = []
    for part in parts[1:]:
        heading = part.splitlines()[0]
        if heading.startswith("## How you are graded"):
            continue
        sections.append(_for_notebook(part.strip(), assignment))
    return _for_notebook(first_paragraph, assignment), sections


def _for_notebook(text, assignment):
    for name in assignment.files:
        text = text.replace(f"`student_template/{assignment.id}/{name}`",
                            f"`{name}` (its answer cell below)")
    return text


def _markdown(text, cell_id):
    return {"cell_type": "markdown", "id": cell_id.replace("_", "-"), "metadata": {},
            "source": text}


def _code(source, nbgrader):
    meta = dict(nbgrader, schema_version=NBGRADER_SCHEMA)
    return {"cell_type": "code", "id": nbgrader["grade_id"].replace("_", "-"),
            "metadata": {"nbgrader": meta}, "source": source, "outputs": [],
            "execution_count": None}


def _gradebook(destination, assignment_ids):
    import sys
    from nbgrader.api import Gradebook
    # nbgrader runs alembic, installed beside this interpreter, to set up the database
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    with Gradebook(f"sqlite:///{(destination / 'gradebook.db').resolve()}") as gradebook:
        for assignment_id in assignment_ids:
            gradebook.update_or_create_assignment(assignment_id)


_CONFIG = '''\
# nbgrader's configuration for this course, written by `python -m autograder nbgrader`.
# The kit's preprocessor grades every test cell from outside the notebook's kernel, with
# the hidden seed offset in {settings}; the cells themselves only say so when
# nbgrader autogrades. Keep {settings} out of the release folder.
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)

from autograder.platforms.nbgrader import KitGrades

c = get_config()  # noqa: F821 (nbgrader defines it)
c.CourseDirectory.course_id = "{course_id}"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.Execute.timeout = 300   # a cell's limit; the answer cells import torch
c.Autograde.autograde_preprocessors = [Execute, KitGrades, IgnorePattern,
                                       ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                                       AssignLatePenalties, CheckCellMetadata]
c.KitGrades.settings = os.path.join(os.path.dirname(os.path.abspath(__file__)), "{settings}")
os.environ["{env}"] = "1"   # the test cells leave grading to KitGrades
'''.replace("{env}", PREPROCESSOR_ENV)


# --- grading a submission (nbgrader autograde) -------------------------------------------

class KitGrades(NbGraderPreprocessor):
    """Grade the notebook's answer cells with the kit and write each test cell's output."""

    settings = Unicode("", help="the course's autograder_course.toml (hidden seed offset)"
                       ).tag(config=True)

    def preprocess(self, nb, resources):
        from autograder.platforms.notebook import cell_output, grade_sources
        assignment_id = resources.get("nbgrader", {}).get("assignment")
        manifest = load_manifest()
        assignment = manifest.assignment(assignment_id)
        options = self._options()
        names = {answer_id(name): name for name in assignment.files}
        sources, tests = {}, {}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id", "")
            if cell.cell_type != "code":
                continue
            if meta.get("solution") and grade_id in names:
                sources[names[grade_id]] = cell.source
            elif meta.get("solution") and file_of(cell.source) in assignment.files:
                sources.setdefault(file_of(cell.source), cell.source)
            elif meta.get("grade") and grade_id.startswith("test_"):
                tests[grade_id[len("test_"):]] = cell
        self.log.info("%s: grading %d test cell(s) outside the kernel, with the course's "
                      "hidden seed offset", assignment_id, len(tests))
        known = {c.id for c in assignment.checks}
        graded = [c for c in tests if c in known]
        report = grade_sources(assignment_id, sources, checks=graded,
                               seed_offset=options["seed"],
                               manifest=manifest) if graded else None
        results = {r.check: r for r in report.results} if report else {}
        for check_id, cell in tests.items():
            result = results.get(check_id)
            if result is None:
                cell.outputs = [_error("CheckFailed", f"no check {check_id!r} in "
                                       f"{assignment_id}", [])]
                continue
            line, failure = cell_output(result)
            if failure is None:
                cell.outputs = [new_output("stream", name="stdout", text=line + "\n")]
            else:
                cell.outputs = [_error("CheckFailed", failure.args[0],
                                       failure._render_traceback_())]
            self.log.info("%s: %s %s", check_id, result.label, result.reason)
        if report is not None and report.sandbox:
            self.log.info("%s", report.sandbox.splitlines()[0])
        return nb, resources

    def _options(self):
        path = Path(self.settings) if self.settings else None
        if path is None or not path.is_file():
            raise RuntimeError(f"KitGrades: the course settings file {self.settings!r} is "
                               f"missing (python -m autograder nbgrader writes it)")
        data = tomllib.loads(path.read_text())
        return {"seed": int(data.get("seed", 0))}


def _error(name, value, lines):
    return new_output("error", ename=name, evalue=value, traceback=list(lines))
