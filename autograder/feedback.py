"""Feedback a student can act on: what was compared, what differs, what to try.

Every function here turns engine facts (a ``Comparison``, a runner ``Outcome``,
a ``SpeedVerdict``) into the one-line reason and the full text of a
``CheckResult``. Nothing here decides points.
"""
import re
from pathlib import Path

from autograder.compare import format_path
from autograder.i18n import _, pick, tr

_MORE_SHOWN = 4
# autograder.worker marks a scenario's own failing line with this (a token on the wire,
# shown translated)
CHECK_RAISED = "The check was running:"


def title_of(item):
    """A check's, an assignment's or a known mistake's title in the language in use."""
    return pick(item.title, getattr(item, "title_ja", None))


def explanation_of(mistake):
    return pick(mistake.explanation, getattr(mistake, "explanation_ja", None))


def hint_of(check):
    return pick(check.hint, getattr(check, "hint_ja", None))


def compared(check):
    return tr("Compared: {title}.", title=title_of(check))


def looks_like_reason(mistake, reason):
    """The reason of a check whose result looks like ``mistake``."""
    return tr("looks like: {mistake} ({reason})", mistake=title_of(mistake), reason=reason)


def without_looks_like(mistake, reason):
    """``reason`` without the ``looks_like_reason`` wrapping for ``mistake`` (when it had one)."""
    prefix, _sep, suffix = looks_like_reason(mistake, "\0").partition("\0")
    if reason.startswith(prefix) and reason.endswith(suffix):
        return reason[len(prefix):len(reason) - len(suffix)]
    return reason


def diagnosis_head():
    """How a diagnosis starts in the full text (where a later look may cut it off)."""
    return _("Diagnosis:")


def describe_mismatch(check, comparison, trajectory_length=None):
    """(one-line reason, full text) for a result that differs from the reference."""
    first = comparison.first
    place = _place(check, first.path, trajectory_length)
    reason = f"{place}: {first.summary}"
    lines = [compared(check), "", tr("First difference, {place}:", place=place),
             f"  {first.summary}"]
    lines += [f"  {detail}" for detail in first.details]
    others = comparison.mismatches[1:]
    if others:
        more = ", ".join(format_path(m.path, steps=check.trajectory)
                         for m in others[:_MORE_SHOWN])
        extra = len(others) - _MORE_SHOWN
        if extra > 0 or comparison.truncated:
            lines += ["", tr("Also different: {places} and {count} more.", places=more,
                             count=max(extra, 0))]
        else:
            lines += ["", tr("Also different: {places}.", places=more)]
    return reason, "\n".join(lines)


def describe_diagnosis(mistakes):
    """Text naming each recognised mistake with its explanation."""
    if not mistakes:
        return ""
    if len(mistakes) == 1:
        head = tr("{head} this looks like a known mistake, \"{title}\".",
                  head=diagnosis_head(), title=title_of(mistakes[0]))
        return head + "\n" + _wrap(explanation_of(mistakes[0]))
    parts = [tr("{head} this looks like each of these known mistakes (they agree on this "
                "check):", head=diagnosis_head())]
    for mistake in mistakes:
        parts.append(f"- \"{title_of(mistake)}\": " + explanation_of(mistake))
    return "\n".join(parts)


def describe_outcome_failure(check, outcome, timeout):
    """(one-line reason, full text) for a run that produced no gradable result."""
    status = outcome.status
    if status == "not_implemented":
        reason = tr("not implemented: {message}", message=outcome.message)
        text = tr("Not implemented yet: {message}", message=outcome.message) + "\n" + \
            _where(outcome)
    elif status == "load_error":
        reason = _load_reason(outcome.message)
        text = outcome.message
    elif status == "timeout":
        reason, text = _describe_timeout(outcome, timeout)
    elif status == "crash":
        reason = _("the process running your code died")
        text = tr("The process running your code died: {message}", message=outcome.message)
    elif status == "bad_output":
        reason = _("returned something that cannot be graded")
        text = tr("Your code returned something that cannot be graded: {message}",
                  message=outcome.message)
    elif outcome.traceback.startswith(CHECK_RAISED):
        # no frame of the student's code: the check itself failed on what it was handed
        error = outcome.traceback.strip().splitlines()[-1]
        reason = tr("the check could not use your result ({error}, in the check's own code)",
                    error=error)
        shown = _("The check was running:") + outcome.traceback[len(CHECK_RAISED):]
        text = f"{outcome.message}\n\n{shown}"
    else:
        reason = tr("raised {error}", error=outcome.message.splitlines()[0]
                    if outcome.message else status)
        text = _("Your code raised an exception:") + "\n" + (outcome.traceback
                                                              or outcome.message)
    return reason, f"{compared(check)}\n\n{text}".rstrip()


def _describe_timeout(outcome, timeout):
    limit = outcome.header.get("limit") or {}
    seconds = f"{timeout:.3g}"
    if limit.get("reference") is not None:
        head = tr("Stopped after {seconds} s ({reference} for the reference on this check; your "
                  "code may take many times that, and at least a few seconds): your code did "
                  "not finish.", seconds=seconds, reference=_seconds(limit["reference"]))
    else:
        head = tr("Stopped after {seconds} s: your code did not finish.", seconds=seconds)
    stuck = outcome.header.get("stuck") or {}
    stack = stuck.get("stack") or []
    reason = tr("did not finish within {seconds} s", seconds=seconds)
    lines = [head]
    if stack:
        top = stack[0]
        reason = tr("did not finish within {seconds} s; it was at line {line} of {file}",
                    seconds=seconds, line=top["line"], file=top["file"])
        code = top.get("code") or _source_line(top)
        lines.append(tr("When it was stopped, it was running line {line} of {file}, in "
                        "{function}:", line=top["line"], file=top["file"],
                        function=top["function"]) + (f"\n    {code}" if code else ""))
        if len(stack) > 1:
            callers = [tr("line {line} of {file} ({function})", line=f["line"], file=f["file"],
                          function=f["function"]) for f in stack[1:4]]
            lines.append(tr("called from {places}", places=", ".join(callers)))
        variables = stuck.get("locals") or {}
        if variables:
            lines.append(_("Its variables there:") + "\n" + "\n".join(
                f"    {name} = {value}" for name, value in variables.items()))
        lines.append(_("If that line is part of a loop, look at what ends the loop: does what "
                       "its condition tests change on every pass? If it does end, the work is "
                       "far slower than it needs to be."))
    else:
        lines.append(_("Look for a loop that never ends, or work far slower than it needs "
                       "to be."))
    if stuck.get("stdout"):
        lines.append(_("What your code printed before it was stopped (the end):") + "\n"
                     + stuck["stdout"])
    return reason, "\n".join(lines)


def _seconds(value):
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2g} s"


def _source_line(frame):
    """The text of the student's line (read from the file the frame names, if it is here)."""
    import linecache
    return linecache.getline(str(frame.get("path", "")), int(frame["line"])).strip() \
        if frame.get("path") else ""


def describe_forbidden(check, uses, tamper=()):
    """(one-line reason, full text) for a solution that uses a forbidden API (``uses``:
    [(name, how)]) or reaches into the grader (``tamper``: static findings)."""
    lines = [compared(check), ""]
    if tamper:
        first = tamper[0]
        reason = tr("reaches into the grader: {finding}", finding=first.describe())
        lines.append(_("Your code reaches into the grader, or runs code the grader cannot "
                       "read. That is not allowed in a solution, so no check of this "
                       "assignment gets points, whatever the numbers:"))
        lines += [f"  - {finding.describe()}" for finding in tamper[:10]]
        if uses:
            lines.append("")
    hidden = [(name, how) for name, how in uses if name.endswith(("()", ">"))]
    named = [(name, how) for name, how in uses if (name, how) not in hidden]
    if named:
        names = ", ".join(name for name, _how in named)
        if not tamper:
            reason = tr("uses {names}, which this assignment asks you to write yourself",
                        names=names)
        lines.append(tr("Your code uses {names}. This assignment is about writing that piece "
                        "yourself, so the check gets no points even if the numbers match:",
                        names=names))
        lines += [f"  - {name}: {how}" for name, how in named]
        lines.append(_("Write that piece yourself (the assignment's README says how), and "
                       "remove the import or assignment that brings in torch's version."))
    if hidden:
        if named:
            lines.append("")
        elif not tamper:
            reason = tr("runs code the grader cannot read: {how}", how=hidden[0][1])
        lines.append(_("Your code runs code the grader cannot read, so it cannot tell whether "
                       "that code uses what this assignment asks you to write; the check gets "
                       "no points:"))
        lines += [f"  - {how}" for _name, how in hidden]
        lines.append(_("Call what you need by its name instead (no exec, eval, compile, or "
                       "names computed at run time)."))
    return reason, "\n".join(lines)


def describe_speed(check, verdict, device):
    timing = getattr(verdict, "timing", None)
    if timing is not None:
        verdict.against = timing.against
    reason = tr("{ratio}x {against} (budget {budget}x)", ratio=f"{verdict.median:.2f}",
                against=verdict.against_time, budget=f"{verdict.budget:.3g}")
    lines = [tr("Timed: {title}, on {device}.", title=title_of(check), device=device), "",
             verdict.describe()]
    if timing is not None and timing.against != "the reference":
        lines += ["", tr("Measured against {against}, a torch built-in doing the same work: "
                         "the reference solution takes {factor}x its time (recorded when this "
                         "repository was made), so the budget of {budget}x the reference is "
                         "{scaled}x {against}.", against=timing.against,
                         factor=f"{timing.factor:.2f}", budget=f"{check.budget:g}",
                         scaled=f"{verdict.budget:.3g}")]
    if verdict.verdict == "fail" and check.hint:
        lines += ["", hint_of(check).strip()]
    return reason, "\n".join(lines)


def _load_reason(message):
    """``x.py could not be imported: SyntaxError: ...``: the first line, completed with the
    exception when the first line only announces the traceback."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return _("could not be imported")
    first = lines[0]
    if first.endswith(":") and len(lines) > 1:
        error = next((line for line in reversed(lines) if not line.startswith(("(", "^", "~"))),
                     lines[-1])
        places = re.findall(r'File "([^"]+)", line (\d+)', message)
        if places:  # what and where first: the table cuts long reasons
            name, line = Path(places[-1][0]).name, places[-1][1]
            return tr("{error} at line {line} of {file} (not imported)", error=error,
                      line=line, file=name)
        return f"{first} {error}"
    return first


def _place(check, path, trajectory_length):
    if check.trajectory and path and isinstance(path[0], int):
        rest = format_path(path[1:]) if len(path) > 1 else _("the snapshot")  # after a step
        if trajectory_length:
            return tr("diverged at step {step} of {steps}, in {place}", step=path[0] + 1,
                      steps=trajectory_length, place=rest)
        return tr("diverged at step {step}, in {place}", step=path[0] + 1, place=rest)
    return tr("in {place}", place=format_path(path))


def _where(outcome):
    lines = [line for line in outcome.traceback.splitlines() if line.strip().startswith("File")]
    return tr("(raised at {place})", place=lines[-1].strip()) if lines else ""


def _wrap(text):
    return text.strip()
