"""The class report: one self-contained HTML page (plots embedded as PNG), for the
instructor, on where the class stands and where it struggles.

* the score distribution of each assignment;
* the pass rate of every check;
* the most frequent diagnosed mistakes ("31% of the class: Adam without bias correction");
* the slowest submissions on each speed check;
* the submissions that could not be graded, and why.
"""
import base64
import html
import io
import statistics
import textwrap

from autograder import results as R
from autograder.batch.outputs import top_mistakes


def render(batch, reports, statuses):
    import matplotlib
    matplotlib.use("Agg")
    sections = [_overview(batch, reports, statuses), _distributions(batch, reports),
                _pass_rates(batch, reports), _mistakes(batch, reports), _speed(batch, reports),
                _ungraded(batch, statuses)]
    title = "Class report"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{title}</h1><p class=\"meta\">{len(batch.submissions)} submission(s), "
            f"seed offset {batch.options.seed}, kit version {html.escape(batch.kit_version)}"
            f"</p>{''.join(sections)}</body></html>\n")


_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; } img { max-width: 100%; }
"""


def _submitted(batch, assignment):
    return [s for s in batch.submissions if s.gradable and s.has(assignment)]


def _scores(batch, reports, assignment):
    """Each submission's points on ``assignment``, and its maximum (every check's points)."""
    scores = []
    for submission in _submitted(batch, assignment):
        results = [r for r in reports[submission.student].results
                   if r.assignment == assignment.id and r.counts]
        scores.append(sum(r.points for r in results))
    return scores, sum(c.points for c in assignment.checks)


def _overview(batch, reports, statuses):
    rows = []
    for assignment in batch.assignments:
        scores, maximum = _scores(batch, reports, assignment)
        if scores:
            rows.append([assignment.id, len(scores), f"{statistics.mean(scores):.1f}",
                         f"{statistics.median(scores):g}", f"{maximum:g}",
                         f"{sum(1 for s in scores if s == maximum)}"])
        else:
            rows.append([assignment.id, 0, "", "", "", ""])
    return ("<h2>Overview</h2>" + _table(["assignment", "submitted", "mean", "median",
                                          "maximum", "full marks"], rows, numeric=(1, 2, 3, 4, 5)))


def _distributions(batch, reports):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    shown = [(a, *_scores(batch, reports, a)) for a in batch.assignments]
    shown = [item for item in shown if item[1]]
    if not shown:
        return "<h2>Score distribution</h2><p>No assignment was graded.</p>"
    columns = min(4, len(shown))
    rows = (len(shown) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows),
                                squeeze=False)
    for axis in axes.flat[len(shown):]:
        axis.set_visible(False)
    for axis, (assignment, scores, maximum) in zip(axes.flat, shown):
        axis.hist(scores, bins=min(10, max(1, int(maximum) or 1)), range=(0, maximum or 1),
                  color="#4c72b0", edgecolor="white")
        axis.set_title(assignment.id, fontsize=10)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("points", fontsize=8)
        axis.set_ylabel("students", fontsize=8)
    figure.tight_layout()
    return "<h2>Score distribution</h2>" + _image(figure, "score distribution per assignment")


def _pass_rates(batch, reports):
    import matplotlib.pyplot as plt
    labels, rates, rows = [], [], []
    for assignment in batch.assignments:
        submitted = _submitted(batch, assignment)
        for check in assignment.checks:
            results = [r for s in submitted for r in reports[s.student].results
                       if r.assignment == assignment.id and r.check == check.id and r.counts]
            if not results:
                continue
            rate = sum(r.status == R.PASSED for r in results) / len(results)
            labels.append(f"{assignment.id}::{check.id}")
            rates.append(rate)
            rows.append([labels[-1], len(results), f"{rate:.0%}"])
    if not labels:
        return "<h2>Pass rate of every check</h2><p>No check ran.</p>"
    figure, axis = plt.subplots(figsize=(8, 0.2 * len(labels) + 0.8))
    axis.barh(range(len(labels)), rates, color="#55a868")
    axis.set_yticks(range(len(labels)), labels, fontsize=7)
    axis.set_ylim(len(labels) - 0.5, -0.5)
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of submissions that pass")
    figure.tight_layout()
    return ("<h2>Pass rate of every check</h2>" + _image(figure, "pass rate of every check")
            + _table(["check", "graded", "pass rate"], rows, numeric=(1, 2)))


def _mistakes(batch, reports, top=15):
    import matplotlib.pyplot as plt
    found = top_mistakes(batch, reports)[:top]
    if not found:
        return "<h2>Most frequent mistakes</h2><p>No known mistake was recognised.</p>"
    rows = [[assignment_id, title, count, f"{share:.0%}"]
            for assignment_id, title, count, share in found]
    figure, axis = plt.subplots(figsize=(9, 0.35 * len(found) + 1))
    axis.barh(range(len(found)), [share for *_, share in found], color="#c44e52")
    labels = [textwrap.shorten(f"{a}: {t}", 52, placeholder="...") for a, t, *_ in found]
    axis.set_yticks(range(len(found)), labels, fontsize=7)
    axis.set_ylim(len(found) - 0.5, -0.5)
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of the submissions of that assignment")
    figure.tight_layout()
    return ("<h2>Most frequent mistakes</h2>" + _image(figure, "most frequent diagnosed mistakes")
            + _table(["assignment", "mistake", "students", "share"], rows, numeric=(2, 3)))


def _speed(batch, reports, top=5):
    rows = []
    for assignment in batch.assignments:
        for check in (c for c in assignment.checks if c.kind == "speed"):
            timed = [(r.ratio, s.student, r.label) for s in batch.submissions
                     for r in reports[s.student].results
                     if r.assignment == assignment.id and r.check == check.id
                     and r.ratio is not None]
            for ratio, student, label in sorted(timed, reverse=True)[:top]:
                rows.append([f"{assignment.id}::{check.id}", student, f"{ratio:.2f}x",
                             f"{check.budget:g}x", label])
    if not rows:
        return ("<h2>Slowest submissions on the speed checks</h2><p>No speed check was "
                "timed in this batch.</p>")
    return ("<h2>Slowest submissions on the speed checks</h2>"
            + _table(["check", "student", "time / reference", "budget", "status"], rows,
                     numeric=(2, 3)))


def _ungraded(batch, statuses):
    rows = [[s, statuses[s]] for s in sorted(statuses) if statuses[s] != "graded"]
    if not rows:
        return "<h2>Submissions with problems</h2><p>None.</p>"
    return "<h2>Submissions with problems</h2>" + _table(["student", "status"], rows)


def _image(figure, alt):
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f"<img class=\"plot\" alt=\"{html.escape(alt)}\" src=\"data:image/png;base64,{data}\">"


def _table(header, rows, numeric=()):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td{' class=num' if i in numeric else ''}>{html.escape(str(value))}</td>"
        for i, value in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
