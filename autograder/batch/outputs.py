"""What a batch writes: the gradebook, each student's feedback and results file, a summary.

* ``gradebook.csv``: a row per student, always, in the order of the submissions folder;
  the total, each assignment and each check, and a status: ``graded``, or what stopped or
  limited grading (an empty submission, an unreadable zip, missing files, an import that
  timed out, crashed or ran out of memory). The first row after the header holds the
  maximum points. Checks that could not run here (GPU checks without CUDA) are empty.
* ``feedback/<student>.md``: the points table and every message the student would see.
* ``results/<student>.json``: Gradescope's ``results.json`` for the student.

Every file is written atomically.
"""
import csv
import io
import os
import tempfile
from pathlib import Path

from autograder import results as R
from autograder.batch.intake import file_name


def student_report(batch, submission):
    """All of a student's results, in manifest order, as one ``Report``."""
    report = R.Report(solution=submission.student)
    for assignment in batch.assignments:
        by_check = {r.check: r for r in batch.results.get((submission.student, assignment.id), [])}
        for check in assignment.checks:
            if check.id in by_check:
                report.add(by_check[check.id])
    report.notes.append(f"Grade seed offset: {batch.options.seed}. Kit version: "
                        f"{batch.kit_version}.")
    return report


def status_of(batch, submission, report):
    """``graded``, or the reasons grading was stopped or limited, in a few words."""
    if not submission.gradable:
        return "; ".join(submission.problems)
    notes = list(submission.problems)
    for assignment in batch.assignments:
        results = [r for r in report.results if r.assignment == assignment.id and r.counts]
        if not results:
            continue
        if all(r.reason.startswith("not submitted") for r in results):
            notes.append(f"{assignment.id}: missing "
                         + ", ".join(f for f in assignment.files))
        elif all(r.status in (R.LOAD_ERROR, R.TIMEOUT) for r in results):
            notes.append(f"{assignment.id}: {_load_problem(results[0])}")
        elif all(r.status == R.FORBIDDEN for r in results):
            notes.append(f"{assignment.id}: {results[0].reason}")
    return "graded" if not notes else "graded; " + "; ".join(notes)


def _load_problem(result):
    reason = result.reason
    if result.status == R.TIMEOUT and "importing" in reason:
        return "import timed out"
    if "died" in reason:
        return "import crashed the worker"
    if "memory" in reason.lower():
        return "out of memory"
    return reason


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
    lines = [f"# Feedback for {submission.student}", "",
             f"Status: {status}", "",
             f"Grade: **{_num(report.score)}/{_num(report.max_score)}** "
             f"(seed offset {batch.options.seed})", ""]
    for assignment in batch.assignments:
        results = [r for r in report.results if r.assignment == assignment.id]
        if not results:
            continue
        score = sum(r.points for r in results if r.counts)
        maximum = sum(r.max_points for r in results)
        unevaluated = maximum - sum(r.max_points for r in results if r.counts)
        note = f" ({_num(unevaluated)} not evaluated in this run)" if unevaluated else ""
        lines += [f"## {assignment.id}: {assignment.title}", "",
                  f"{_num(score)}/{_num(maximum)} points{note}", "",
                  "| check | points | status | reason |", "| --- | ---: | --- | --- |"]
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
    lines = [f"{len(batch.submissions)} submission(s): {graded} graded, "
             f"{len(batch.submissions) - graded} could not be graded"
             + (f"; not submissions, ignored: {', '.join(batch.ignored)}" if batch.ignored else "")]
    lines.append(f"jobs graded now: {batch.graded_now}, reused from an earlier run: "
                 f"{batch.reused}; reference cache: {batch.cache_hits} hit(s), "
                 f"{batch.cache_misses} miss(es); {batch.seconds:.1f} s")
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
            lines.append(f"  {assignment.id}: mean {mean:.1f}/{_num(maximum)} over "
                         f"{len(scores)} submission(s)")
    mistakes = top_mistakes(batch, reports)[:top]
    if mistakes:
        lines.append("most frequent mistakes:")
        lines += [f"  {share:.0%} of {assignment_id} ({count}): {title}"
                  for assignment_id, title, count, share in mistakes]
    lines.append(f"outputs: {Path(out) / 'gradebook.csv'}, {Path(out) / 'report.html'}, "
                 f"{Path(out) / 'feedback'}/, {Path(out) / 'results'}/")
    return lines


def top_mistakes(batch, reports):
    """(assignment id, mistake title, students, share of those who submitted it), most
    frequent first."""
    found = []
    for assignment in batch.assignments:
        titles = {m.id: m.title for m in assignment.mistakes}
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
            found.append((assignment.id, titles.get(mistake, mistake), count,
                          count / len(submitted)))
    return sorted(found, key=lambda item: (-item[3], -item[2], item[0], item[1]))


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
