"""Speed as a paired, interleaved ratio against the reference.

The grading side times blocks of calls in the student's worker and in the
reference worker, alternating which goes first (S R, R S, S R, ...), on the
same inputs, after a warm-up. Each pair gives one ratio, student / reference;
pairing cancels slow drifts of the machine. The verdict uses the median ratio
and a distribution-free confidence interval for it (order statistics of the
sorted ratios):

- pass:          the whole interval is within the budget;
- fail:          the whole interval is above the budget;
- inconclusive:  the interval straddles the budget -> more pairs, then a fresh
                 round; only after every round is it reported inconclusive.

``decide_verdict`` and ``measure_speed`` take plain numbers and callables, so
they are tested with synthetic timings.
"""
import math
import statistics
from dataclasses import dataclass, field

from autograder.i18n import N_, _, tr

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class SpeedPolicy:
    """How hard to look before deciding."""

    block_seconds: float = 0.05   # a reference block lasts about this long
    min_pairs: int = 6            # the smallest sample that gives a 95% interval
    max_pairs: int = 24
    rounds: int = 3               # one round, plus retries while inconclusive
    confidence: float = 0.95
    warmup_calls: int = 2
    gross_factor: float = 10.0    # warm-up ratio beyond budget * this fails at once


@dataclass
class SpeedVerdict:
    verdict: str
    budget: float
    median: float
    low: float
    high: float
    ratios: list = field(default_factory=list)
    rounds: int = 1
    iterations: int = 1
    reference_seconds: float = 0.0   # per call
    student_seconds: float = 0.0     # per call
    note: str = ""
    against: str = "the reference"   # what the student's code was timed against

    @property
    def against_time(self):
        return _("the reference time") if self.against == "the reference" else \
            tr("the time of {against}", against=self.against)

    def describe(self):
        label = _("reference") if self.against == "the reference" else self.against
        note = _(self.note) if self.note else ""
        if len(self.ratios) == 1:
            return tr("{ratio}x {against} on single calls after warm-up (budget {budget}x; "
                      "{label} {reference} per call, yours {yours}). {note}",
                      ratio=f"{self.median:.1f}", against=self.against_time,
                      budget=f"{self.budget:.3g}", label=label,
                      reference=_format_seconds(self.reference_seconds),
                      yours=_format_seconds(self.student_seconds), note=note)
        text = tr("{ratio}x {against} (interval {low}x to {high}x at 95%; budget {budget}x; "
                  "{blocks} paired blocks of {calls} call(s); {label} {reference} per call, "
                  "yours {yours})", ratio=f"{self.median:.2f}", against=self.against_time,
                  low=f"{self.low:.2f}", high=f"{self.high:.2f}", budget=f"{self.budget:.3g}",
                  blocks=len(self.ratios), calls=self.iterations, label=label,
                  reference=_format_seconds(self.reference_seconds),
                  yours=_format_seconds(self.student_seconds))
        return f"{text}. {note}" if note else text


class TimedCallFailed(Exception):
    """A timed block did not complete; carries the runner's outcome."""

    def __init__(self, outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


# A verdict's note is kept in English and translated when it is described.
WARM_UP_NOTE = N_("Decided on the warm-up calls: the gap is too large to need a careful "
                  "measurement.")


def median_interval(values, confidence=0.95):
    """Median of ``values`` and a distribution-free interval [low, high] for it."""
    ordered = sorted(values)
    n = len(ordered)
    alpha = (1.0 - confidence) / 2.0
    k, cumulative = 0, 0.0
    # largest k with P(Binomial(n, 1/2) <= k - 1) <= alpha; the interval is x_(k) .. x_(n-k+1)
    while k < n // 2:
        cumulative += math.comb(n, k) / 2.0 ** n
        if cumulative > alpha:
            break
        k += 1
    k = max(k, 1)
    return statistics.median(ordered), ordered[k - 1], ordered[n - k]


def decide_verdict(ratios, budget, confidence=0.95):
    """pass / fail / inconclusive from paired ratios and the budget."""
    _median, low, high = median_interval(ratios, confidence)
    if high <= budget:
        return PASS
    if low > budget:
        return FAIL
    return INCONCLUSIVE


def measure_speed(time_student, time_reference, budget, policy=SpeedPolicy()):
    """Time both sides and decide. ``time_x(iterations)`` returns seconds for a block."""
    reference_call = _warm_up(time_reference, policy)
    student_call = _warm_up(time_student, policy,
                            give_up_above=reference_call * budget * policy.gross_factor)
    iterations = max(1, math.ceil(policy.block_seconds / max(reference_call, 1e-9)))
    if student_call / max(reference_call, 1e-12) > budget * policy.gross_factor:
        ratio = student_call / max(reference_call, 1e-12)
        return SpeedVerdict(FAIL, budget, ratio, ratio, ratio, [ratio], 1, 1, reference_call,
                            student_call, note=WARM_UP_NOTE)
    ratios, student_times, reference_times = [], [], []
    for round_number in range(1, policy.rounds + 1):
        ratios.clear()
        for pair in range(policy.max_pairs):
            first, second = ((time_student, time_reference) if pair % 2 == 0
                             else (time_reference, time_student))
            a, b = first(iterations), second(iterations)
            s, r = (a, b) if pair % 2 == 0 else (b, a)
            ratios.append(s / max(r, 1e-12))
            student_times.append(s / iterations)
            reference_times.append(r / iterations)
            if (len(ratios) >= policy.min_pairs
                    and decide_verdict(ratios, budget, policy.confidence) != INCONCLUSIVE):
                break
        verdict = decide_verdict(ratios, budget, policy.confidence)
        if verdict != INCONCLUSIVE:
            break
    median, low, high = median_interval(ratios, policy.confidence)
    return SpeedVerdict(verdict, budget, median, low, high, list(ratios), round_number,
                        iterations, statistics.median(reference_times),
                        statistics.median(student_times))


def _warm_up(time_block, policy, give_up_above=math.inf):
    """Seconds per call after warm-up: the fastest call after the first. A side whose
    calls are all beyond ``give_up_above`` is not called more than twice."""
    samples = [time_block(1)]
    for _call in range(policy.warmup_calls):
        samples.append(time_block(1))
        if min(samples[1:]) > give_up_above:
            break
    return min(samples[1:]) if len(samples) > 1 else samples[0]


def _format_seconds(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"
