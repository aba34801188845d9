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


def test_independent_correct_solutions_get_full_marks(manifest, kit_root, tmp_path):
    """A second, independently written correct solution of every assignment
    (tests/solutions/independent/) scores full marks on every agreement check. Guards
    against checks that only the reference's own style can pass (for example, snapshots
    taken as views of tensors that an optimizer later updates in place, or a torch.Size
    where a tuple was expected). Graded as one batch, as an instructor would."""
    import shutil

    from autograder.batch.run import Options, grade_class
    independent = kit_root / "tests" / "solutions" / "independent"
    assert sorted(p.name for p in independent.iterdir()) == [a.id for a in manifest.assignments]
    shutil.copytree(independent, tmp_path / "submissions" / "independent")
    batch = grade_class(Options(submissions=tmp_path / "submissions", out=tmp_path / "out",
                                speed=False, progress=False, cache=tmp_path / "cache"),
                        manifest=manifest)
    for assignment in manifest.assignments:
        results = batch.results[("independent", assignment.id)]
        agreement = [c.id for c in assignment.checks
                     if c.kind == "agreement" and c.device == "cpu"]
        assert sorted(r.check for r in results if r.check in agreement) == sorted(agreement)
        failed = [(r.check, r.status, r.reason) for r in results
                  if r.check in agreement and r.status != "passed"]
        assert failed == [], assignment.id
