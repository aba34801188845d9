"""What a batch writes: the gradebook, each student's feedback and results file, a summary.

* ``gradebook.csv``: a row per student, always, in the order of the submissions folder;
  the total, each assignment and each check, and a status: ``graded``, or what stopped or
  limited grading (an empty submission, an unreadable zip, missing files, an import that
  timed out, crashed or ran out of memory). The first row after the header holds the
  maximum points. Checks that could not run here (GPU checks without CUDA) are empty.
* ``feedback/<student>.md``: the points table and every message the student would see.
* ``results/<student>.json``: Gradescope's ``results.json`` for the student.

Everything a person reads is in the language in use (``--lang``): the feedback, the results
files, the summary, and the reasons in the gradebook's status. The gradebook itself is data
that scripts and LMS imports read, so its shape is the same in every language: the column
headers (``student``, ``status``, ``seed``, ``total``, the assignment and check ids), the
``(maximum)`` label of the maxima row and the leading ``graded`` keyword of a status stay
in English; only what follows that keyword (why a submission was not graded, or what
limited its grading) is translated. A status that does not start with ``graded`` is a
submission that could not be graded at all.

Every file is written atomically.
"""
import csv
import io
import os
import re
import tempfile
from pathlib import Path

from autograder import results as R
from autograder.batch.intake import file_name
from autograder.batch.run import missing_files
from autograder.feedback import title_of
from autograder.grading import IMPORT_DIED, IMPORT_TIMED_OUT
from autograder.i18n import _, tr

GRADED = "graded"     # the gradebook's status keyword: English in every language


def student_report(batch, submission):
    """All of a student's results, in manifest order, as one ``Report``."""
    report = R.Report(solution=submission.student)
    for assignment in batch.assignments:
        by_check = {r.check: r for r in batch.results.get((submission.student, assignment.id), [])}
        for check in assignment.checks:
            if check.id in by_check:
                report.add(by_check[check.id])
    report.notes.append(tr("Grade seed offset: {seed}. Kit version: {version}.",
                           seed=batch.options.seed, version=batch.kit_version))
    return report


def status_of(batch, submission, report):
    """The gradebook's status: ``graded``, or the reasons grading was stopped or limited, in
    a few words (the reasons in the language in use, the ``graded`` keyword always in
    English). Decided from the submission and the results' statuses, never from the words
    of a reason, so it is the same in every language."""
    if not submission.gradable:
        return "; ".join(submission.problems)
    notes = list(submission.problems)
    for assignment in batch.assignments:
        results = [r for r in report.results if r.assignment == assignment.id and r.counts]
        if not results:
            continue
        if not submission.has(assignment):
            missing = [f.split("/", 1)[1] for f in missing_files(submission, assignment)]
            notes.append(tr("{assignment}: missing {files}", assignment=assignment.id,
                            files=", ".join(missing)))
        elif all(r.status in (R.LOAD_ERROR, R.TIMEOUT) for r in results):
            notes.append(f"{assignment.id}: {_load_problem(results[0])}")
        elif all(r.status == R.FORBIDDEN for r in results):
            notes.append(f"{assignment.id}: {results[0].reason}")
        grader_errors = [r for r in results if r.status == R.GRADER_ERROR]
        if grader_errors:   # the machines failed it, not the student: run the batch again
            notes.append(f"{assignment.id}: {grader_errors[0].reason}")
    return GRADED if not notes else f"{GRADED}; " + "; ".join(notes)


def shown_status(status):
    """A gradebook status as a person reads it: its ``graded`` keyword in the language in
    use."""
    if status == GRADED:
        return _("graded")
    if status.startswith(f"{GRADED}; "):
        return tr("graded; {notes}", notes=status[len(GRADED) + 2:])
    return status




def _load_problem(result):
    reason = result.reason
    if result.status == R.TIMEOUT and _matches(reason, IMPORT_TIMED_OUT):
        return _("import timed out")
    if _matches(reason, IMPORT_DIED):
        return _("import crashed the worker")
    if "memory" in reason.lower():   # MemoryError, the same word in every language
        return _("out of memory")
    return reason


def _matches(text, message):
    """Whether ``text`` is ``message`` (a msgid with ``{named}`` placeholders), filled in,
    in English or in the language in use."""
    for form in {message, _(message)}:
        pattern = "".join(".*?" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"({\w+})", form))
        if re.fullmatch(pattern, text, flags=re.S):
            return True
    return False


def write_outputs(batch, out):
    """Write the gradebook, feedback and results files; return the per-student reports."""
    out = Path(out)
    reports = {s.student: student_report(batch, s) for s in batch.submissions}
    statuses = {s.student: status_of(batch, s, reports[s.student]) for s in batch.submissions}
    _write(out / "gradebook.csv", gradebook_csv(batch, reports, statuses))
    for submission in batch.submissions:
        report = reports[submission.student]
        name = file_name(submission.student)
        _write(out / "feedback" / f"{name}.md",
               feedback_markdown(batch, submission, report, statuses[submission.student]))
        R.write_results(report, out / "results" / f"{name}.json")
    return reports, statuses


def gradebook_csv(batch, reports, statuses):
    columns = ["student", "status", "seed", "total"]
    maxima = ["(maximum)", "", str(batch.options.seed), None]
    for assignment in batch.assignments:
        columns.append(assignment.id)
        maxima.append(None)
        for check in assignment.checks:
            columns.append(f"{assignment.id}::{check.id}")
            maxima.append(None)
    rows = []
    for submission in batch.submissions:
        report = reports[submission.student]
        row = [submission.student, statuses[submission.student], str(batch.options.seed),
               _num(report.score)]
        by_key = {(r.assignment, r.check): r for r in report.results}
        for assignment in batch.assignments:
            results = [r for r in report.results if r.assignment == assignment.id and r.counts]
            row.append(_num(sum(r.points for r in results)))
            for check in assignment.checks:
                result = by_key.get((assignment.id, check.id))
                row.append(_num(result.points) if result is not None and result.counts else "")
        rows.append(row)
    maxima = _maxima(batch, reports, maxima)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow(maxima)
    writer.writerows(rows)
    return buffer.getvalue()


def _maxima(batch, reports, template):
    """The maximum of each column: every check's points, whether it could run in this batch
    or not (the maximum is the same on every machine; autograder.results)."""
    counted = {(a.id, c.id): c.points for a in batch.assignments for c in a.checks}
    values = list(template)
    index = 4
    total = 0.0
    for assignment in batch.assignments:
        assignment_total = sum(counted.get((assignment.id, c.id), 0) for c in assignment.checks)
        values[index] = _num(assignment_total)
        total += assignment_total
        index += 1
        for check in assignment.checks:
            points = counted.get((assignment.id, check.id))
            values[index] = "" if points is None else _num(points)
            index += 1
    values[3] = _num(total)
    return values


def feedback_markdown(batch, submission, report, status):
    lines = [tr("# Feedback for {student}", student=submission.student), "",
             tr("Status: {status}", status=shown_status(status)), "",
             tr("Grade: **{score}/{maximum}** (seed offset {seed})", score=_num(report.score),
                maximum=_num(report.max_score), seed=batch.options.seed), ""]
    for assignment in batch.assignments:
        results = [r for r in report.results if r.assignment == assignment.id]
        if not results:
            continue
        score = sum(r.points for r in results if r.counts)
        maximum = sum(r.max_points for r in results)
        unevaluated = maximum - sum(r.max_points for r in results if r.counts)
        if unevaluated:
            points = tr("{score}/{maximum} points ({unevaluated} not evaluated in this run)",
                        score=_num(score), maximum=_num(maximum),
                        unevaluated=_num(unevaluated))
        else:
            points = tr("{score}/{maximum} points", score=_num(score), maximum=_num(maximum))
        header = [_("check"), _("points"), _("status"), _("reason")]
        lines += [f"## {assignment.id}: {title_of(assignment)}", "", points, "",
                  "| " + " | ".join(header) + " |", "| --- | ---: | --- | --- |"]
        for r in results:
            points = f"{_num(r.points)}/{_num(r.max_points)}" if r.counts else f"-/{_num(r.max_points)}"
            lines.append(f"| {r.check} | {points} | {r.label} | {_cell(r.reason)} |")
        lines.append("")
        for r in results:
            if r.status not in (R.PASSED, R.NOT_EVALUATED) and r.full_text().strip():
                lines += [f"### {r.check} [{r.label}]", "", "```", r.full_text().strip(), "```", ""]
    return "\n".join(lines) + "\n"


def summary_lines(batch, reports, statuses, out, top=5):
    graded = sum(1 for s in batch.submissions if s.gradable)
    first = tr("{count} submission(s): {graded} graded, {ungraded} could not be graded",
               count=len(batch.submissions), graded=graded,
               ungraded=len(batch.submissions) - graded)
    if batch.ignored:
        first = tr("{summary}; not submissions, ignored: {names}", summary=first,
                   names=", ".join(batch.ignored))
    lines = [first]
    lines.append(tr("jobs graded now: {now}, reused from an earlier run: {reused}; reference "
                    "cache: {hits} hit(s), {misses} miss(es); {seconds} s",
                    now=batch.graded_now, reused=batch.reused, hits=batch.cache_hits,
                    misses=batch.cache_misses, seconds=f"{batch.seconds:.1f}"))
    if batch.backend == "ray":
        nodes = {placement[4] for placement in batch.placements}
        lines.append(tr("on the Ray cluster: jobs graded on {nodes} node(s); grading workers "
                        "lost under a job: {lost} (each such job was graded again elsewhere)",
                        nodes=len(nodes), lost=batch.lost_workers))
        for warning, where in batch.node_warnings.items():
            lines.append(tr("on {count} node(s) of the cluster: {warning}", count=len(where),
                            warning=warning))
    for assignment in batch.assignments:
        scores = []
        for submission in batch.submissions:
            if submission.gradable and submission.has(assignment):
                results = [r for r in reports[submission.student].results
                           if r.assignment == assignment.id and r.counts]
                scores.append(sum(r.points for r in results))
        maximum = next((sum(r.max_points for r in reports[s.student].results
                            if r.assignment == assignment.id and r.counts)
                        for s in batch.submissions), 0)
        if scores:
            mean = sum(scores) / len(scores)
            lines.append("  " + tr("{assignment}: mean {mean}/{maximum} over {count} "
                                   "submission(s)", assignment=assignment.id,
                                   mean=f"{mean:.1f}", maximum=_num(maximum),
                                   count=len(scores)))
    mistakes = top_mistakes(batch, reports)[:top]
    if mistakes:
        lines.append(_("most frequent mistakes:"))
        lines += ["  " + tr("{share} of {assignment} ({count}): {title}", share=f"{share:.0%}",
                            assignment=assignment_id, count=count, title=title)
                  for assignment_id, _mistake, title, count, share in mistakes]
    out = Path(out)
    lines.append(tr("outputs: {files}", files=f"{out / 'gradebook.csv'}, "
                    f"{out / 'report.html'}, {out / 'feedback'}/, {out / 'results'}/"))
    return lines


def top_mistakes(batch, reports):
    """(assignment id, mistake id, mistake title in the language in use, students, share of
    those who submitted it), most frequent first."""
    found = []
    for assignment in batch.assignments:
        titles = {m.id: title_of(m) for m in assignment.mistakes}
        submitted = [s for s in batch.submissions if s.gradable and s.has(assignment)]
        counts = {}
        for submission in submitted:
            seen = set()
            for r in reports[submission.student].results:
                if r.assignment == assignment.id:
                    seen.update(r.diagnosis)
            for mistake in seen:
                counts[mistake] = counts.get(mistake, 0) + 1
        for mistake, count in counts.items():
            found.append((assignment.id, mistake, titles.get(mistake, mistake), count,
                          count / len(submitted)))
    return sorted(found, key=lambda item: (-item[4], -item[3], item[0], item[2]))


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def _num(value):
    return f"{value:g}"


def _write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".out-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)
