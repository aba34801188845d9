"""Speed verdicts from paired, interleaved ratios, with synthetic (deterministic) timers."""
import math
import random
import statistics
from types import SimpleNamespace

import pytest

from autograder.timing import (FAIL, INCONCLUSIVE, PASS, SpeedPolicy, TimedCallFailed,
                               decide_verdict, measure_speed, median_interval)

# Powers of two keep block_seconds / cost exact: 8 calls per timed block.
COST = 1.0 / 1024
FAST = SpeedPolicy(block_seconds=8 * COST, min_pairs=6, max_pairs=12, rounds=3,
                   warmup_calls=2, gross_factor=10.0)


def fixed(cost):
    return lambda n: n * cost


def binomial_cdf(k, n):
    """P(Binomial(n, 1/2) <= k)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


# --------------------------------------------------------------------------- median_interval


def test_interval_for_six_values_is_min_to_max():
    values = [3.0, 1.0, 6.0, 2.0, 5.0, 4.0]
    median, low, high = median_interval(values)
    assert median == 3.5
    assert (low, high) == (1.0, 6.0)
    # [x(1), x(6)] misses the median only if all six fall on one side
    assert 1 - 2 * binomial_cdf(0, 6) >= 0.95


def test_interval_for_twenty_values_is_sixth_to_fifteenth_order_statistic():
    ordered = [float(i) for i in range(1, 21)]
    shuffled = ordered[:]
    random.Random(1).shuffle(shuffled)
    median, low, high = median_interval(shuffled)
    assert median == 10.5
    assert (low, high) == (ordered[5], ordered[14])  # x(6), x(15)
    # coverage of [x(k), x(n-k+1)] is 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2)
    coverage_k6 = 1 - 2 * binomial_cdf(5, 20)
    coverage_k7 = 1 - 2 * binomial_cdf(6, 20)
    assert coverage_k6 >= 0.95          # the interval returned holds its claim
    assert coverage_k7 < 0.95           # and the next narrower one would not
    assert math.isclose(coverage_k6, 1 - 2 * 21700 / 2 ** 20)


@pytest.mark.parametrize("n", range(6, 41))
def test_interval_is_the_narrowest_with_95_percent_coverage(n):
    values = list(range(n))
    _, low, high = median_interval(values)
    k = low + 1                         # values are 0..n-1, so x(k) = k - 1
    assert high == n - k                # symmetric: x(n-k+1)
    assert 1 - 2 * binomial_cdf(k - 1, n) >= 0.95
    assert 1 - 2 * binomial_cdf(k, n) < 0.95


def test_median_of_odd_count_and_confidence_parameter():
    median, low, high = median_interval([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0])
    assert median == 5.0
    assert low <= median <= high
    # a lower confidence never gives a wider interval
    values = list(range(30))
    _, low95, high95 = median_interval(values, 0.95)
    _, low80, high80 = median_interval(values, 0.80)
    assert low95 <= low80 and high80 <= high95
    assert (low80, high80) != (low95, high95)


# --------------------------------------------------------------------------- decide_verdict


def test_all_ratios_within_budget_pass():
    assert decide_verdict([1.0, 1.2, 0.9, 1.1, 1.05, 0.95], budget=2.0) == PASS
    assert decide_verdict([2.0] * 6, budget=2.0) == PASS  # exactly on the budget is within


def test_all_ratios_above_budget_fail():
    assert decide_verdict([3.1, 4.0, 3.5, 5.0, 3.2, 3.3], budget=3.0) == FAIL


def test_ratios_straddling_the_budget_are_inconclusive():
    assert decide_verdict([2.5, 2.8, 3.1, 3.4, 2.9, 3.2], budget=3.0) == INCONCLUSIVE


def test_verdict_uses_the_interval_not_just_the_median():
    # median far below the budget, but one of six (the interval's edge) above it
    assert decide_verdict([1.0, 1.0, 1.0, 1.0, 1.0, 5.0], budget=3.0) == INCONCLUSIVE
    # with twenty values the interval drops the extremes, so outliers do not matter
    ratios = [1.0] * 18 + [50.0, 60.0]
    assert decide_verdict(ratios, budget=3.0) == PASS


# --------------------------------------------------------------------------- measure_speed


def test_equal_costs_pass_with_median_one():
    verdict = measure_speed(fixed(COST), fixed(COST), budget=2.0, policy=FAST)
    assert verdict.verdict == PASS
    assert verdict.median == 1.0 and verdict.low == 1.0 and verdict.high == 1.0
    assert len(verdict.ratios) == FAST.min_pairs      # decided as early as allowed
    assert verdict.rounds == 1
    assert verdict.iterations == 8
    assert verdict.reference_seconds == COST and verdict.student_seconds == COST
    assert verdict.note == ""
    assert "1.00x the reference time" in verdict.describe()
    assert "budget 2x" in verdict.describe()


def test_ten_times_slower_with_budget_three_fails():
    verdict = measure_speed(fixed(10 * COST), fixed(COST), budget=3.0, policy=FAST)
    assert verdict.verdict == FAIL
    assert verdict.median == pytest.approx(10.0)
    assert len(verdict.ratios) == FAST.min_pairs
    assert "warm-up" not in verdict.note                # measured, not decided on warm-up
    assert verdict.student_seconds == pytest.approx(10 * COST)


def test_a_gross_gap_fails_on_the_warm_up():
    calls = []

    def student(n):
        calls.append(("S", n))
        return n * 1000 * COST

    def reference(n):
        calls.append(("R", n))
        return n * COST

    verdict = measure_speed(student, reference, budget=3.0, policy=FAST)
    assert verdict.verdict == FAIL
    assert verdict.median == pytest.approx(1000.0)
    assert verdict.ratios == [pytest.approx(1000.0)]
    assert "warm-up" in verdict.note
    assert "warm-up" in verdict.describe()
    # only the warm-up calls of one call each were made, no timed blocks
    assert all(n == 1 for _, n in calls)
    # the reference warms up fully; a grossly slow student is called only twice
    assert calls.count(("R", 1)) == FAST.warmup_calls + 1
    assert calls.count(("S", 1)) == 2


def test_warm_up_ignores_the_first_slow_call():
    first = [True]

    def student(n):
        if first[0]:  # e.g. compilation or a cold cache: 1000x on the first call only
            first[0] = False
            return 1000 * COST
        return n * COST

    verdict = measure_speed(student, fixed(COST), budget=2.0, policy=FAST)
    assert verdict.verdict == PASS
    assert verdict.note == ""


def test_noisy_ratio_around_the_budget_runs_every_round_and_is_inconclusive():
    rng = random.Random(1234)
    budget = 3.0
    calls = {"S": 0, "R": 0}

    def student(n):
        calls["S"] += 1
        return n * COST * budget * rng.uniform(0.7, 1.3)

    def reference(n):
        calls["R"] += 1
        return n * COST

    verdict = measure_speed(student, reference, budget=budget, policy=FAST)
    assert verdict.verdict == INCONCLUSIVE
    assert verdict.rounds == FAST.rounds
    assert len(verdict.ratios) == FAST.max_pairs    # the last round's pairs only
    assert verdict.low <= budget < verdict.high
    timed = FAST.rounds * FAST.max_pairs
    assert calls == {"S": FAST.warmup_calls + 1 + timed, "R": FAST.warmup_calls + 1 + timed}


def test_noisy_ratio_well_under_budget_passes():
    rng = random.Random(99)
    student = lambda n: n * COST * rng.uniform(0.6, 1.6)   # noisy ratio around 1.1
    verdict = measure_speed(student, fixed(COST), budget=3.0, policy=FAST)
    assert verdict.verdict == PASS
    assert verdict.rounds == 1
    assert verdict.high <= 3.0
    assert verdict.median == statistics.median(verdict.ratios)


def test_a_later_round_can_settle_an_inconclusive_first_round():
    budget = 3.0
    timed_calls = [0]
    noisy = [1.0, 5.0] * FAST.max_pairs   # alternates far below / far above the budget

    def student(n):
        if n == 1:  # warm-up
            return COST
        timed_calls[0] += 1
        k = timed_calls[0] - 1
        factor = noisy[k] if k < FAST.max_pairs else 1.0
        return n * COST * factor

    verdict = measure_speed(student, fixed(COST), budget=budget, policy=FAST)
    assert verdict.verdict == PASS
    assert verdict.rounds == 2
    assert verdict.ratios == [1.0] * FAST.min_pairs    # the first round's ratios are dropped


def test_pairs_interleave_which_side_goes_first():
    order = []

    def student(n):
        order.append("S")
        return n * COST

    def reference(n):
        order.append("R")
        return n * COST

    policy = SpeedPolicy(block_seconds=8 * COST, min_pairs=6, max_pairs=10, rounds=1,
                               warmup_calls=2)
    measure_speed(student, reference, budget=2.0, policy=policy)
    warm_up = policy.warmup_calls + 1
    assert order[:2 * warm_up] == ["R"] * warm_up + ["S"] * warm_up
    timed = order[2 * warm_up:]
    pairs = [tuple(timed[i:i + 2]) for i in range(0, len(timed), 2)]
    assert len(pairs) == policy.min_pairs
    assert pairs == [("S", "R"), ("R", "S")] * (policy.min_pairs // 2)


def test_ratio_is_student_over_reference_whichever_goes_first():
    # A machine that charges double to whichever block of a pair runs first: without the
    # alternation every ratio would be 2; with it the bias flips sign from pair to pair
    # (2, 0.5, 2, 0.5, ...), so it cannot push the verdict one way.
    state = {"first": True}

    def make():
        def timer(n):
            if n == 1:
                return COST
            extra = 2.0 if state["first"] else 1.0
            state["first"] = not state["first"]
            return n * COST * extra
        return timer

    verdict = measure_speed(make(), make(), budget=10.0, policy=FAST)
    assert sorted(set(verdict.ratios)) == [0.5, 2.0]
    assert verdict.ratios[0::2] == [2.0] * (len(verdict.ratios) // 2)
    assert verdict.ratios[1::2] == [0.5] * (len(verdict.ratios) // 2)
    assert verdict.median == pytest.approx(1.25)


def test_iterations_fill_the_block_time():
    seen = []

    def reference(n):
        seen.append(n)
        return n * COST

    policy = SpeedPolicy(block_seconds=32 * COST, min_pairs=6, max_pairs=6, rounds=1)
    verdict = measure_speed(fixed(COST), reference, budget=2.0, policy=policy)
    assert verdict.iterations == 32
    assert set(seen) == {1, 32}


@pytest.mark.parametrize("when", ["warm-up", "timed block"])
def test_timed_call_failed_propagates(when):
    outcome = SimpleNamespace(status="timeout", message="did not finish")

    def student(n):
        if when == "warm-up" or n > 1:
            raise TimedCallFailed(outcome)
        return n * COST

    with pytest.raises(TimedCallFailed) as caught:
        measure_speed(student, fixed(COST), budget=2.0, policy=FAST)
    assert caught.value.outcome is outcome
    assert str(caught.value) == "did not finish"
