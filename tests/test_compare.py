"""compare_values: structure before values, dtype-aware tolerances, readable evidence."""
import math

import pytest
import torch

from autograder import feedback, wire
from autograder.compare import MAX_MISMATCHES, compare_values, format_path
from autograder.manifest import Check
from autograder.tolerance import TOLERANCE_CLASSES, tolerance_for, tolerance_for_python_float

FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def only_mismatch(comparison):
    assert not comparison.ok
    assert len(comparison.mismatches) == 1, comparison.mismatches
    return comparison.mismatches[0]


def assert_close_passes(expected, got):
    try:
        torch.testing.assert_close(got, expected)
    except AssertionError:
        return False
    return True


# --------------------------------------------------------------------------- structure


def test_identical_results_are_ok():
    value = {"w": torch.arange(6.0).reshape(2, 3), "steps": [1, 2.5, "x", None, True]}
    comparison = compare_values(value, value)
    assert comparison.ok
    assert comparison.first is None
    assert comparison.leaves == 6


def test_column_vector_for_vector_is_a_shape_mismatch_that_names_the_broadcast():
    n = 5
    m = only_mismatch(compare_values(torch.zeros(n), torch.zeros(n, 1)))
    assert m.kind == "shape"
    assert "(5,)" in m.summary and "(5, 1)" in m.summary
    assert m.summary == "expected shape (5,), got (5, 1)"
    text = " ".join(m.details)
    assert "broadcast" in text
    assert "(5, 5)" in text
    assert m.path == ()
    assert m.where == "the result"


def test_shapes_that_do_not_broadcast_have_no_broadcast_hint():
    m = only_mismatch(compare_values(torch.zeros(3), torch.zeros(4)))
    assert m.kind == "shape"
    assert m.details == []


def test_shape_is_checked_before_values_and_dtype():
    # Different shape, dtype and values at once: only the shape is reported.
    m = only_mismatch(compare_values(torch.zeros(3), torch.ones(2, dtype=torch.float64)))
    assert m.kind == "shape"


def test_float64_for_float32_is_a_dtype_mismatch_with_a_hint():
    m = only_mismatch(compare_values(torch.zeros(3), torch.zeros(3, dtype=torch.float64)))
    assert m.kind == "dtype"
    assert "float32" in m.summary and "float64" in m.summary
    assert any("float64 crept in" in d for d in m.details)


def test_integer_result_for_float_gets_an_integer_hint():
    m = only_mismatch(compare_values(torch.zeros(3), torch.zeros(3, dtype=torch.int64)))
    assert m.kind == "dtype"
    assert any("integer" in d for d in m.details)
    assert not any("float64 crept in" in d for d in m.details)


def test_dtype_is_checked_before_values():
    m = only_mismatch(compare_values(torch.zeros(3), torch.full((3,), 7.0, dtype=torch.float64)))
    assert m.kind == "dtype"


def test_device_mismatch_is_reported_before_values():
    expected = torch.zeros(3)
    got = torch.empty(3, device="meta")
    m = only_mismatch(compare_values(expected, got))
    assert m.kind == "device"
    assert "cpu" in m.summary and "meta" in m.summary


def test_tensor_versus_list_is_a_type_mismatch():
    m = only_mismatch(compare_values(torch.zeros(3), [0.0, 0.0, 0.0]))
    assert m.kind == "type"
    assert m.summary == "expected a Tensor, got a list"


def test_list_versus_tensor_is_a_type_mismatch():
    m = only_mismatch(compare_values([0.0], torch.zeros(1)))
    assert m.kind == "type"
    assert m.summary == "expected a list, got a Tensor"


def test_int_versus_float_is_a_type_mismatch():
    m = only_mismatch(compare_values(1, 1.0))
    assert m.kind == "type"
    assert m.summary == "expected an int, got a float"


def test_bool_versus_int_is_a_type_mismatch():
    m = only_mismatch(compare_values(True, 1))
    assert m.kind == "type"
    assert "bool" in m.summary and "int" in m.summary


def test_tuple_versus_list_is_a_type_mismatch():
    m = only_mismatch(compare_values((1, 2), [1, 2]))
    assert m.kind == "type"
    assert m.summary == "expected a tuple, got a list"


def test_opaque_marker_is_described_by_its_type_name():
    m = only_mismatch(compare_values(torch.zeros(2), {wire.OPAQUE_KEY: "foo.Bar"}))
    assert m.kind == "type"
    assert m.summary == "expected a Tensor, got an object of type foo.Bar"


def test_none_is_described_as_none():
    m = only_mismatch(compare_values(torch.zeros(2), None))
    assert m.summary == "expected a Tensor, got None"


def test_dict_missing_and_unexpected_keys():
    expected = {"a": 1, "b": 2, "c": 3}
    got = {"a": 1, "c": 3, "z": 9}
    m = only_mismatch(compare_values(expected, got))
    assert m.kind == "keys"
    assert "missing 'b'" in m.summary
    assert "unexpected 'z'" in m.summary
    assert any("['a', 'b', 'c']" in d for d in m.details)
    assert any("['a', 'c', 'z']" in d for d in m.details)


def test_dict_common_keys_are_still_compared_after_a_key_mismatch():
    comparison = compare_values({"a": 1, "b": 2}, {"a": 5})
    kinds = [(m.kind, m.path) for m in comparison.mismatches]
    assert kinds == [("keys", ()), ("value", ("a",))]


def test_list_length_mismatch_and_common_prefix_is_compared():
    comparison = compare_values([1, 2, 3], [1, 9])
    assert [m.kind for m in comparison.mismatches] == ["length", "value"]
    assert comparison.mismatches[0].summary == "expected 3 items, got 2"
    assert comparison.mismatches[1].path == (1,)


def test_nested_paths_are_formatted_for_students():
    expected = {"steps": [{"exp_avg": torch.zeros(2)}, {"exp_avg": torch.zeros(2)}]}
    got = {"steps": [{"exp_avg": torch.zeros(2)}, {"exp_avg": torch.ones(2)}]}
    m = only_mismatch(compare_values(expected, got))
    assert m.path == ("steps", 1, "exp_avg")
    assert m.where == "steps › item 2 › exp_avg"   # positions counted from 1
    assert format_path(()) == "the result"


def test_scalar_string_and_none_leaves():
    assert compare_values(["abc", None, 3], ["abc", None, 3]).ok
    m = only_mismatch(compare_values("abc", "abd"))
    assert m.kind == "value"
    assert m.summary == "expected 'abc', got 'abd'"


def test_number_of_reported_mismatches_is_capped():
    n = MAX_MISMATCHES + 5
    comparison = compare_values(list(range(n)), [i + 1 for i in range(n)])
    assert len(comparison.mismatches) == MAX_MISMATCHES
    assert comparison.truncated
    assert comparison.leaves == n


# --------------------------------------------------------------------------- finiteness


def test_nan_where_finite_expected_is_nonfinite_and_names_first_index():
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    got = torch.tensor([[1.0, 2.0], [float("nan"), float("inf")]])
    m = only_mismatch(compare_values(expected, got))
    assert m.kind == "nonfinite"
    assert m.summary.startswith("2 of 4 elements")
    assert "first at element [1, 0]" in m.details[0]
    assert "expected 3.0" in m.details[0] and "got nan" in m.details[0]


def test_nonfinite_on_a_zero_dim_tensor():
    m = only_mismatch(compare_values(torch.tensor(2.0), torch.tensor(float("nan"))))
    assert m.kind == "nonfinite"
    assert "first at element [()]" in m.details[0]


def test_nan_in_both_at_the_same_place_is_ok():
    expected = torch.tensor([1.0, float("nan"), 3.0])
    assert compare_values(expected, expected.clone()).ok


def test_nan_in_both_but_at_different_places_is_not_ok():
    expected = torch.tensor([1.0, float("nan"), 3.0])
    got = torch.tensor([float("nan"), 2.0, 3.0])
    assert not compare_values(expected, got).ok


def test_matching_infinities_are_ok():
    expected = torch.tensor([float("inf"), -float("inf"), 1.0])
    assert compare_values(expected, expected.clone()).ok


@pytest.mark.parametrize("expected, got", [
    ([float("nan")], [5.0]),
    ([float("inf")], [5.0]),
    ([-float("inf")], [float("inf")]),
], ids=["nan-vs-finite", "inf-vs-finite", "neg-inf-vs-inf"])
def test_a_nonfinite_expected_element_is_not_matched_by_anything(expected, got):
    expected, got = torch.tensor(expected), torch.tensor(got)
    assert not assert_close_passes(expected, got)  # torch agrees these differ
    assert not compare_values(expected, got).ok


def test_python_float_nan_against_number_is_a_mismatch():
    assert not compare_values(float("nan"), 5.0).ok
    assert compare_values(float("nan"), float("nan")).ok


def test_python_float_equal_infinities_are_ok():
    assert compare_values(float("inf"), float("inf")).ok


def test_python_float_infinity_against_finite_is_a_mismatch():
    assert not compare_values(float("inf"), 5.0).ok


# --------------------------------------------------------------------------- values


def test_value_report_numbers_on_a_crafted_example():
    expected = torch.tensor([[1.0, 2.0, 4.0], [8.0, 10.0, 0.5]])
    got = torch.tensor([[1.0, 2.5, 4.0], [8.0, 7.0, 0.5]])
    # errors: 0.5 at (0, 1) (relative 0.25); 3.0 at (1, 0) (relative 0.3)
    m = only_mismatch(compare_values(expected, got))
    assert m.kind == "values"
    assert m.summary == "2 of 6 elements (33.3%) differ beyond tolerance"
    assert m.details[0] == "shape (2, 3), float32, on cpu"
    assert "max absolute error 3," in m.details[1]
    assert "max relative error 0.3 " in m.details[1]
    assert "rtol=1.3e-06, atol=1e-05" in m.details[1]
    assert m.details[2] == "worst at element [1, 1]: expected 10.0, got 7.0"


def test_value_report_counts_percentage():
    expected = torch.zeros(8, dtype=torch.float64)
    got = expected.clone()
    got[5] = 1.0
    m = only_mismatch(compare_values(expected, got))
    assert m.summary == "1 of 8 elements (12.5%) differ beyond tolerance"
    assert "worst at element [5]: expected 0.0, got 1.0" in m.details[2]


def test_integer_tensors_are_exact():
    expected = torch.tensor([1, 2, 3])
    assert compare_values(expected, expected.clone()).ok
    m = only_mismatch(compare_values(expected, torch.tensor([1, 2, 4])))
    assert m.kind == "values"
    assert m.summary.startswith("1 of 3 elements")
    assert "worst at element [2]: expected 3, got 4" in m.details[2]
    assert "rtol=0, atol=0" in m.details[1]


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int32, torch.int64])
def test_every_integer_dtype_is_exact_even_with_a_loose_class(dtype):
    tol = tolerance_for(dtype, "trajectory")
    assert (tol.rtol, tol.atol) == (0.0, 0.0)
    expected = torch.tensor([100, 101], dtype=dtype)
    got = torch.tensor([100, 102], dtype=dtype)
    assert not compare_values(expected, got, "trajectory").ok


def test_bool_tensors_are_exact():
    expected = torch.tensor([True, False, True])
    assert compare_values(expected, expected.clone()).ok
    m = only_mismatch(compare_values(expected, torch.tensor([True, True, True])))
    assert m.kind == "values"
    assert "worst at element [1]: expected False, got True" in m.details[2]


# --------------------------------------------------------------------------- tolerances


def _boundary_pair(x, dtype, direction):
    """The last representable value torch accepts next to ``x`` and the first it rejects."""
    expected = torch.tensor([x], dtype=dtype)
    rtol, atol = torch.testing._comparison.default_tolerances(dtype)
    start = (expected.double() + direction * (atol + rtol * abs(x))).to(dtype)
    outward = torch.tensor([direction * math.inf], dtype=dtype)
    inward = torch.tensor([-direction * math.inf], dtype=dtype)
    candidate = start
    while not assert_close_passes(expected, candidate):
        candidate = torch.nextafter(candidate, inward)
    while assert_close_passes(expected, torch.nextafter(candidate, outward)):
        candidate = torch.nextafter(candidate, outward)
    return expected, candidate, torch.nextafter(candidate, outward)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("x", [1.0, -3.0, 0.75, 100.0, 7.125])
@pytest.mark.parametrize("direction", [1, -1])
def test_default_class_agrees_with_assert_close_at_the_boundary(dtype, x, direction):
    expected, inside, outside = _boundary_pair(x, dtype, direction)
    # one representable step apart, on either side of torch's tolerance
    assert torch.nextafter(inside, outside).item() == outside.item()
    assert assert_close_passes(expected, inside)
    assert not assert_close_passes(expected, outside)
    assert compare_values(expected, inside).ok
    m = only_mismatch(compare_values(expected, outside))
    assert m.kind == "values"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + [torch.complex64, torch.complex128], ids=str)
def test_default_class_has_torch_default_tolerances(dtype):
    rtol, atol = torch.testing._comparison.default_tolerances(dtype)
    tol = tolerance_for(dtype)
    assert (tol.rtol, tol.atol) == (rtol, atol)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_default_class_agrees_with_assert_close_on_a_random_tensor(dtype):
    generator = torch.Generator().manual_seed(0)
    expected = torch.randn(200, generator=generator).to(dtype)
    rtol, atol = torch.testing._comparison.default_tolerances(dtype)
    # errors well inside (half) and well outside (twice) the allowed error
    allowed = atol + rtol * expected.double().abs()
    inside = (expected.double() + 0.5 * allowed).to(dtype)
    outside = (expected.double() + 2.0 * allowed).to(dtype)
    assert assert_close_passes(expected, inside) and compare_values(expected, inside).ok
    assert not assert_close_passes(expected, outside)
    assert not compare_values(expected, outside).ok


def _class_and_dtype_cases():
    for name in ("reduction", "trajectory"):
        for dtype in FLOAT_DTYPES + [torch.complex64, torch.complex128]:
            yield pytest.param(name, dtype, id=f"{name}-{dtype}")


@pytest.mark.parametrize("name, dtype", list(_class_and_dtype_cases()))
def test_named_classes_are_no_tighter_than_default(name, dtype):
    default, loose = tolerance_for(dtype), tolerance_for(dtype, name)
    assert loose.rtol >= default.rtol and loose.atol >= default.atol
    assert (loose.rtol, loose.atol) != (default.rtol, default.atol) or dtype in (
        torch.float64, torch.complex128)


@pytest.mark.parametrize("name", ["reduction", "trajectory"])
def test_named_class_accepts_what_default_accepts_for_float64_near_zero(name):
    expected = torch.tensor([0.0, 1e-8], dtype=torch.float64)
    got = torch.tensor([5e-8, 6e-8], dtype=torch.float64)  # absolute errors 5e-8: within 1e-7
    assert compare_values(expected, got).ok
    assert compare_values(expected, got, name).ok


@pytest.mark.parametrize("name", ["reduction", "trajectory"])
def test_named_class_accepts_what_default_rejects_for_float32(name):
    expected = torch.tensor([1.0, 2.0, 3.0])
    got = expected * (1 + 5e-6)  # relative error 5e-6: beyond 1.3e-6, within 1e-5
    assert not compare_values(expected, got).ok
    assert compare_values(expected, got, name).ok


def test_rtol_and_atol_override_the_class():
    expected = torch.tensor([1.0, 2.0])
    got = torch.tensor([1.1, 2.0])
    assert not compare_values(expected, got).ok
    assert compare_values(expected, got, rtol=0.2).ok
    assert compare_values(expected, got, rtol=0.0, atol=0.2).ok
    assert not compare_values(expected, got, rtol=0.0, atol=0.05).ok
    m = only_mismatch(compare_values(expected, got, rtol=0.0, atol=0.05))
    assert "rtol=0, atol=0.05" in m.details[1]
    # overrides also apply to Python floats
    assert compare_values(1.0, 1.1, atol=0.2).ok
    assert not compare_values(1.0, 1.1).ok


def test_override_keeps_the_other_value_from_the_class():
    tol = tolerance_for(torch.float32, "default", rtol=0.5)
    assert (tol.rtol, tol.atol) == (0.5, 1e-5)
    tol = tolerance_for(torch.float32, "trajectory", atol=0.0)
    assert (tol.rtol, tol.atol) == (1e-4, 0.0)


def test_unknown_tolerance_class_raises_value_error():
    with pytest.raises(ValueError, match="unknown tolerance class 'sloppy'"):
        compare_values(torch.zeros(1), torch.zeros(1), "sloppy")
    with pytest.raises(ValueError):
        tolerance_for(torch.float32, "sloppy")
    assert set(TOLERANCE_CLASSES) == {"default", "reduction", "trajectory"}


# --------------------------------------------------------------------------- odd inputs


def test_empty_tensors_compare_fine():
    assert compare_values(torch.zeros(0), torch.zeros(0)).ok
    assert compare_values(torch.zeros(0, 3), torch.ones(0, 3)).ok
    m = only_mismatch(compare_values(torch.zeros(0, 3), torch.zeros(3, 0)))
    assert m.kind == "shape"


def test_non_contiguous_inputs_compare_by_value():
    base = torch.arange(12.0).reshape(3, 4)
    transposed = base.t()
    assert not transposed.is_contiguous()
    assert compare_values(transposed.contiguous(), transposed).ok
    assert compare_values(transposed, transposed.contiguous()).ok
    wrong = transposed.clone()
    wrong[2, 1] = -1.0
    m = only_mismatch(compare_values(transposed, wrong))
    assert "worst at element [2, 1]: expected 6.0, got -1.0" in m.details[2]


def test_tensors_that_require_grad_are_compared_by_value():
    expected = torch.ones(3, requires_grad=True)
    got = (torch.ones(3, requires_grad=True) * 1.0)
    assert compare_values(expected, got).ok


def test_python_floats_use_float64_tolerance():
    tol = tolerance_for_python_float()
    assert (tol.rtol, tol.atol) == (1e-7, 1e-7)
    x = 1000.0
    allowed = 1e-7 + 1e-7 * x
    assert compare_values(x, x + 0.9 * allowed).ok
    m = only_mismatch(compare_values(x, x + 1.1 * allowed))
    assert m.kind == "value"
    assert "rtol=1e-07, atol=1e-07" in m.details[0]
    # a relative error that float32's tolerance would accept is rejected for a Python float
    assert not compare_values(1.0, 1.0 + 1e-6).ok


def test_python_ints_are_exact():
    assert compare_values(10**12, 10**12).ok
    assert not compare_values(10**12, 10**12 + 1).ok


# --------------------------------------------------------------------------- trajectories


def _trajectory(n, diverge_at=None, size=3):
    steps = []
    for step in range(n):
        param = torch.full((size,), float(step))
        if diverge_at is not None and step >= diverge_at:
            param = param + 10.0 * (step - diverge_at + 1)  # error grows after divergence
        steps.append({"param": param, "step": step})
    return steps


def test_first_mismatch_of_a_trajectory_is_the_earliest_step():
    expected, got = _trajectory(6), _trajectory(6, diverge_at=2)
    comparison = compare_values(expected, got)
    assert [m.path for m in comparison.mismatches] == [(2, "param"), (3, "param"),
                                                       (4, "param"), (5, "param")]
    assert comparison.first.path == (2, "param")


def test_describe_mismatch_says_where_a_trajectory_diverged():
    check = Check(id="adam_steps", title="ten Adam steps", kind="agreement", scenario="x",
                  points=1, trajectory=True)
    expected, got = _trajectory(10), _trajectory(10, diverge_at=3)
    comparison = compare_values(expected, got)
    reason, text = feedback.describe_mismatch(check, comparison, trajectory_length=10)
    assert "diverged at step 4 of 10" in reason
    assert reason.startswith("diverged at step 4 of 10, in param: ")
    assert reason.endswith(comparison.first.summary)
    assert text.startswith("Compared: ten Adam steps.")
    assert "First difference, diverged at step 4 of 10" in text
    # the same convention as the first difference: steps counted from 1
    assert "Also different: step 5 › param, step 6 › param, step 7 › param, step 8 › param " \
        "and 2 more." in text


def test_describe_mismatch_for_a_whole_snapshot_and_without_length():
    check = Check(id="c", title="t", kind="agreement", scenario="x", points=1, trajectory=True)
    comparison = compare_values([1, 2, 3], [1, 2, 4])
    reason, _ = feedback.describe_mismatch(check, comparison)
    assert reason.startswith("diverged at step 3, in the snapshot")


def test_describe_mismatch_without_trajectory_names_the_path():
    check = Check(id="c", title="t", kind="agreement", scenario="x", points=1)
    comparison = compare_values(_trajectory(4), _trajectory(4, diverge_at=1))
    reason, _ = feedback.describe_mismatch(check, comparison, trajectory_length=4)
    assert reason.startswith("in item 2 › param: ")
    assert "diverged" not in reason


def test_max_mismatch_allows_a_stated_share_of_differing_elements():
    expected = torch.arange(10_000).remainder(251).to(torch.uint8)
    got = expected.clone()
    got[[3, 500, 4000, 7000, 9999]] += 1
    assert compare_values(expected, got, max_mismatch=0.001).ok
    for strict in (0.0, 0.0001):
        comparison = compare_values(expected, got, max_mismatch=strict)
        assert not comparison.ok
        if strict:
            assert any("may differ" in line for line in comparison.first.details)
    floats = expected.to(torch.float32) / 255
    assert compare_values(floats, got.to(torch.float32) / 255, max_mismatch=0.001).ok
    assert not compare_values(floats, got.to(torch.float32) / 255).ok
