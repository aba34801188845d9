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
