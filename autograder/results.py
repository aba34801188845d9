"""Points and results: one ``CheckResult`` per check, gathered in a ``Report``.

Statuses say who is responsible:

- passed;
- the student's code: failed (wrong result), error (raised), not_implemented,
  timeout, forbidden (called a forbidden API), load_error (missing file,
  syntax or import error);
- not_evaluated: the check could not run here (a GPU check without CUDA);
- instructor: only the instructor's run grades it (a student's repository has no
  reference for it);
- grader_error: the kit itself failed; the student is not to blame.

The maximum is the same on every machine: every check of what was graded, whether it
could run here or not. A check that did not run scores nothing here and says why; the
total says how many points were not evaluated (a GPU check counts where a GPU grades it).

A report renders as the points table and as Gradescope's ``results.json``.
"""
import json
import os
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field

from autograder.i18n import _, tr

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
NOT_IMPLEMENTED = "not_implemented"
TIMEOUT = "timeout"
FORBIDDEN = "forbidden"
LOAD_ERROR = "load_error"
NOT_EVALUATED = "not_evaluated"
INSTRUCTOR = "instructor"   # graded by the instructor's run, not here (no reference here)
GRADER_ERROR = "grader_error"

STUDENT_FAULTS = (FAILED, ERROR, NOT_IMPLEMENTED, TIMEOUT, FORBIDDEN, LOAD_ERROR)

_LABELS = {PASSED: "PASS", FAILED: "FAIL", ERROR: "ERROR", NOT_IMPLEMENTED: "TODO",
           TIMEOUT: "TIMEOUT", FORBIDDEN: "FORBIDDEN", LOAD_ERROR: "NO IMPORT",
           NOT_EVALUATED: "N/A", INSTRUCTOR: "LATER", GRADER_ERROR: "KIT ERROR"}


@dataclass
class CheckResult:
    """The outcome of one check, with a one-line reason and the full feedback."""

    assignment: str
    check: str
    title: str
    max_points: float
    status: str
    points: float = 0.0
    reason: str = ""
    feedback: str = ""
    stdout: str = ""
    seconds: float = 0.0
    diagnosis: list = field(default_factory=list)   # ids of known mistakes recognised
    ratio: float = None   # a speed check: the median time ratio to the reference

    @property
    def counts(self):
        return self.status not in (NOT_EVALUATED, INSTRUCTOR)

    @property
    def label(self):
        return _LABELS.get(self.status, self.status.upper())

    def full_text(self):
        """The feedback plus what the student's code printed."""
        parts = [str(self.feedback or self.reason)]
        if str(self.stdout).strip():
            parts.append(_("Your code printed:") + "\n" + _indent(str(self.stdout).rstrip()))
        return "\n\n".join(p for p in parts if p)

    def to_gradescope(self):
        """One test of Gradescope's results.json.

        Its ``status`` is "passed" only for a check that passed; Gradescope knows no other
        status than "failed", so the kit's own status (``not_evaluated``, ``timeout``, ...)
        is in ``extra_data`` and the tags. A check that did not run here (no CUDA device, or
        graded by the instructor) scores 0 of its points, as everywhere (the maximum is the
        same on every machine), and its output says it did not run.
        """
        head, text = f"[{self.label}] {self.reason}", self.full_text()
        if not self.counts:
            head += "\n\n" + _("This check did not run here, so it is not marked as passed "
                               "and scores nothing here; its points count where it can run.")
        output = head if text.strip() == str(self.reason).strip() else f"{head}\n\n{text}"
        return {
            "name": f"{self.assignment}::{self.check} — {self.title}",
            "score": self.points if self.counts else 0,
            "max_score": self.max_points,
            "status": "passed" if self.status == PASSED else "failed",
            "output": output,
            "tags": [self.assignment, self.status],
            "visibility": "visible",
            "extra_data": {"status": self.status},
        }


@dataclass
class Report:
    """All check results of one grading run."""

    solution: str = ""
    results: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    sandbox: str = ""     # how the student's code was confined in this run
    expected_checks: int = 0  # the checks a complete run grades (0: the ones it holds)

    def add(self, result):
        self.results.append(result)

    @property
    def score(self):
        return sum(r.points for r in self.results if r.counts)

    @property
    def max_score(self):
        """Every check's points, evaluated here or not: the same on every machine."""
        return sum(r.max_points for r in self.results)

    @property
    def evaluated_max(self):
        """The points of the checks that ran here."""
        return sum(r.max_points for r in self.results if r.counts)

    @property
    def partial(self):
        """Whether this run graded only some of the checks (selected, or stopped early)."""
        return bool(self.expected_checks) and len(self.results) < self.expected_checks

    @property
    def not_evaluated(self):
        return [r for r in self.results if not r.counts]

    def format_table(self, width=100):
        """The points table: a row per check, the total, then what was not evaluated.
        ``width``: the terminal's columns (reasons are cut to fit); None when the output is
        not a terminal (a log or a file): reasons are then never cut."""
        name_width = min(44, max([len(f"{r.assignment}::{r.check}") for r in self.results]
                                 + [5]))
        if width is None:
            width, reason_width = 100, 10_000
        else:
            width = max(60, width)
            reason_width = max(20, width - name_width - 26)
        check, points, status, reason = _("check"), _("points"), _("status"), _("reason")
        lines = [f"{_pad(check, name_width)}  {_pad(points, 11, right=True)}  "
                 f"{_pad(status, 9)}  {reason}",
                 "-" * min(width, name_width + 26 + reason_width)]
        for r in self.results:
            points = f"{_num(r.points)}/{_num(r.max_points)}" if r.counts else f"-/{_num(r.max_points)}"
            lines.append(f"{r.assignment + '::' + r.check:<{name_width}}  {points:>11}  "
                         f"{r.label:<9}  {_clip(r.reason, reason_width)}")
        lines.append("-" * min(width, name_width + 26 + reason_width))
        total = f"{_num(self.score)}/{_num(self.max_score)}"
        if self.partial:
            tail = tr("partial: {run} of {checks} checks run, not a grade",
                      run=len(self.results), checks=self.expected_checks)
        elif self.max_score - self.evaluated_max:
            tail = tr("({points} points not evaluated here)",
                      points=_num(self.max_score - self.evaluated_max))
        else:
            tail = f"{100.0 * self.score / self.max_score if self.max_score else 0.0:.0f}%"
        label = _("TOTAL")
        lines.append(f"{_pad(label, name_width)}  {total:>11}  {tail}")
        skipped = [r for r in self.results if r.status == NOT_EVALUATED]
        if skipped:
            points = sum(r.max_points for r in skipped)
            lines.append(tr("Not evaluated here ({count} check(s), {points} points): {checks}. "
                            "They stay in the maximum, which is the same on every machine: they "
                            "are graded where they can run.", count=len(skipped),
                            points=_num(points),
                            checks="; ".join(f"{r.check}: {r.reason}" for r in skipped)))
        later = [r for r in self.results if r.status == INSTRUCTOR]
        if later:
            points = sum(r.max_points for r in later)
            lines.append(tr("Graded by your instructor ({count} check(s), {points} points, in "
                            "the maximum but not graded here): {checks}", count=len(later),
                            points=_num(points), checks=", ".join(r.check for r in later)))
        grader = [r for r in self.results if r.status == GRADER_ERROR]
        if grader:
            lines.append(tr("The grader itself failed on {count} check(s): this is not your "
                            "fault; tell your instructor.", count=len(grader)))
        return "\n".join(lines)

    def to_gradescope(self):
        """Gradescope's results.json structure (a test per check, see
        ``CheckResult.to_gradescope``)."""
        tests = [r.to_gradescope() for r in self.results]
        summary = [tr("Solution graded: {solution}", solution=self.solution)] + self.notes
        if self.partial:
            summary.append(tr("Partial run: {run} of {checks} checks were graded, so this is "
                              "not a grade.", run=len(self.results),
                              checks=self.expected_checks))
        if self.sandbox:
            summary.append(self.sandbox)
        return {"score": self.score, "max_score": self.max_score,
                "output": "\n".join(summary), "tests": tests, "visibility": "visible"}

    def to_dict(self):
        return {"solution": self.solution, "notes": self.notes,
                "results": [asdict(r) for r in self.results]}


def write_in_progress(path, what):
    """A results file that parses while grading runs: if the run is killed before it ends,
    this is what it leaves, and it says it is not a grade."""
    write_results(Report(notes=[f"Grading of {what} started but did not finish: this is "
                                f"not a grade."]), path)


def write_interrupted(report, path, signal_name, total):
    """The checks graded before an interruption, and a note that says it is not final."""
    report.notes.append(f"Grading was interrupted by {signal_name} after {len(report.results)} "
                        f"of {total} checks: this is not a final grade.")
    write_results(report, path)


def write_grader_failure(path, message):
    """A results file for a run that could not grade at all: the kit's fault, said plainly."""
    report = Report(notes=[f"The grader itself failed before grading: {message}",
                           "This is not the student's fault."])
    write_results(report, path)


def write_results(report, path):
    """Write ``results.json`` atomically; it always parses, even if the report is odd."""
    write_json(report.to_gradescope(), path)


def write_json(data, path):
    """Write a results.json structure atomically; the file always parses, even if ``data``
    cannot be written as JSON."""
    try:
        text = json.dumps(data, indent=2, default=str)
    except Exception as error:  # never leave a broken file behind
        text = json.dumps({"score": 0, "output": f"the grader could not write results: {error}",
                           "tests": []})
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".results-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def _num(value):
    return f"{value:g}"


def terminal_columns():
    """The width of the terminal the table goes to: ``COLUMNS`` when set, else the
    terminal's own; None when the output is not a terminal."""
    import shutil
    import sys
    if os.environ.get("COLUMNS", "").strip().isdigit():
        return int(os.environ["COLUMNS"])
    try:
        if sys.__stdout__ is not None and sys.__stdout__.isatty():
            return shutil.get_terminal_size().columns
    except (OSError, ValueError):
        pass
    return None


def _columns(text):
    """How many terminal columns ``text`` takes (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text, width, right=False):
    space = " " * max(0, width - _columns(text))
    return space + text if right else text + space


def _clip(text, width):
    text = " ".join(str(text).split())
    if _columns(text) <= width:
        return text
    kept, used = [], 0
    for c in text:
        used += _columns(c)
        if used > width - 1:
            break
        kept.append(c)
    return "".join(kept) + "…"


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())
