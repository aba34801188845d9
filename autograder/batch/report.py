"""The class report: one self-contained HTML page (plots embedded as PNG), for the
instructor, on where the class stands and where it struggles.

* the score distribution of each assignment;
* the pass rate of every check;
* the most frequent diagnosed mistakes ("31% of the class: Adam without bias correction");
* the slowest submissions on each speed check;
* the submissions that could not be graded, and why.

The page is in the language in use (``<html lang>``, headings, tables, explanations, check
and mistake titles). The plots are not: matplotlib draws with the fonts of the machine,
and one without a Japanese font would draw Japanese as empty boxes. So a plot shows only
ids and numbers (an assignment id, ``assignment::check``, ``assignment: mistake id``; a
mistake's English title where it fits), with short English axis labels, and the table
beside it gives the same rows with their titles in the language in use; the ``alt`` text
and a caption under each plot say what it shows in that language.
"""
import base64
import html
import io
import statistics
import textwrap
import unicodedata

from autograder import results as R
from autograder.batch.outputs import GRADED, shown_status, top_mistakes
from autograder.feedback import title_of
from autograder.i18n import _, language, tr


def render(batch, reports, statuses):
    import matplotlib
    matplotlib.use("Agg")
    sections = [_overview(batch, reports, statuses), _distributions(batch, reports),
                _pass_rates(batch, reports), _mistakes(batch, reports), _speed(batch, reports),
                _ungraded(batch, statuses)]
    title = html.escape(_("Class report"))
    meta = html.escape(tr("{count} submission(s), seed offset {seed}, kit version {version}",
                          count=len(batch.submissions), seed=batch.options.seed,
                          version=batch.kit_version))
    return (f"<!DOCTYPE html>\n<html lang=\"{language()}\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{title}</h1><p class=\"meta\">{meta}"
            f"</p>{''.join(sections)}</body></html>\n")


_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; } img { max-width: 100%; }
.caption { color: #666; font-size: 0.9em; margin-top: 0; }
"""


def _heading(text):
    return f"<h2>{html.escape(text)}</h2>"


def _paragraph(text):
    return f"<p>{html.escape(text)}</p>"


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
            rows.append([assignment.id, title_of(assignment), len(scores),
                         f"{statistics.mean(scores):.1f}", f"{statistics.median(scores):g}",
                         f"{maximum:g}", f"{sum(1 for s in scores if s == maximum)}"])
        else:
            rows.append([assignment.id, title_of(assignment), 0, "", "", "", ""])
    return (_heading(_("Overview"))
            + _table([_("assignment"), _("title"), _("submitted"), _("mean"), _("median"),
                      _("maximum"), _("full marks")], rows, numeric=(2, 3, 4, 5, 6)))


def _distributions(batch, reports):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    shown = [(a, *_scores(batch, reports, a)) for a in batch.assignments]
    shown = [item for item in shown if item[1]]
    if not shown:
        return _heading(_("Score distribution")) + _paragraph(_("No assignment was graded."))
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
    return (_heading(_("Score distribution"))
            + _image(figure, _("score distribution per assignment"),
                     _("One histogram per assignment: points (horizontal axis) and how many "
                       "students scored them (vertical axis).")))


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
            rows.append([labels[-1], title_of(check), len(results), f"{rate:.0%}"])
    if not labels:
        return _heading(_("Pass rate of every check")) + _paragraph(_("No check ran."))
    figure, axis = plt.subplots(figsize=(8, 0.2 * len(labels) + 0.8))
    axis.barh(range(len(labels)), rates, color="#55a868")
    axis.set_yticks(range(len(labels)), labels, fontsize=7)
    axis.set_ylim(len(labels) - 0.5, -0.5)
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of submissions that pass")
    figure.tight_layout()
    return (_heading(_("Pass rate of every check"))
            + _image(figure, _("pass rate of every check"),
                     _("The share of the graded submissions that pass each check (the table "
                       "below names the checks)."))
            + _table([_("check"), _("title"), _("graded"), _("pass rate")], rows,
                     numeric=(2, 3)))


def _mistakes(batch, reports, top=15):
    import matplotlib.pyplot as plt
    found = top_mistakes(batch, reports)[:top]
    if not found:
        return (_heading(_("Most frequent mistakes"))
                + _paragraph(_("No known mistake was recognised.")))
    rows = [[assignment_id, mistake, title, count, f"{share:.0%}"]
            for assignment_id, mistake, title, count, share in found]
    figure, axis = plt.subplots(figsize=(9, 0.35 * len(found) + 1))
    axis.barh(range(len(found)), [item[-1] for item in found], color="#c44e52")
    labels = [textwrap.shorten(f"{a}: {t if _drawable(t) else m}", 52, placeholder="...")
              for a, m, t, *_rest in found]
    axis.set_yticks(range(len(found)), labels, fontsize=7)
    axis.set_ylim(len(found) - 0.5, -0.5)
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of the submissions of that assignment")
    figure.tight_layout()
    return (_heading(_("Most frequent mistakes"))
            + _image(figure, _("most frequent diagnosed mistakes"),
                     _("The share of the submissions of each assignment in which a known "
                       "mistake was recognised."))
            + _table([_("assignment"), _("mistake id"), _("mistake"), _("students"),
                      _("share")], rows, numeric=(3, 4)))


def _speed(batch, reports, top=5):
    rows = []
    for assignment in batch.assignments:
        for check in (c for c in assignment.checks if c.kind == "speed"):
            timed = [(r.ratio, s.student, r.label) for s in batch.submissions
                     for r in reports[s.student].results
                     if r.assignment == assignment.id and r.check == check.id
                     and r.ratio is not None]
            for ratio, student, label in sorted(timed, reverse=True)[:top]:
                rows.append([f"{assignment.id}::{check.id}", title_of(check), student,
                             f"{ratio:.2f}x", f"{check.budget:g}x", label])
    if not rows:
        return (_heading(_("Slowest submissions on the speed checks"))
                + _paragraph(_("No speed check was timed in this batch.")))
    return (_heading(_("Slowest submissions on the speed checks"))
            + _table([_("check"), _("title"), _("student"), _("time / reference"), _("budget"),
                      _("status")], rows, numeric=(3, 4)))


def _ungraded(batch, statuses):
    rows = [[s, shown_status(statuses[s])] for s in sorted(statuses) if statuses[s] != GRADED]
    if not rows:
        return _heading(_("Submissions with problems")) + _paragraph(_("None."))
    return _heading(_("Submissions with problems")) + _table([_("student"), _("status")], rows)


def _drawable(text):
    """Whether the plot's fonts draw ``text`` (matplotlib's own fonts have no CJK
    characters: those would be empty boxes)."""
    return not any(unicodedata.east_asian_width(c) in "WF" for c in text)


def _image(figure, alt, caption=""):
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    image = f"<img class=\"plot\" alt=\"{html.escape(alt)}\" src=\"data:image/png;base64,{data}\">"
    return image + (f"<p class=\"caption\">{html.escape(caption)}</p>" if caption else "")


def _table(header, rows, numeric=()):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td{' class=num' if i in numeric else ''}>{html.escape(str(value))}</td>"
        for i, value in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
