"""A named mistake never contradicts the other checks: a mistake that would change the
result of a check the solution passed is not named, whether that check ran before or
after (``Grader.reconsider``)."""
from types import SimpleNamespace

from autograder import results as R
from autograder.feedback import describe_diagnosis
from autograder.grading import Grader


class _Reference:
    """Which checks each mistake changes, as a reference side would say."""

    def __init__(self, changes):
        self._changes = changes

    def changes(self, check, mistake):
        return check.id in self._changes[mistake.id]


def _grader(changes, checks=("a", "b", "c")):
    grader = Grader.__new__(Grader)   # no workers: only the bookkeeping is under test
    grader.assignment = SimpleNamespace(
        checks=[SimpleNamespace(id=c, kind="agreement", device="cpu") for c in checks],
        check=lambda cid: SimpleNamespace(id=cid, kind="agreement", device="cpu"))
    grader.reference = _Reference(changes)
    grader._results, grader._named = {}, {}
    return grader


def _mistake(mid):
    return SimpleNamespace(id=mid, title=f"the {mid} mistake", explanation=f"why {mid}")


def _result(check, status, named=()):
    reason = "in x: 1 of 3 elements differ"
    feedback = "Compared: something.\n\nFirst difference, in x"
    if named:
        reason = f"looks like: {named[0].title} ({reason})"
        feedback = f"{feedback}\n\n{describe_diagnosis(list(named))}"
    return R.CheckResult(assignment="toy", check=check, title=check, max_points=1.0,
                         status=status, reason=reason, feedback=feedback,
                         diagnosis=[m.id for m in named])


def test_a_mistake_that_would_fail_a_passed_check_is_not_named():
    zero_grad, no_train = _mistake("zero_grad"), _mistake("no_train")
    grader = _grader({"zero_grad": {"a", "b"}, "no_train": {"a"}})
    grader._results["b"] = _result("b", R.PASSED)
    assert grader._consistent(grader.assignment.check("a"), [zero_grad, no_train]) == [no_train]


def test_evidence_from_a_later_check_rewrites_the_named_mistake():
    first, second = _mistake("first"), _mistake("second")
    grader = _grader({"first": {"a", "c"}, "second": {"a"}})
    failed = _result("a", R.FAILED, [first, second])
    grader._results["a"] = failed
    grader._named["a"] = [first, second]
    grader._results["c"] = _result("c", R.PASSED)      # graded after "a"
    grader.reconsider([failed, grader._results["c"]])
    assert failed.diagnosis == ["second"]
    assert failed.reason == "looks like: the second mistake (in x: 1 of 3 elements differ)"
    assert "the first mistake" not in failed.feedback and "the second mistake" in failed.feedback
    assert failed.feedback.count("Diagnosis:") == 1


def test_when_every_named_mistake_is_ruled_out_none_is_named():
    only = _mistake("only")
    grader = _grader({"only": {"a", "b"}})
    failed = _result("a", R.FAILED, [only])
    grader._results.update(a=failed, b=_result("b", R.PASSED))
    grader._named["a"] = [only]
    grader.reconsider([failed])
    assert failed.diagnosis == [] and "Diagnosis" not in failed.feedback
    assert failed.reason == "in x: 1 of 3 elements differ"


def test_a_check_that_failed_too_rules_nothing_out():
    mistake = _mistake("m")
    grader = _grader({"m": {"a", "b"}})
    grader._results["b"] = _result("b", R.FAILED)
    assert grader._consistent(grader.assignment.check("a"), [mistake]) == [mistake]


def test_looks_like_a_mistake_by_the_stated_criterion():
    import torch

    from autograder.compare import looks_like
    g = torch.Generator().manual_seed(0)
    reference = {"w": torch.randn(50, generator=g, dtype=torch.float64), "loss": 0.5}
    shift = torch.randn(50, generator=g, dtype=torch.float64)
    variant = {"w": reference["w"] + shift, "loss": 0.75}
    near = {"w": reference["w"] + 0.97 * shift + 1e-3 * torch.randn(50, generator=g,
                                                                   dtype=torch.float64),
            "loss": 0.74}
    assert looks_like(variant, reference, near)
    # halfway: as close to the reference as to the mistake
    half = {"w": reference["w"] + 0.5 * shift, "loss": 0.625}
    assert not looks_like(variant, reference, half)
    # the other way from the reference
    opposite = {"w": reference["w"] - shift, "loss": 0.25}
    assert not looks_like(variant, reference, opposite)
    # another structure never looks alike
    assert not looks_like(variant, reference, {"w": near["w"][:10], "loss": 0.74})
    assert not looks_like(variant, reference, {"w": near["w"]})


def test_an_exact_leaf_the_mistake_changes_must_change_in_the_result_too():
    """A flag, a count or an exception's name that the mistake changes and the student's
    result does not is evidence against the mistake, however close the numbers are (a
    checkpoint without the optimizer is not one that pickles the model object, although
    both leave the optimizer's step count as a fresh optimizer's)."""
    import torch

    from autograder.compare import looks_like
    reference = {"steps": 92.0, "epoch": 2, "restored": {"rng": True, "optimizer": True},
                 "w": torch.zeros(3, dtype=torch.float64)}
    variant = {"steps": 46.0, "epoch": "raises UnpicklingError",
               "restored": {"rng": False, "optimizer": False},
               "w": torch.zeros(3, dtype=torch.float64)}
    got = {"steps": 46.0, "epoch": 2, "restored": {"rng": True, "optimizer": False},
           "w": torch.zeros(3, dtype=torch.float64)}
    assert not looks_like(variant, reference, got)
    same_way = dict(got, epoch="raises UnpicklingError", restored={"rng": False,
                                                                  "optimizer": False})
    assert looks_like(variant, reference, same_way)
