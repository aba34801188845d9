"""Feedback a student can act on: what was compared, what differs, what to try.

Every function here turns engine facts (a ``Comparison``, a runner ``Outcome``,
a ``SpeedVerdict``) into the one-line reason and the full text of a
``CheckResult``. Nothing here decides points.
"""
import re
from pathlib import Path

from autograder.compare import format_path

_MORE_SHOWN = 4
CHECK_RAISED = "The check was running:"   # autograder.worker: a scenario's own line failed


def describe_mismatch(check, comparison, trajectory_length=None):
    """(one-line reason, full text) for a result that differs from the reference."""
    first = comparison.first
    place = _place(check, first.path, trajectory_length)
    reason = f"{place}: {first.summary}"
    lines = [f"Compared: {check.title}.", "", f"First difference, {place}:",
             f"  {first.summary}"]
    lines += [f"  {detail}" for detail in first.details]
    others = comparison.mismatches[1:]
    if others:
        more = ", ".join(format_path(m.path, steps=check.trajectory)
                         for m in others[:_MORE_SHOWN])
        extra = len(others) - _MORE_SHOWN
        tail = f" and {extra} more" if extra > 0 or comparison.truncated else ""
        lines += ["", f"Also different: {more}{tail}."]
    return reason, "\n".join(lines)


def describe_diagnosis(mistakes):
    """Text naming each recognised mistake with its explanation."""
    if not mistakes:
        return ""
    if len(mistakes) == 1:
        head = f"Diagnosis: this looks like a known mistake, \"{mistakes[0].title}\"."
        return head + "\n" + _wrap(mistakes[0].explanation)
    parts = ["Diagnosis: this looks like each of these known mistakes "
             "(they agree on this check):"]
    for mistake in mistakes:
        parts.append(f"- \"{mistake.title}\": " + mistake.explanation)
    return "\n".join(parts)


def describe_outcome_failure(check, outcome, timeout):
    """(one-line reason, full text) for a run that produced no gradable result."""
    status = outcome.status
    if status == "not_implemented":
        reason = f"not implemented: {outcome.message}"
        text = f"Not implemented yet: {outcome.message}\n{_where(outcome)}"
    elif status == "load_error":
        reason = _load_reason(outcome.message)
        text = outcome.message
    elif status == "timeout":
        reason, text = _describe_timeout(outcome, timeout)
    elif status == "crash":
        reason = "the process running your code died"
        text = f"The process running your code died: {outcome.message}"
    elif status == "bad_output":
        reason = "returned something that cannot be graded"
        text = f"Your code returned something that cannot be graded: {outcome.message}"
    elif outcome.traceback.startswith(CHECK_RAISED):
        # no frame of the student's code: the check itself failed on what it was handed
        error = outcome.traceback.strip().splitlines()[-1]
        reason = f"the check could not use your result ({error}, in the check's own code)"
        text = f"{outcome.message}.\n\n{outcome.traceback}"
    else:
        reason = f"raised {outcome.message.splitlines()[0] if outcome.message else status}"
        text = f"Your code raised an exception:\n{outcome.traceback or outcome.message}"
    return reason, f"Compared: {check.title}.\n\n{text}".rstrip()


def _describe_timeout(outcome, timeout):
    limit = outcome.header.get("limit") or {}
    why = ""
    if limit.get("reference") is not None:
        why = (f" ({_seconds(limit['reference'])} for the reference on this check; your code "
               f"may take many times that, and at least a few seconds)")
    stuck = outcome.header.get("stuck") or {}
    stack = stuck.get("stack") or []
    reason = f"did not finish within {timeout:.3g} s"
    lines = [f"Stopped after {timeout:.3g} s{why}: your code did not finish."]
    if stack:
        top = stack[0]
        reason += f"; it was at line {top['line']} of {top['file']}"
        code = top.get("code") or _source_line(top)
        lines.append(f"When it was stopped, it was running line {top['line']} of {top['file']}, "
                     f"in {top['function']}:" + (f"\n    {code}" if code else ""))
        if len(stack) > 1:
            lines.append("called from " + ", ".join(f"line {f['line']} of {f['file']} "
                                                    f"({f['function']})" for f in stack[1:4]))
        variables = stuck.get("locals") or {}
        if variables:
            lines.append("Its variables there:\n" + "\n".join(
                f"    {name} = {value}" for name, value in variables.items()))
        lines.append("If that line is part of a loop, look at what ends the loop: does what "
                     "its condition tests change on every pass? If it does end, the work is far "
                     "slower than it needs to be.")
    else:
        lines.append("Look for a loop that never ends, or work far slower than it needs "
                     "to be.")
    if stuck.get("stdout"):
        lines.append(f"What your code printed before it was stopped (the end):\n{stuck['stdout']}")
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
    lines = [f"Compared: {check.title}.", ""]
    if tamper:
        first = tamper[0]
        reason = f"reaches into the grader: {first.describe()}"
        lines.append("Your code reaches into the grader, or runs code the grader cannot read. "
                     "That is not allowed in a solution, so no check of this assignment gets "
                     "points, whatever the numbers:")
        lines += [f"  - {finding.describe()}" for finding in tamper[:10]]
        if uses:
            lines.append("")
    hidden = [(name, how) for name, how in uses if name.endswith(("()", ">"))]
    named = [(name, how) for name, how in uses if (name, how) not in hidden]
    if named:
        names = ", ".join(name for name, _ in named)
        if not tamper:
            reason = f"uses {names}, which this assignment asks you to write yourself"
        lines.append(f"Your code uses {names}. This assignment is about writing that piece "
                     f"yourself, so the check gets no points even if the numbers match:")
        lines += [f"  - {name}: {how}" for name, how in named]
        lines.append("Write that piece yourself (the assignment's README says how), and remove "
                     "the import or assignment that brings in torch's version.")
    if hidden:
        if named:
            lines.append("")
        elif not tamper:
            reason = f"runs code the grader cannot read: {hidden[0][1]}"
        lines.append("Your code runs code the grader cannot read, so it cannot tell whether "
                     "that code uses what this assignment asks you to write; the check gets no "
                     "points:")
        lines += [f"  - {how}" for _, how in hidden]
        lines.append("Call what you need by its name instead (no exec, eval, compile, or names "
                     "computed at run time).")
    return reason, "\n".join(lines)


def describe_speed(check, verdict, device):
    timing = getattr(verdict, "timing", None)
    if timing is not None:
        verdict.against = timing.against
    reason = f"{verdict.median:.2f}x {verdict.against_time} (budget {verdict.budget:.3g}x)"
    lines = [f"Timed: {check.title}, on {device}.", "", verdict.describe()]
    if timing is not None and timing.against != "the reference":
        lines += ["", f"Measured against {timing.against}, a torch built-in doing the same "
                      f"work: the reference solution takes {timing.factor:.2f}x its time (recorded "
                      f"when this repository was made), so the budget of {check.budget:g}x the "
                      f"reference is {verdict.budget:.3g}x {timing.against}."]
    if verdict.verdict == "fail" and check.hint:
        lines += ["", check.hint.strip()]
    return reason, "\n".join(lines)


def _load_reason(message):
    """``x.py could not be imported: SyntaxError: ...``: the first line, completed with the
    exception when the first line only announces the traceback."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "could not be imported"
    first = lines[0]
    if first.endswith(":") and len(lines) > 1:
        error = next((line for line in reversed(lines) if not line.startswith(("(", "^", "~"))),
                     lines[-1])
        places = re.findall(r'File "([^"]+)", line (\d+)', message)
        if places:  # what and where first: the table cuts long reasons
            name, line = Path(places[-1][0]).name, places[-1][1]
            return f"{error} at line {line} of {name} (not imported)"
        return f"{first} {error}"
    return first


def _place(check, path, trajectory_length):
    if check.trajectory and path and isinstance(path[0], int):
        of = f" of {trajectory_length}" if trajectory_length else ""
        rest = format_path(path[1:]) if len(path) > 1 else "the snapshot"  # after a step
        return f"diverged at step {path[0] + 1}{of}, in {rest}"
    return f"in {format_path(path)}"


def _where(outcome):
    lines = [line for line in outcome.traceback.splitlines() if line.strip().startswith("File")]
    return ("(raised at " + lines[-1].strip() + ")") if lines else ""


def _wrap(text):
    return text.strip()
