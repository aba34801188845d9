"""The kit checks itself, per assignment:

- the reference scores full marks;
- the untouched template scores 0, every check saying "not implemented";
- every known mistake, applied to a copy of the reference, loses points and
  is named in the feedback of at least one check it fails. Where the snapshots are in
  sync with the kit, a mistake is graded on the checks whose result it changes (the
  snapshots list them): the checks it does not change pass for it as for the reference,
  and they cannot rule out its name either (a check rules a mistake out only when the
  mistake changes it), so the outcome is the same as grading every check, without the
  speed checks' timing;
- student_template/ is in sync with reference/.

One reference worker serves all of these gradings, as it would a class batch.
"""
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder import results as R
from autograder.grading import Grader, ReferenceSide
from autograder.manifest import REFERENCE_ROOT, TEMPLATE_ROOT, apply_patches
from autograder.template import template_differences
from autograder.zygote import start as start_zygote


@dataclass
class SelfCheck:
    assignment: str
    problems: list = field(default_factory=list)
    lines: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems


def build_mistake_tree(assignment, mistake, destination, reference_root=REFERENCE_ROOT):
    """Copy the reference's assignment folder under ``destination`` with the mistake applied."""
    source = Path(reference_root) / assignment.id
    target = Path(destination) / assignment.id
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    path = target / mistake.file
    path.write_text(apply_patches(path.read_text(), mistake))
    return Path(destination)


def check_assignment(assignment, checks=None, mistakes=None, cuda=None):
    """Run every self-check of ``assignment``; ``checks`` limits which checks are graded."""
    outcome = SelfCheck(assignment.id)
    selected = [c for c in assignment.checks if checks is None or c.id in checks]
    reference = ReferenceSide(assignment)
    zygote = start_zygote([assignment.scenarios_path])   # workers forked warm, as in a batch
    try:
        _expect_full_marks(outcome, _grade(assignment, REFERENCE_ROOT, reference, selected,
                                           cuda, zygote))
        _expect_zero(outcome, _grade(assignment, TEMPLATE_ROOT, reference, selected, cuda,
                                     zygote))
        chosen = [m for m in assignment.mistakes if mistakes is None or m.id in mistakes]
        changed = _changed_checks(assignment, selected)
        with tempfile.TemporaryDirectory(prefix="kit-mistakes-") as scratch:
            for mistake in chosen:
                checks = selected if changed is None else changed.get(mistake.id, [])
                if not checks:
                    outcome.problems.append(f"mistake {mistake.id} changes the result of no "
                                            f"check (the snapshots record none)")
                    continue
                tree = build_mistake_tree(assignment, mistake, Path(scratch) / mistake.id)
                report = _grade(assignment, tree, reference, checks, cuda, zygote)
                _expect_named(outcome, mistake, report)
    finally:
        reference.close()
        if zygote is not None:
            zygote.close()
    for problem in template_differences(REFERENCE_ROOT, TEMPLATE_ROOT, [assignment.id]):
        outcome.problems.append(f"template out of date: {problem.splitlines()[0]}")
    return outcome


def _changed_checks(assignment, selected):
    """mistake id -> the selected checks whose result it changes, from the snapshots; None
    when they are missing or out of date (every selected check is graded then)."""
    from autograder import snapshots
    recorded = snapshots.SnapshotSet.of(assignment)
    if recorded is None or recorded.data.get("digest") != snapshots.digest(assignment):
        return None
    changed = {}
    for check in selected:
        if recorded.covers(check):
            for mistake_id in recorded.mistakes(check):
                changed.setdefault(mistake_id, []).append(check)
    return changed


def _grade(assignment, root, reference, checks, cuda, zygote=None):
    grader = Grader(assignment, root, reference, cuda=cuda, zygote=zygote)
    try:
        return grader.run_all(checks)
    finally:
        grader.close()


def _expect_full_marks(outcome, report):
    outcome.lines.append(f"reference: {report.score:g}/{report.max_score:g}")
    for r in report.results:
        if r.counts and r.status != R.PASSED:
            outcome.problems.append(f"reference fails {r.check}: {r.status}: {r.reason}")


def _expect_zero(outcome, report):
    outcome.lines.append(f"template: {report.score:g}/{report.max_score:g}")
    for r in report.results:
        if r.counts and (r.points or r.status != R.NOT_IMPLEMENTED):
            outcome.problems.append(f"template on {r.check}: expected 0 and 'not implemented', "
                                    f"got {r.points:g} and {r.status}: {r.reason}")


def _expect_named(outcome, mistake, report):
    named = [r.check for r in report.results if mistake.id in r.diagnosis]
    outcome.lines.append(f"mistake {mistake.id}: {report.score:g}/{report.max_score:g}, "
                         f"named by {', '.join(named) or 'no check'}")
    if report.score >= report.evaluated_max:
        outcome.problems.append(f"mistake {mistake.id} loses no points")
    if not named:
        outcome.problems.append(f"mistake {mistake.id} is not named by any check")
