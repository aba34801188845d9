"""nbgrader: a course directory built from the kit, and the preprocessor that grades it.

``python -m autograder nbgrader COURSE`` writes an nbgrader course directory::

    COURSE/nbgrader_config.py         nbgrader's configuration, with the kit's preprocessor
    COURSE/autograder_course.toml     the hidden seed offset (never released to students)
                                      and the course's language
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

Language: ``build_course(..., lang="ja")`` (default: the language in use, so the kit's
``--lang`` chooses it) writes the markdown the kit adds in that language and takes the
teaching text from the assignment's ``README.ja.md``; the code cells are the same in every
language (the student's functions, their docstrings and the test cells). The settings file
records the language, and ``KitGrades`` writes the test cells' output in it; the notebook's
metadata names it too, for the checks a student runs in Jupyter.
"""
import json
import os
import re
import tomllib
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets import Unicode

from autograder import i18n
from autograder.feedback import title_of
from autograder.i18n import _, tr
from autograder.manifest import REFERENCE_ROOT, load_manifest
from autograder.i18n import README_NAMES, speaking
from autograder.platforms.notebook import PREPROCESSOR_ENV, file_of, no_such_check

SETTINGS_FILE = "autograder_course.toml"
NBGRADER_SCHEMA = 3


def answer_id(name):
    return "answer_" + re.sub(r"\W", "_", name)


def check_cell_id(check_id):
    return f"test_{check_id}"


# --- building the course ---------------------------------------------------------------

def build_course(destination, assignments=None, *, seed=0, cuda=False, manifest=None,
                 reference_root=REFERENCE_ROOT, course_id="pytorch-exercises", lang=None):
    """Write the course directory; return the notebook paths. ``cuda``: include the checks
    that need a GPU (the autograding machine must have one, or they score 0). ``lang``: the
    language of the notebooks' text and of the autograding's output (default: the language
    in use)."""
    lang = i18n.normalize(lang or i18n.language())
    if lang is None:
        raise ValueError(f"unknown language: choose one of {', '.join(i18n.LANGUAGES)}")
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
        path.write_text(json.dumps(notebook_for(assignment, reference_root, cuda, lang),
                                   indent=1, ensure_ascii=False) + "\n")
        notebooks.append(path)
    (destination / "nbgrader_config.py").write_text(_CONFIG.format(course_id=course_id,
                                                                   settings=SETTINGS_FILE))
    settings = destination / SETTINGS_FILE
    settings.write_text(f"# the course's hidden seed offset: keep this file from students\n"
                        f"seed = {int(seed)}\ncuda = {'true' if cuda else 'false'}\n"
                        f"# the language of the notebooks and of the autograding's output\n"
                        f'lang = "{lang}"\n')
    settings.chmod(0o600)
    _gradebook(destination, [a.id for a in chosen])
    return notebooks


def checks_for(assignment, cuda):
    return [c for c in assignment.checks if cuda or c.device != "cuda"]


def notebook_for(assignment, reference_root=REFERENCE_ROOT, cuda=False, lang=None):
    """The source notebook of ``assignment`` (nbformat 4, as a dict), its markdown in
    ``lang`` (default: the language in use)."""
    lang = i18n.normalize(lang or i18n.language()) or "en"
    checks = checks_for(assignment, cuda)
    with speaking(lang):
        cells = _text_and_answer_cells(assignment, reference_root, checks, lang)
    for check in checks:  # code: the same in every language
        source = (f"# {check.title}: {check.points:g} point(s)\n"
                  f"from autograder.platforms.notebook import check\n"
                  f"check({assignment.id!r}, {check.id!r})")
        cells.append(_code(source, {"solution": False, "grade": True, "locked": True,
                                    "points": check.points, "grade_id": check_cell_id(check.id)}))
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"},
                         "language_info": {"name": "python"},
                         "autograder": {"assignment": assignment.id, "lang": lang}}}


def _text_and_answer_cells(assignment, reference_root, checks, lang):
    """The teaching text, how the notebook works, each answer cell with what it is, and the
    heading of the checks, in the language in use."""
    intro, sections = _split_readme(assignment, lang)
    cells = [_markdown(intro, "intro"), _markdown(_how_it_works(assignment, checks), "howto")]
    cells += [_markdown(text, f"readme_{number}") for number, text in enumerate(sections, 1)]
    for name in assignment.files:
        code = (Path(reference_root) / assignment.id / name).read_text()
        heading = tr("Your code: `{file}`", file=name)
        about = tr("This cell is your file `{file}`: write your code where it says "
                   "`YOUR CODE HERE`, and keep its first line, which tells the checks which "
                   "file it is. Run it before the checks below.", file=name)
        cells.append(_markdown(f"## {heading}\n\n{about}", f"about_{answer_id(name)}"))
        cells.append(_code(f"# file: {name}\n{code.rstrip()}\n",
                           {"solution": True, "grade": False, "locked": False,
                            "grade_id": answer_id(name)}))
    heading = _("Checks")
    about = _("Each cell below runs one check of the autograder on the code above and shows "
              "what differs, or `PASS`. The grade comes from your instructor's run of the same "
              "checks, with other seeds.")
    cells.append(_markdown(f"## {heading}\n\n{about}", "checks"))
    return cells


def _how_it_works(assignment, checks):
    rows = "\n".join(f"| `{c.id}` | {c.points:g} | {title_of(c)} |" for c in checks)
    files = ", ".join(f"`{n}`" for n in assignment.files)
    heading = _("How this notebook works")
    if len(assignment.files) == 1:
        steps = tr("Write your code in the answer cell near the end (one per file: {files}), "
                   "run it, then run the check cells below it.", files=files)
    else:
        steps = tr("Write your code in the answer cells near the end (one per file: {files}), "
                   "run them, then run the check cells below them.", files=files)
    how = _("Each check runs your code in a separate process and compares its results with the "
            "reference solution's; a failing check says where your result differs and, when it "
            "recognises a common mistake, names it. Checks never show the reference's values.")
    check, points, what = _("check"), _("points"), _("what is checked")
    total = tr("Total: {points} points.", points=format(sum(c.points for c in checks), "g"))
    return (f"## {heading}\n\n{steps}\n\n{how}\n\n"
            f"| {check} | {points} | {what} |\n| --- | ---: | --- |\n{rows}\n\n{total}")


_REPOSITORY_ONLY = "## How you are graded"   # how to run pytest, the generated checks table
_OTHER_LANGUAGE = re.compile(r"(?m)^\S+: \[README(\.\w+)?\.md\]\(README(\.\w+)?\.md\)[ \t]*\n?")


def _sections(readme):
    return re.split(r"(?m)^(?=## )", readme)


def _split_readme(assignment, lang="en"):
    """(intro, [section]): the teaching text of the assignment's README in ``lang``
    (``README.ja.md`` for Japanese, the English one where it has none), without what only
    fits a repository (the link to the other language, where the file lives, how to run
    pytest, the generated checks table)."""
    english = (assignment.folder / README_NAMES["en"]).read_text()
    translated = assignment.folder / README_NAMES.get(lang, README_NAMES["en"])
    readme = translated.read_text() if translated.is_file() else english
    parts, english_parts = _sections(readme), _sections(english)
    # the same sections in the same order in every language: skip by the English headings
    skipped = {number for number, part in enumerate(english_parts)
               if part.startswith(_REPOSITORY_ONLY)} if len(parts) == len(english_parts) \
        else {number for number, part in enumerate(parts) if part.startswith(_REPOSITORY_ONLY)}
    # the title and the paragraph that says what the assignment is about
    intro = "\n\n".join(_OTHER_LANGUAGE.sub("", parts[0]).strip().split("\n\n")[:2])
    sections = [_for_notebook(part.strip(), assignment)
                for number, part in enumerate(parts) if number and number not in skipped]
    return _for_notebook(intro, assignment), sections


def _for_notebook(text, assignment):
    for name in assignment.files:
        text = text.replace(f"`student_template/{assignment.id}/{name}`",
                            tr("`{file}` (its answer cell below)", file=name))
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
        assignment_id = resources.get("nbgrader", {}).get("assignment")
        manifest = load_manifest()
        assignment = manifest.assignment(assignment_id)
        options = self._options()
        with speaking(options["lang"]):
            return self._grade(nb, resources, assignment_id, manifest, assignment, options)

    def _grade(self, nb, resources, assignment_id, manifest, assignment, options):
        from autograder.platforms.notebook import cell_output, grade_sources
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
                cell.outputs = [_error("CheckFailed", no_such_check(assignment_id, check_id),
                                       [])]
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
            raise RuntimeError(tr("KitGrades: the course settings file {path} is missing "
                                  "(python -m autograder nbgrader writes it)",
                                  path=repr(self.settings)))
        data = tomllib.loads(path.read_text())
        # a course written before the language was recorded: the language in use
        return {"seed": int(data.get("seed", 0)), "lang": i18n.normalize(data.get("lang"))}


def _error(name, value, lines):
    return new_output("error", ename=name, evalue=value, traceback=list(lines))
