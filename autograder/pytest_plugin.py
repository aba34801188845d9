"""pytest plugin: ``pytest assignments/03_adam`` grades a solution and prints a points table.

Each assignment folder's ``scenarios.py`` is collected as the assignment; its
checks (from the manifest) become test items. One ``Grader`` per assignment is
created at its first item and reused by every check, so the worker imports
torch once per run. At the end the plugin prints the points table and, when
asked, writes a Gradescope ``results.json``.

Settings are resolved in one place, in the order command line, environment,
ini file, default:

    --solution TREE      AUTOGRADER_SOLUTION   autograder_solution   template
    --results FILE       AUTOGRADER_RESULTS    autograder_results    (none)
    --grade-seed N       AUTOGRADER_SEED       autograder_seed       0
    --in-process         AUTOGRADER_IN_PROCESS autograder_in_process off
    --lang en|ja         AUTOGRADER_LANG       autograder_lang       the locale's
"""
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SOLUTION_HELP = ("solution tree to grade: a folder laid out like reference/, or 'reference' "
                 "or 'template' (default: template, i.e. student_template/)")
RESULTS_HELP = "also write the results as a Gradescope results.json to this file"
SEED_HELP = "offset added to every check's seed (the same offset reproduces a run)"
LANG_HELP = ("language of the points table and the feedback: en or ja (default: the "
             "locale's, Japanese where it is Japanese)")
IN_PROCESS_HELP = ("debug: run the solution in the pytest process instead of a worker, so "
                   "--pdb stops inside your code (no timeouts, no isolation)")

_SETTINGS = [  # name, option, environment variable, default
    ("solution", "--solution", "AUTOGRADER_SOLUTION", "template"),
    ("results", "--results", "AUTOGRADER_RESULTS", None),
    ("seed", "--grade-seed", "AUTOGRADER_SEED", "0"),
    ("in_process", "--in-process", "AUTOGRADER_IN_PROCESS", False),
    ("lang", "--lang", "AUTOGRADER_LANG", ""),
]
_STATE = pytest.StashKey()
_ITEMS = pytest.StashKey()


@dataclass
class Settings:
    solution: Path
    results: str
    seed: int
    in_process: bool
    lang: str = "en"


class CheckFailed(Exception):
    """Raised by a check item that did not pass; carries its ``CheckResult``."""

    def __init__(self, result):
        super().__init__(result.reason)
        self.result = result


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "grading of assignments")
    group.addoption("--solution", dest="autograder_solution", help=SOLUTION_HELP)
    group.addoption("--results", dest="autograder_results", help=RESULTS_HELP)
    group.addoption("--grade-seed", dest="autograder_seed", help=SEED_HELP)
    group.addoption("--in-process", dest="autograder_in_process", action="store_true",
                    default=None, help=IN_PROCESS_HELP)
    group.addoption("--lang", dest="autograder_lang", help=LANG_HELP)
    for name, _, _, default in _SETTINGS:
        parser.addini(f"autograder_{name}", help=f"default for autograder {name}",
                      default=default)


def pytest_configure(config):
    from autograder.signals import stop_on_sigterm
    state = _SessionState(resolve_settings(config))
    config.stash[_STATE] = state
    _INTERRUPTS.clear()
    stop_on_sigterm()  # a CI timeout's SIGTERM ends the run like Ctrl-C: workers killed
    if state.settings.results and not config.option.collectonly:
        from autograder.results import write_in_progress
        write_in_progress(state.settings.results, f"the solution {state.settings.solution}")


def pytest_report_header(config):
    from autograder.sandbox import detect
    settings = config.stash[_STATE].settings
    from autograder.i18n import _, tr
    if settings.in_process:
        mode = _("in this process (debug: no sandbox)")
    else:
        support = detect()
        mode = tr("in a worker process, confined by {layers}",
                  layers=", ".join(support.layers))
    lines = [tr("autograder: solution {solution}, seed offset {seed}, solution code runs "
                "{mode}", solution=settings.solution, seed=settings.seed, mode=mode)]
    warning = "" if settings.in_process else detect().warning()
    return lines + ([warning] if warning else [])


def pytest_keyboard_interrupt(excinfo):
    from autograder.signals import signal_name
    _INTERRUPTS.append(signal_name(excinfo.value))


_INTERRUPTS = []


def pytest_sessionfinish(session, exitstatus):
    """An interrupted run (Ctrl-C, SIGTERM) kills the workers at once."""
    state = session.config.stash.get(_STATE, None)
    if state is not None and exitstatus == pytest.ExitCode.INTERRUPTED:
        if _INTERRUPTS:
            state.interrupted_by = _INTERRUPTS[-1]
        state.abort()


def pytest_collect_file(file_path, parent):
    if file_path.name == "scenarios.py" and (file_path.parent.parent / "manifest.toml").is_file():
        return AssignmentFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """``-k`` selects checks by their names. pytest would also match the folder's name, so
    ``-k adam`` in ``03_adam`` would select every check: when a session holds only checks,
    the plugin applies the expression to the check ids alone (substrings, any case, with
    ``and``, ``or``, ``not`` and parentheses, as pytest reads them) and keeps pytest from
    applying it again."""
    expression = config.option.keyword
    if not expression or not items or not all(isinstance(i, CheckItem) for i in items):
        return
    try:
        from _pytest.mark.expression import Expression
    except ImportError:  # a pytest without it: leave -k to pytest
        return
    try:
        compiled = Expression.compile(expression)
    except Exception:  # a syntax error: pytest reports it itself
        return
    kept, dropped = [], []
    for item in items:
        name = item.check.id.lower()
        matched = compiled.evaluate(lambda word, *_, **__: word.lower() in name)
        (kept if matched else dropped).append(item)
    config.option.keyword = ""
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_collection_finish(session):
    """Start the workers of every assignment about to be graded, so torch imports overlap."""
    session.config.stash[_ITEMS] = [i for i in session.items if isinstance(i, CheckItem)]
    state = session.config.stash[_STATE]
    assignments = {i.assignment.id: i.assignment for i in session.config.stash[_ITEMS]}
    state.report.expected_checks = sum(len(a.checks) for a in assignments.values())
    if session.config.option.collectonly:
        return
    for item in session.items:
        if isinstance(item, CheckItem):
            state.grader(item.assignment)


class AssignmentFile(pytest.File):
    """An assignment folder's scenarios.py: yields one item per check in the manifest."""

    def collect(self):
        state = self.config.stash[_STATE]
        assignment = state.assignment(self.path.parent.parent / "manifest.toml",
                                      self.path.parent.name)
        for check in assignment.checks:
            yield CheckItem.from_parent(self, name=check.id, assignment=assignment, check=check)


class CheckItem(pytest.Item):
    """One graded check."""

    def __init__(self, *, assignment, check, **kwargs):
        super().__init__(**kwargs)
        self.assignment, self.check = assignment, check

    def runtest(self):
        state = self.config.stash[_STATE]
        grader = state.grader(self.assignment)
        try:
            result = grader.run_check(self.check)
        finally:
            recorded = grader.result_of(self.check)
            if recorded is not None:
                state.record(recorded)
        if result.stdout.strip() and result.status == "passed" \
                and self.config.getoption("capture") == "no":
            # -s: what the code printed, for a check that passed too (a failed check's
            # report always shows it)
            from autograder.i18n import tr
            sys.stdout.write("\n" + tr("--- {check}: your code printed ---",
                                        check=f"{self.assignment.id}::{self.check.id}")
                             + f"\n{result.stdout.rstrip()}\n")
        if result.status in ("not_evaluated", "instructor"):
            pytest.skip(result.reason)
        if result.status != "passed":
            raise CheckFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            result = excinfo.value.result
            from autograder.i18n import tr
            return (tr("[{label}] {points}/{maximum} points — {reason}", label=result.label,
                       points=f"{result.points:g}", maximum=f"{result.max_points:g}",
                       reason=result.reason) + f"\n\n{result.full_text()}")
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.assignment.id}::{self.check.id} ({self.check.points:g} pts)"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    if state.report.results and exitstatus != pytest.ExitCode.INTERRUPTED:
        state.reconsider()
    if state.report.results:
        from autograder.i18n import _
        terminalreporter.section(_("points"))
        from autograder.results import terminal_columns
        terminalreporter.write_line(state.report.format_table(terminal_columns()))
    if state.settings.results:
        from autograder.results import write_grader_failure, write_interrupted, write_results
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            total = len(terminalreporter.config.stash.get(_ITEMS, []))
            write_interrupted(state.report, state.settings.results, state.interrupted_by, total)
        elif state.report.results:
            write_results(state.report, state.settings.results)
        else:  # nothing was graded (a collection error, say): the file must still parse
            write_grader_failure(state.settings.results, f"no check ran (pytest exit status "
                                                         f"{int(exitstatus)})")
        from autograder.i18n import tr
        terminalreporter.write_line(tr("results written to {path}",
                                       path=state.settings.results))


def pytest_unconfigure(config):
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.close()
        # Nothing made from here on needs collecting: skipping the final collection of
        # torch's many objects makes the interpreter exit a third of a second sooner.
        import gc
        gc.freeze()


def resolve_settings(config):
    """Each setting from the command line, else the environment, else the ini file, else default."""
    values = {}
    for name, option, variable, default in _SETTINGS:
        value = config.getoption(f"autograder_{name}")
        where = option
        if value is None and os.environ.get(variable, "") != "":
            value, where = os.environ[variable], f"environment variable {variable}"
        if value is None:
            value, where = config.getini(f"autograder_{name}"), f"ini option autograder_{name}"
        values[name] = (value, where)
    return Settings(solution=_validate_solution(*values["solution"]),
                    results=values["results"][0] or None,
                    seed=_validate_seed(*values["seed"]),
                    in_process=_validate_flag(*values["in_process"]),
                    lang=_validate_lang(*values["lang"]))


def _validate_lang(value, where):
    """The language (set for this process and its workers); the locale's when not given."""
    from autograder.i18n import language, set_language
    if not str(value or "").strip():
        return language()
    try:
        return set_language(value)
    except ValueError as error:
        raise pytest.UsageError(f"{where}: {error}") from None


def _validate_solution(value, where):
    from autograder.manifest import resolve_solution
    path = resolve_solution(str(value))
    if not path.is_dir():
        raise pytest.UsageError(f"{where}: solution tree {value!r} is not a folder")
    return path


def _validate_seed(value, where):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{where}: seed must be an integer, got {value!r}") from None


def _validate_flag(value, where):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise pytest.UsageError(f"{where}: expected a yes/no value, got {value!r}")


class _SessionState:
    """Graders and the combined report of one pytest session."""

    def __init__(self, settings):
        from autograder.results import Report
        self.settings = settings
        self.report = Report(solution=str(settings.solution))
        self._manifests, self._graders, self._references = {}, {}, {}
        self.interrupted_by = "SIGINT (Ctrl-C)"

    def assignment(self, manifest_path, assignment_id):
        from autograder.manifest import load_manifest
        if manifest_path not in self._manifests:
            self._manifests[manifest_path] = load_manifest(manifest_path)
        return self._manifests[manifest_path].assignment(assignment_id)

    def grader(self, assignment):
        from autograder.grading import Grader, reference_side_for
        if assignment.id not in self._graders:
            reference = reference_side_for(assignment, seed_offset=self.settings.seed,
                                           in_process=self.settings.in_process)
            self._references[assignment.id] = reference
            self._graders[assignment.id] = Grader(
                assignment, self.settings.solution, reference,
                in_process=self.settings.in_process, seed_offset=self.settings.seed)
        return self._graders[assignment.id]

    def record(self, result):
        if result not in self.report.results:
            self.report.add(result)
        grader = self._graders.get(result.assignment)
        if grader is not None and not self.report.sandbox:
            self.report.sandbox = grader.sandbox_summary()

    def reconsider(self):
        """Before the table: the named mistakes, checked against every check that ran."""
        for assignment_id, grader in self._graders.items():
            grader.reconsider([r for r in self.report.results
                               if r.assignment == assignment_id])

    def abort(self):
        for side in list(self._graders.values()) + list(self._references.values()):
            side.abort()

    def close(self):
        for closable in list(self._graders.values()) + list(self._references.values()):
            closable.close()
