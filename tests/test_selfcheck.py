"""The kit checks itself: for every assignment, the reference scores full marks, the
untouched template scores 0 with "not implemented", and every known mistake loses points
and is named by at least one check."""
import pytest

from autograder.manifest import load_manifest
from autograder.selfcheck import check_assignment

pytestmark = pytest.mark.slow

ASSIGNMENTS = [a.id for a in load_manifest().assignments]


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_assignment_checks_itself(manifest, assignment_id):
    assignment = manifest.assignment(assignment_id)
    outcome = check_assignment(assignment)
    print("\n".join(outcome.lines))
    assert outcome.problems == []
    assert len(assignment.mistakes) >= 8
    named = [line for line in outcome.lines if line.startswith("mistake ")]
    assert len(named) == len(assignment.mistakes)
    assert all("named by no check" not in line for line in named)


def test_an_independent_correct_solution_gets_full_marks(manifest, kit_root):
    """Guards against checks that only the reference's own style can pass (for example,
    snapshots taken as views of tensors that an optimizer later updates in place)."""
    from autograder.grading import grade
    assignment = manifest.assignment("03_adam")
    agreement = [c.id for c in assignment.checks if c.kind == "agreement"]
    report = grade("03_adam", kit_root / "tests" / "solutions" / "independent", checks=agreement)
    failed = [(r.check, r.reason) for r in report.results if r.status != "passed"]
    assert failed == []
    assert report.score == report.max_score > 0
