"""Gradescope: the autograder .zip an instructor uploads, and the run Gradescope starts.

``python -m autograder.platforms.gradescope build autograder.zip --assignments 03_adam``
writes, at the root of the zip (Gradescope's layout: it unpacks the zip into
``/autograder/source``):

* ``setup.sh``: run once, as root, when Gradescope builds the image: Python 3.11, a
  virtual environment in ``/autograder/env``, CPU-only torch and torchvision (pinned to
  the versions the kit was built with) from PyTorch's index, then the kit;
* ``run_autograder``: run for every submission; it calls ``python3 -m
  autograder.platforms.gradescope run``;
* the kit: the ``autograder`` package, ``assignments/`` (the manifest, each assignment's
  scenarios and known mistakes; no recorded snapshots, the reference is here),
  ``reference/`` and ``pyproject.toml``;
* ``gradescope.toml``: the assignments to grade, the hidden seed offset, the user student
  code runs as, when the graded tests are shown, and the language of the results.

The language students read (``lang``: ``en`` or ``ja``) is chosen when the zip is built
(``build --lang ja``, or the kit's global ``--lang`` / ``AUTOGRADER_LANG``) and written into
``gradescope.toml``; without a choice it is English. The build machine's locale does not
decide it, nor does Gradescope's: every run speaks the language written in the zip.

``run()`` reads the submission from ``/autograder/submission`` (``AUTOGRADER_GRADESCOPE_ROOT``
replaces ``/autograder``, to try the real script on a copy of that layout). The student's
files may be at the top level (``optimizers.py``), in their assignment folders
(``03_adam/optimizers.py``), or anywhere below (a zipped repository folder): only the files
the manifest names are taken, as a class batch takes them (``autograder.batch.intake``),
into a solution tree in a temporary folder. Each configured assignment is graded by the
kit's engine (``autograder.grading.grade``) twice, and ``/autograder/results/results.json``
is written atomically (a "did not finish" file that parses is there from the start).

How the points are split, so that nothing counts twice:

* **Public seeds: feedback, no points.** The checks run with the seeds the student's own
  repository uses. Their tests are ``visible`` at once, passed or failed with the kit's
  full feedback, and each is worth 0 of 0.
* **Hidden seeds: the grade.** The same checks run with every seed moved by the hidden
  offset in ``gradescope.toml``. These tests carry the points, and the top-level ``score``
  is their sum. They are shown ``after_published`` (``--visibility after_due_date`` or
  ``visible`` are the other choices), and Gradescope hides the total from students while
  any test is hidden. A solution tuned to the public seeds cannot earn them.
* A check that cannot run here (a GPU check: Gradescope has no GPU) follows the kit's one
  policy for the maximum, the same on every machine: it keeps its points in the maximum,
  scores 0 of them, is marked "failed" and says "not evaluated: needs CUDA". The
  assignment's autograder points are all its checks' points (``build`` prints the total,
  and which of them Gradescope cannot award); a course that wants the GPU points graded
  grades them in a batch run on a GPU machine.

A missing file is said by name in the summary ("03_adam: optimizers.py is missing from your
submission ..."), and each of its checks is a 0 that says the same; an empty submission
says it is empty. Speed checks also fill Gradescope's leaderboard: the time ratio to the
reference on the hidden seeds (lower is better). A failure of the grader itself leaves a
results.json that says so.

Isolation: Gradescope runs ``run_autograder`` as root, and student code would run as root
too. The run makes the reference, the known mistakes, ``gradescope.toml`` and the
submission metadata readable by root only, and asks the sandbox (``autograder.sandbox``)
to run student code as ``sandbox_user`` (``nobody`` by default), in a world-readable copy
of the solution tree. That holds where landlock does not (a container may not offer it).
"""
import argparse
import html
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import time
import tomllib
import traceback
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from autograder import i18n
from autograder import results as R
from autograder.i18n import N_, _, pick, tr
from autograder.manifest import KIT_ROOT, ManifestError, load_manifest, validate_patches
from autograder.platforms.github import TORCH_CPU_INDEX
from autograder.sandbox import SANDBOX_USER_ENV

DEFAULT_ROOT = "/autograder"
ROOT_ENV = "AUTOGRADER_GRADESCOPE_ROOT"
CONFIG_NAME = "gradescope.toml"
ENV_FOLDER = "env"                   # setup.sh's virtual environment, beside source/
DEFAULT_USER = "nobody"
DEFAULT_VISIBILITY = "after_published"
VISIBILITIES = ("after_published", "after_due_date", "visible")
PUBLIC_TAG, HIDDEN_TAG = "public-seeds", "hidden-seeds"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)    # a fixed date: the same kit makes the same zip


# --- the configuration in the zip ---------------------------------------------------------

@dataclass(frozen=True)
class Config:
    """What ``gradescope.toml`` holds."""

    assignments: tuple
    seed: int                         # the hidden seed offset (never 0: 0 is the public seeds)
    sandbox_user: str = DEFAULT_USER  # "" runs student code as root (not recommended)
    visibility: str = DEFAULT_VISIBILITY  # when the graded (hidden-seed) tests are shown
    lang: str = "en"                  # the language of the results students read

    def text(self):
        ids = ", ".join(f'"{a}"' for a in self.assignments)
        return (f"# Written by `python -m autograder.platforms.gradescope build`. The run makes\n"
                f"# this file readable by root only: the seed offset is the hidden seeds.\n"
                f"assignments = [{ids}]\n"
                f"seed = {self.seed}\n"
                f'sandbox_user = "{self.sandbox_user}"\n'
                f'visibility = "{self.visibility}"\n'
                f'lang = "{self.lang}"\n')


def read_config(path):
    """The ``Config`` in ``path``; ManifestError (naming the file) when it is not valid."""
    where = Path(path).name
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ManifestError(f"{where}: file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{where}: invalid TOML: {error}") from None
    unknown = sorted(set(raw) - set(Config.__dataclass_fields__))
    assignments, seed = raw.get("assignments"), raw.get("seed")
    user = raw.get("sandbox_user", DEFAULT_USER)
    visibility = raw.get("visibility", DEFAULT_VISIBILITY)
    lang = raw.get("lang", "en")
    problems = [f"unknown field(s) {unknown}"] if unknown else []
    if not (isinstance(assignments, list) and assignments
            and all(isinstance(a, str) for a in assignments)):
        problems.append("assignments must list assignment ids")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed == 0:
        problems.append("seed must be a whole number other than 0")
    if not isinstance(user, str):
        problems.append("sandbox_user must be a user name")
    if visibility not in VISIBILITIES:
        problems.append(f"visibility must be one of {VISIBILITIES}")
    if lang not in i18n.LANGUAGES:
        problems.append(f"lang must be one of {i18n.LANGUAGES}")
    if problems:
        raise ManifestError(f"{where}: " + "; ".join(problems))
    return Config(tuple(assignments), seed, user, visibility, lang)


def chosen_language():
    """The language chosen for the zip: the one chosen explicitly (``--lang``, or
    ``AUTOGRADER_LANG``), else English. The build machine's locale does not count: what
    students read is written in the zip, not guessed from where it was built."""
    return i18n.explicit() or "en"


# --- the zip --------------------------------------------------------------------------

@dataclass
class Built:
    """What ``build_zip`` wrote."""

    path: Path
    config: Config
    files: list = field(default_factory=list)       # names inside the zip, sorted
    max_score: float = 0.0                           # every check's points (the maximum)
    not_evaluated: list = field(default_factory=list)  # "03_adam::adam_speed_cuda" (GPU checks)
    unearnable: float = 0.0                          # the points of those checks

    @property
    def size(self):
        return self.path.stat().st_size


def build_zip(out_path, assignments=None, seed=None, manifest=None, kit_root=KIT_ROOT,
              sandbox_user=DEFAULT_USER, visibility=DEFAULT_VISIBILITY, lang=None):
    """Write Gradescope's autograder zip for ``assignments`` (ids; default: all) to
    ``out_path`` and return a ``Built``. ``seed`` is the hidden seed offset (default: a
    random one); it is written into the zip's ``gradescope.toml``, never printed into a
    student's results. ``lang``: the language of the results (default:
    ``chosen_language()``)."""
    kit_root = Path(kit_root).resolve()
    manifest = manifest or load_manifest(kit_root / "assignments" / "manifest.toml")
    if isinstance(assignments, str):
        assignments = [a for a in assignments.split(",") if a]
    chosen = [manifest.assignment(a) for a in assignments] if assignments \
        else list(manifest.assignments)
    if seed is None:
        seed = secrets.randbelow(999_999) + 1
    lang = i18n.normalize(lang or chosen_language())
    if lang is None:
        raise ManifestError(f"lang must be one of {i18n.LANGUAGES}")
    config = Config(tuple(a.id for a in chosen), int(seed), sandbox_user, visibility, lang)
    if config.seed == 0:
        raise ManifestError("the hidden seed offset must not be 0 (0 is the public seeds)")
    if visibility not in VISIBILITIES:
        raise ManifestError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")
    reference = kit_root / "reference"
    for assignment in chosen:
        for needed in [assignment.id, *(other for other, _kind in assignment.uses)]:
            if not (reference / needed).is_dir():
                raise ManifestError(f"{assignment.id}: the reference solution "
                                    f"reference/{needed}/ is not in this kit")
        validate_patches(assignment, reference)
    entries = {"setup.sh": (setup_script(), 0o755),
               "run_autograder": (run_script(), 0o755),
               CONFIG_NAME: (config.text(), 0o644),
               "pyproject.toml": (_pyproject(kit_root), 0o644)}
    for path in _kit_files(kit_root, manifest):
        entries[path.relative_to(kit_root).as_posix()] = (path, 0o644)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            content, mode = entries[name]
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3  # Unix: unzip keeps the modes (run_autograder executable)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = content.read_bytes() if isinstance(content, Path) else content.encode()
            archive.writestr(info, data)
    os.replace(partial, out_path)
    gpu = [(a, c) for a in chosen for c in a.checks if c.device == "cuda"]
    return Built(out_path, config, sorted(entries), sum(c.points for a in chosen
                                                        for c in a.checks),
                 [f"{a.id}::{c.id}" for a, c in gpu], sum(c.points for _a, c in gpu))


def _kit_files(kit_root, manifest):
    """The kit's files the zip carries: the engine, the assignments' manifest, scenarios and
    known mistakes (not the recorded snapshots: the reference itself is in the zip), and the
    reference. Never tests, benchmarks, examples, the template or caches."""
    def kept(path):
        return path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"

    files = [p for p in sorted((kit_root / "autograder").rglob("*")) if kept(p)]
    files.append(Path(manifest.path))
    for assignment in manifest.assignments:
        files += [p for p in sorted(assignment.folder.iterdir()) if kept(p)
                  and p.name not in ("README.md", "snapshots.pt.gz",
                                     "equivalent_mutants.toml")]   # quotes solution lines
    files += [p for p in sorted((kit_root / "reference").rglob("*")) if kept(p)]
    return [p.resolve() for p in files]


def _pyproject(kit_root):
    from autograder.platforms.export import _pyproject as grading_project
    return grading_project(kit_root)


def _pinned(package):
    """``package==X.Y.Z`` for the installed version (a local tag such as ``+cu130`` left
    out: the CPU index serves ``+cpu``)."""
    return f"{package}=={metadata.version(package).split('+')[0]}"


def setup_script():
    """``setup.sh``: what Gradescope runs once, as root, to build the image."""
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. Written by
# `python -m autograder.platforms.gradescope build`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE=/autograder/source
ENV=/autograder/{ENV_FOLDER}

# Python 3.11 or newer: the image's python3 when it is new enough, else python3.11 from apt.
apt-get update
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PYTHON=python3
    apt-get install -y python3-venv
else
    apt-get install -y python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv "$ENV"
"$ENV/bin/python" -m pip install --no-cache-dir --upgrade pip

# CPU-only torch and torchvision, from PyTorch's own index: Gradescope has no GPU, and the
# default build from PyPI carries the CUDA libraries, gigabytes the image would hold for
# nothing. Pinned to the versions the kit was built and tested with.
"$ENV/bin/python" -m pip install --no-cache-dir --index-url {TORCH_CPU_INDEX} \\
    "{_pinned("torch")}" "{_pinned("torchvision")}"

# The kit and its other dependencies. Editable: it grades from $SOURCE, where the reference is.
"$ENV/bin/python" -m pip install --no-cache-dir -e "$SOURCE"

# Student code runs as the user gradescope.toml names (sandbox_user): it must exist.
SANDBOX_USER=$(sed -n 's/^sandbox_user = "\\(.*\\)"$/\\1/p' "$SOURCE/{CONFIG_NAME}")
if [ -n "$SANDBOX_USER" ]; then
    id -u "$SANDBOX_USER" >/dev/null
fi
"""


def run_script():
    """``run_autograder``: what Gradescope runs for every submission, as root."""
    return f"""#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in /autograder: it grades
# /autograder/submission and writes /autograder/results/results.json. Written by
# `python -m autograder.platforms.gradescope build`. {ROOT_ENV} replaces
# /autograder, to run it on a copy of that layout.
ROOT="${{{ROOT_ENV}:-{DEFAULT_ROOT}}}"
if [ -x "$ROOT/{ENV_FOLDER}/bin/python3" ]; then
    export PATH="$ROOT/{ENV_FOLDER}/bin:$PATH"
fi
cd "$ROOT/source" || exit 1
exec python3 -m autograder.platforms.gradescope run
"""


# --- the submission -------------------------------------------------------------------

@dataclass
class Staged:
    """The student's files, copied into a solution tree laid out like ``reference/``."""

    tree: Path
    files: dict = field(default_factory=dict)     # "03_adam/optimizers.py" -> where it was
    problems: list = field(default_factory=list)  # what the intake found, in words
    empty: bool = False

    def missing(self, assignment):
        return [name for name in assignment.files if f"{assignment.id}/{name}" not in self.files]


def stage(submission, manifest, tree):
    """Copy the student's files from ``submission`` into ``tree`` (see
    ``autograder.batch.intake``: any depth, only the files the manifest names, never from a
    folder such as ``reference/``); a lone ``.zip`` is read as the submission."""
    from autograder.batch import intake
    submission = Path(submission)
    entries = [p for p in submission.iterdir() if not p.name.startswith(".")] \
        if submission.is_dir() else []
    kind, source = "folder", submission
    if len(entries) == 1 and entries[0].is_file() and entries[0].suffix.lower() == ".zip":
        kind, source = "zip", entries[0]
    found = intake.Submission("submission", source, kind)
    if submission.is_dir():
        intake._stage(found, intake._wanted_files(manifest), Path(tree))
    else:
        Path(tree).mkdir(parents=True, exist_ok=True)
    empty = not submission.is_dir() or not any(p.is_file() for p in submission.rglob("*"))
    problems = [p for p in found.problems if p != _("empty submission")]
    return Staged(Path(tree), dict(found.files), problems, empty)


# --- isolation ------------------------------------------------------------------------

def protect(root, source, config_path):
    """Make what student code must not read root-only (the reference, the known mistakes,
    the configuration, Gradescope's submission metadata, which holds earlier results) and
    what its worker needs readable by anyone (the kit's package, the scenarios, and the way
    there). Returns what could not be changed."""
    problems = []

    def chmod(path, mode):
        try:
            os.chmod(path, mode)
        except OSError as error:
            problems.append(f"chmod {oct(mode)} {path}: {error}")

    def tree(path, directory_mode, file_mode):
        if not path.exists():
            return
        chmod(path, directory_mode if path.is_dir() else file_mode)
        for inner in path.rglob("*") if path.is_dir() else ():
            if not inner.is_symlink():
                chmod(inner, directory_mode if inner.is_dir() else file_mode)

    for folder in (root, source):
        if folder.is_dir():
            chmod(folder, stat.S_IMODE(folder.stat().st_mode) | 0o711)
    for readable in (source / "autograder", source / "assignments"):
        tree(readable, 0o755, 0o644)
    results = root / "results"
    if results.is_dir():
        chmod(results, 0o755)   # nobody else may plant a results file there
    tree(source / "reference", 0o700, 0o600)
    for secret in [config_path, root / "submission_metadata.json",
                   *sorted((source / "assignments").glob("*/mistakes*.toml"))]:
        tree(Path(secret), 0o700, 0o600)
    return problems


def _readable_by_anyone(folder):
    for path in [folder, *Path(folder).rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


# --- one run --------------------------------------------------------------------------

def run(root=None):
    """Grade ``ROOT/submission`` and write ``ROOT/results/results.json``; the exit status."""
    from autograder.signals import signal_name, stop_on_sigterm
    started = time.monotonic()
    root = Path(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT).resolve()
    results_path = root / "results" / "results.json"
    speak_the_zips_language(root / "source" / CONFIG_NAME)
    _write_notes(results_path, _("Grading of your submission started but did not finish: "
                                 "this is not a grade."))
    stop_on_sigterm()
    try:
        data = _run(root, started)
    except KeyboardInterrupt as stop:
        _write_notes(results_path, tr("Grading was stopped by {signal} before it finished: "
                                      "this is not a grade.", signal=signal_name(stop)))
        return 143 if signal_name(stop) == "SIGTERM" else 130
    except Exception as error:  # the kit's fault: still a results file that parses, saying so
        traceback.print_exc()
        _write_notes(results_path,
                     tr("The grader itself failed before grading: {message}",
                        message=type(error).__name__ + ": " + str(error)),
                     _("This is not the student's fault."))
        return 1
    R.write_json(data, results_path)
    maximum = sum(t["max_score"] for t in data["tests"] if HIDDEN_TAG in t["tags"])
    print("\n" + tr("wrote {path}: {score} of {maximum} points (hidden seeds)",
                    path=results_path, score=format(data["score"], "g"),
                    maximum=format(maximum, "g")))
    return 0


def speak_the_zips_language(config_path):
    """Use the language ``gradescope.toml`` names (English if it names none) for this run and
    its workers, whatever Gradescope's locale. A configuration that cannot be read changes
    nothing here: the run then fails, saying why."""
    try:
        lang = tomllib.loads(Path(config_path).read_text()).get("lang", "en")
        i18n.set_language(lang if isinstance(lang, str) else "en")
    except (OSError, ValueError):
        pass


def _write_notes(path, *notes):
    """A results.json with no test, whose output says ``notes``: the run did not grade."""
    R.write_results(R.Report(notes=list(notes)), path)


def _run(root, started):
    source = root / "source"
    config = read_config(source / CONFIG_NAME)   # (its language is in use: run())
    manifest = load_manifest(source / "assignments" / "manifest.toml")
    assignments = [manifest.assignment(a) for a in config.assignments]
    for problem in protect(root, source, source / CONFIG_NAME):
        print(tr("warning: {problem}", problem=problem), file=sys.stderr)
    if config.sandbox_user:
        os.environ.setdefault(SANDBOX_USER_ENV, config.sandbox_user)
    workspace = Path(tempfile.mkdtemp(prefix="autograder-gradescope-"))
    try:
        staged = stage(root / "submission", manifest, workspace / "tree")
        _readable_by_anyone(workspace)  # the student's worker may run as another user
        files = ", ".join(tr("{file} (from {where})", file=key, where=where)
                          for key, where in sorted(staged.files.items()))
        print(tr("graded files: {files}", files=files or _("none")))
        for problem in staged.problems:
            print(tr("intake: {problem}", problem=problem))
        outcomes = [_grade_assignment(a, staged, source, config, manifest) for a in assignments]
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return render(outcomes, staged, config, time.monotonic() - started)


@dataclass
class Graded:
    """One assignment: its public-seed and hidden-seed reports, or the files it lacks."""

    assignment: object
    public: R.Report = None
    hidden: R.Report = None
    missing: list = field(default_factory=list)   # file names the submission does not hold


_SEEDS = {"public": N_("public seeds"), "hidden": N_("hidden seeds")}


def _grade_assignment(assignment, staged, source, config, manifest):
    from autograder.grading import grade
    missing = staged.missing(assignment)
    if len(missing) == len(assignment.files):
        return Graded(assignment, missing=missing)
    reports = {}
    for name, offset in (("public", 0), ("hidden", config.seed)):
        seeds = _(_SEEDS[name])
        report = R.Report(solution=tr("the submission ({seeds})", seeds=seeds))
        grade(assignment.id, staged.tree, manifest=manifest, reference_root=source / "reference",
              seed_offset=offset, report=report)
        reports[name] = report
        print(f"\n{assignment.id}, {seeds}: {report.sandbox}\n{report.format_table()}")
    return Graded(assignment, reports["public"], reports["hidden"], missing)


# --- results.json ---------------------------------------------------------------------

def render(outcomes, staged, config, seconds):
    """Gradescope's results.json structure for the graded assignments, in the language in
    use (``run`` uses the one ``gradescope.toml`` names)."""
    tests, leaderboard, lines, sandbox = [], [], [], ""
    score = 0.0
    if staged.empty:
        lines.append(_("Your submission is empty: no file was uploaded, so nothing could be "
                       "graded."))
    for outcome in outcomes:
        assignment = outcome.assignment
        message = missing_message(assignment, outcome.missing) if outcome.missing else ""
        if message:
            lines.append(message)
        public, hidden = outcome.public, outcome.hidden
        if hidden is None:
            public = hidden = _not_submitted(assignment, message)
        else:
            sandbox = sandbox or hidden.sandbox
            lines.extend(_summary(assignment, public))
        tests += [_test(r, PUBLIC_TAG, "visible") for r in public.results]
        tests += [_test(r, HIDDEN_TAG, config.visibility) for r in hidden.results]
        score += hidden.score
        leaderboard += _leaderboard(assignment, hidden, public)
    lines += [tr("Note: {problem}.", problem=problem) for problem in staged.problems]
    lines.append(_scheme(config.visibility))
    for test in tests:  # paths inside the temporary tree read as the student's own
        test["output"] = _relative(test["output"], staged.tree)
    lines = [_relative(line, staged.tree) for line in lines]
    data = {"score": score, "execution_time": round(seconds),
            "output": html.escape("\n\n".join(lines), quote=False),
            "output_format": "simple_format", "test_output_format": "text",
            "test_name_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
            "tests": tests}
    if leaderboard:
        data["leaderboard"] = leaderboard
    if sandbox:
        data["extra_data"] = {"sandbox": sandbox}
    return data


def missing_message(assignment, missing):
    names = pick(" and ", "、").join(missing)
    if len(missing) == 1:
        return tr("{assignment}: {names} is missing from your submission (looked at the top "
                  "level and in {assignment}/, also inside any folder of your submission)",
                  assignment=assignment.id, names=names)
    return tr("{assignment}: {names} are missing from your submission (looked at the top "
              "level and in {assignment}/, also inside any folder of your submission)",
              assignment=assignment.id, names=names)


def _not_submitted(assignment, message):
    """Every check of an assignment whose files are all missing: 0 points, saying why."""
    from autograder.feedback import title_of
    from autograder.grading import cuda_available
    cuda = cuda_available()
    report = R.Report(solution=_("the submission"))
    for check in assignment.checks:
        if check.device == "cuda" and not cuda:
            status, reason = R.NOT_EVALUATED, _("not evaluated (no CUDA device)")
        else:
            status, reason = R.LOAD_ERROR, tr("not graded: {message}", message=message)
        report.add(R.CheckResult(assignment=assignment.id, check=check.id,
                                 title=title_of(check), max_points=check.points,
                                 status=status, reason=reason))
    return report


def _test(result, tag, visibility):
    """One Gradescope test for ``result``: public seeds are feedback worth 0 of 0, hidden
    seeds carry the points."""
    test = result.to_gradescope()
    if result.status == R.NOT_EVALUATED and "CUDA" in result.reason:
        test["output"] = tr("[{label}] not evaluated: needs CUDA (the Gradescope machine has no "
                            "GPU). This check did not run, so it is not marked as passed and "
                            "scores nothing here; its points count where a GPU grades it.",
                            label=result.label)
    if tag == PUBLIC_TAG:
        test.update(score=0, max_score=0)
        test["name"] = tr("{name} (public seeds: feedback, no points)", name=test["name"])
    else:
        test["name"] = tr("{name} (hidden seeds: graded)", name=test["name"])
    test["tags"] = [*test["tags"], tag]
    test["visibility"] = visibility
    return test


def _summary(assignment, public):
    """What the top-level output says about one graded assignment (public seeds only: the
    hidden-seed score shows when those tests do)."""
    counted = [r for r in public.results if r.counts]
    failing = [r.check for r in counted if r.status != R.PASSED]
    points = dict(assignment=assignment.id, score=f"{public.score:g}",
                  maximum=f"{public.max_score:g}")
    if not failing:
        lines = [tr("{assignment}: {score}/{maximum} on the public seeds; every check passes.",
                    **points)]
    else:
        lines = [tr("{assignment}: {score}/{maximum} on the public seeds; not passing yet: "
                    "{checks} (see each test below).", checks=", ".join(failing), **points)]
    unloaded = [r for r in counted if r.status == R.LOAD_ERROR]
    if unloaded:
        where = [text for text in str(unloaded[0].feedback).splitlines() if "line " in text]
        problem = unloaded[0].reason + (f" ({where[-1].strip()})" if where else "")
        lines.append(tr("{assignment}: {problem}: no check that uses it could run.",
                        assignment=assignment.id, problem=problem))
    broken = [r.check for r in public.results if r.status == R.GRADER_ERROR]
    if broken:
        lines.append(tr("{assignment}: the grader itself failed on {checks}: this is not your "
                        "fault; tell your instructor.", assignment=assignment.id,
                        checks=", ".join(broken)))
    skipped = [r.check for r in public.results if r.status == R.NOT_EVALUATED]
    if skipped:
        lines.append(tr("{assignment}: {checks} need a GPU and are not evaluated here (no GPU): "
                        "their points stay in the maximum, and are graded where a GPU is.",
                        assignment=assignment.id, checks=", ".join(skipped)))
    return lines


def _relative(text, tree):
    """``text`` with every path into the temporary tree (absolute, or relative to a worker's
    scratch folder) written from the tree: ``03_adam/optimizers.py``."""
    tree = Path(tree)
    inside = re.escape(f"{tree.parent.name}/{tree.name}/")
    return re.sub(r"[^\s\"'(]*" + inside, "", text)


def _leaderboard(assignment, hidden, public):
    """The time ratio to the reference of each speed check that measured one (hidden seeds
    first), lower is better."""
    entries = []
    for check in assignment.checks:
        if check.kind != "speed":
            continue
        ratios = [r.ratio for report in (hidden, public) for r in report.results
                  if r.check == check.id and r.ratio is not None]
        if ratios:
            entries.append({"name": tr("{assignment} {check} (time / reference)",
                                       assignment=assignment.id, check=check.id),
                            "value": round(float(ratios[0]), 3), "order": "asc"})
    return entries


_SHOWN = {"after_published": N_("when your instructor publishes the grades"),
          "after_due_date": N_("after the due date"),
          "visible": N_("at once")}


def _scheme(visibility):
    return tr("How this is graded: every check runs twice. The tests marked \"public seeds\" use "
              "the seeds of your own copy of the checks: they are feedback and carry no points. "
              "Your grade comes from the same checks on hidden seeds (the tests marked \"hidden "
              "seeds\"); they and your score are shown {when}.", when=_(_SHOWN[visibility]))


# --- command line ---------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m autograder.platforms.gradescope",
        description="Build Gradescope's autograder zip, or grade a submission on Gradescope.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the autograder zip to upload")
    build.add_argument("out", help="the zip to write, e.g. autograder.zip")
    build.add_argument("--assignments", help="comma-separated assignment ids (default: all)")
    build.add_argument("--seed", type=int, help="the hidden seed offset (default: a random one)")
    build.add_argument("--sandbox-user", default=DEFAULT_USER,
                       help=f"the user student code runs as (default: {DEFAULT_USER}; '' for "
                            f"root, not recommended)")
    build.add_argument("--visibility", default=DEFAULT_VISIBILITY, choices=VISIBILITIES,
                       help="when students see the graded (hidden-seed) tests and their score")
    build.add_argument("--lang", help="the language of the results students read: en or ja "
                                      "(default: the kit's --lang or AUTOGRADER_LANG, else en; "
                                      "never the locale)")
    running = commands.add_parser("run", help="grade the submission (what run_autograder calls)")
    running.add_argument("--root", help=f"Gradescope's folder (default: ${ROOT_ENV} or "
                                        f"{DEFAULT_ROOT})")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.root)
    if args.lang:
        try:
            i18n.set_language(args.lang)
        except ValueError as error:
            print(f"error: --lang: {error}", file=sys.stderr)
            return 2
    try:
        built = build_zip(args.out, args.assignments, args.seed, sandbox_user=args.sandbox_user,
                          visibility=args.visibility, lang=chosen_language())
    except ManifestError as error:
        print(tr("error: {error}", error=error), file=sys.stderr)
        return 2
    print(summary_of(built))
    return 0


_LANGUAGE_NAMES = {"en": N_("English"), "ja": N_("Japanese")}


def summary_of(built):
    """What ``build`` prints for the instructor."""
    config = built.config
    lines = [tr("wrote {path} ({count} files, {size} MB) for {assignments}", path=built.path,
                count=len(built.files), size=format(built.size / 1e6, ".2f"),
                assignments=", ".join(config.assignments)),
             tr("hidden seed offset {seed} (in {file}); student code runs as {user}; graded "
                "tests shown {visibility}", seed=config.seed, file=CONFIG_NAME,
                user=config.sandbox_user or "root",
                visibility=config.visibility.replace("_", " ")),
             tr("students read their results in {language} (lang = \"{lang}\" in {file})",
                language=_(_LANGUAGE_NAMES[config.lang]), lang=config.lang, file=CONFIG_NAME),
             tr("the maximum is {points} points (every check, as on every machine): enter that "
                "as the assignment's autograder points", points=format(built.max_score, "g"))]
    if built.not_evaluated:
        lines.append(tr("not evaluated on Gradescope (no GPU), so {points} of those points "
                        "cannot be earned there: {checks}", points=format(built.unearnable, "g"),
                        checks=", ".join(built.not_evaluated)))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
