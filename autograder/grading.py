"""Grade one assignment of one solution tree against the reference.

A ``Grader`` owns the student's side (a runner with the solution loaded) and
borrows a ``ReferenceSide`` (the reference runner, its cached outputs and the
known-mistake variants). A reference side can serve many graders, which is
how a batch of submissions reuses one reference worker and its outputs.

This process never imports solution code: both sides are runners. It reads the
solution's files as text (``autograder.static_check``) for the forbidden names they
use and for code that reaches into the grader.
"""
import os
import re
import threading
import time
from pathlib import Path

from autograder import results as R
from autograder.compare import compare_values, looks_like
from autograder.feedback import (describe_diagnosis, describe_forbidden, describe_mismatch,
                                 describe_outcome_failure, describe_speed, diagnosis_head,
                                 hint_of, looks_like_reason, title_of, without_looks_like)
from autograder.i18n import N_, _, tr
from autograder.manifest import KIT_ROOT, REFERENCE_ROOT, apply_patches, load_manifest
from autograder.runner import InProcessRunner, Outcome, WorkerRunner
from autograder.static_check import Scan, scan_solution
from autograder.timing import (INCONCLUSIVE, PASS, SpeedPolicy, SpeedVerdict, TimedCallFailed,
                               measure_speed)


_OUTCOME_STATUS = {"not_implemented": R.NOT_IMPLEMENTED, "load_error": R.LOAD_ERROR,
                   "timeout": R.TIMEOUT, "crash": R.ERROR, "error": R.ERROR,
                   "bad_output": R.FAILED, "grader_error": R.GRADER_ERROR}


# Why no check of an assignment could run (batch grading's status names them)
IMPORT_TIMED_OUT = N_("importing {files} did not finish within {seconds} s, so no check could "
                      "run")
IMPORT_DIED = N_("the process importing {files} died, so no check could run")


def make_runner(name, in_process=False, confinement=None, zygote=None):
    """A worker-process runner (forked by ``zygote`` when one is given), or in debug mode an
    in-process one (student errors propagate)."""
    if in_process:
        return InProcessRunner(name, reraise=(name == "student"))
    return WorkerRunner(name, confinement=confinement, zygote=zygote)


def cuda_available():
    """Whether GPU checks can run; AUTOGRADER_CUDA=0 turns them off."""
    if os.environ.get("AUTOGRADER_CUDA", "").strip() == "0":
        return False
    import torch
    return torch.cuda.is_available()


def load_request(name, assignment, root, patched_sources=None, add_to_path=False,
                 confine=None):
    return {"op": "load", "name": name, "assignment": assignment.id, "root": str(root),
            "files": list(assignment.files), "forbidden": list(assignment.forbidden),
            "scenarios": str(assignment.scenarios_path), "patched_sources": patched_sources,
            "add_to_path": add_to_path, "confine": confine}


def scenario_request(op, impl, check, seed_offset=0, handle=None):
    return {"op": op, "impl": impl, "scenario": check.scenario, "handle": handle,
            "params": dict(check.params, device=check.device), "seed": check.seed + seed_offset}


class ReferenceSide:
    """The trusted side: reference outputs and mistake variants, computed once and cached.

    With a ``cache`` (``autograder.reference_cache``) outputs come from disk when they are
    there, and the reference worker only starts when something must be computed. Several
    graders may share one reference side from different threads: ``lock`` keeps their
    requests to its worker in order.
    """

    def __init__(self, assignment, reference_root=REFERENCE_ROOT, runner=None, seed_offset=0,
                 cache=None):
        self.assignment = assignment
        self.root = Path(reference_root).resolve()
        self.seed_offset = seed_offset
        self.cache = cache
        self.lock = threading.RLock()
        self.runner = runner or WorkerRunner("reference")
        if cache is None:
            self.runner.start()  # at once: torch imports while the student's worker starts
        self._loaded = set()
        self._outputs = {}

    def prefetch(self, check, impl="reference"):
        """Ask for an output without waiting, so the reference works while the student does."""
        key = (impl, check.id)
        with self.lock:
            if key in self._outputs:
                return
            stored = self.cache.get(self.assignment, impl, check, self.seed_offset) \
                if self.cache is not None else None
            if stored is not None:
                self._outputs[key] = stored
                return
            self._ensure_loaded(impl)
            request = scenario_request("run", impl, check, self.seed_offset)
            self._outputs[key] = self.runner.submit(request, self.assignment.timeout_for(check))

    def output(self, check, impl="reference"):
        """The reference's (or a variant's) outcome for ``check``; computed once, cached."""
        key = (impl, check.id)
        with self.lock:
            self.prefetch(check, impl)
            entry = self._outputs[key]
            if isinstance(entry, Outcome):
                return entry
            outcome = self.runner.collect(entry)
            self._outputs[key] = outcome
            called = [c for c in outcome.forbidden_calls if c not in check.allowed]
            if self.cache is not None and not (impl == "reference" and called):
                self.cache.put(self.assignment, impl, check, self.seed_offset, outcome)
            return outcome

    def variant_outputs(self, check):
        """(mistake, outcome) for every declared mistake, on this check."""
        impls = [f"mistake:{m.id}" for m in self.assignment.mistakes]
        with self.lock:
            for impl in impls:
                self.prefetch(check, impl)
            return [(m, self.output(check, impl))
                    for m, impl in zip(self.assignment.mistakes, impls)]

    recorded = False

    def covers(self, check):
        """'' when this side can grade ``check`` (the reference can grade them all)."""
        return ""

    def diagnose(self, check, expected, got, tolerance):
        """The known mistakes whose output on ``check`` ``got`` matches (a mistake that does
        not change this check's output is never named)."""
        found = []
        for mistake, variant in self.variant_outputs(check):
            variant_data, _notes = split_notes(variant.data)
            if not variant.ok or compare_values(expected, variant_data, *tolerance).ok:
                continue
            if compare_values(variant_data, got, *tolerance).ok \
                    or looks_like(variant_data, expected, got):
                found.append(mistake)
        return found

    def changes(self, check, mistake):
        """Whether ``mistake`` changes the result of ``check`` (an exception counts)."""
        variant = self.output(check, f"mistake:{mistake.id}")
        if variant.status == "error":
            return True
        expected = self.output(check)
        if not (variant.ok and expected.ok):
            return False    # a timeout or a crash is no evidence either way
        tolerance = (check.tolerance, check.rtol, check.atol, check.max_mismatch)
        return not compare_values(split_notes(expected.data)[0], split_notes(variant.data)[0],
                                  *tolerance).ok

    def errors_like(self, check, message, same_error):
        """The known mistakes that raise the same exception on ``check``."""
        return [mistake for mistake, variant in self.variant_outputs(check)
                if variant.status == "error" and same_error(variant.message, message)]

    def timing(self, check):
        """What ``check`` is timed against: the reference itself, loaded in its worker."""
        from autograder.recorded import Timing
        self.load_reference_now()
        return Timing(self.runner, "reference", check.scenario, check.budget, "the reference")

    def load_reference_now(self):
        """Load the reference into the worker whatever the cache holds (speed needs it)."""
        with self.lock:
            self._ensure_loaded("reference")

    def load_reference(self):
        if self.cache is None:
            with self.lock:
                self._ensure_loaded("reference")

    def close(self):
        self.runner.close()

    def abort(self):
        self.runner.abort()

    def _ensure_loaded(self, impl):
        if impl in self._loaded:
            return
        patched = None
        if impl.startswith("mistake:"):
            mistake = next(m for m in self.assignment.mistakes if f"mistake:{m.id}" == impl)
            source = (self.root / self.assignment.id / mistake.file).read_text()
            patched = {mistake.file: apply_patches(source, mistake)}
        self.runner.submit_load(load_request(impl, self.assignment, self.root, patched))
        self._loaded.add(impl)


def reference_side_for(assignment, reference_root=REFERENCE_ROOT, *, seed_offset=0,
                       in_process=False, runner=None, cache=None):
    """The reference solution's side where it is present (the kit), else the recorded one
    (a student's repository: ``autograder.recorded``)."""
    if (Path(reference_root) / assignment.id).is_dir():
        return ReferenceSide(assignment, reference_root,
                             runner or make_runner("reference", in_process), seed_offset, cache)
    from autograder.manifest import ManifestError
    from autograder.recorded import RecordedReference
    recorded = RecordedReference.of(assignment, seed_offset,
                                    runner or make_runner("baseline", in_process))
    if recorded is None:
        raise ManifestError(f"{assignment.id}: there is no reference solution here and no "
                            f"recorded outputs ({assignment.folder.name}/snapshots.pt.gz)")
    return recorded


class StudentClock:
    """The student's side of one assignment: every request waits at most its check's
    timeout, and all of them together at most the assignment's time budget."""

    def __init__(self, runner, budget):
        self.runner, self.budget, self.used = runner, budget, 0.0

    @property
    def remaining(self):
        return self.budget - self.used

    def submit(self, request, timeout):
        return self._send(self.runner.submit, request, timeout)

    def submit_load(self, request, timeout):
        """Like ``submit``, for a load the runner replays if it restarts its worker."""
        return self._send(self.runner.submit_load, request, timeout)

    def _send(self, send, request, timeout):
        if self.remaining <= 0:
            return _Spent(self.budget)
        ticket = send(request, min(timeout, self.remaining))
        ticket.clock_started = time.perf_counter()
        ticket.cut_by_budget = self.remaining < timeout
        return ticket

    def collect(self, ticket):
        if isinstance(ticket, _Spent):
            return ticket.outcome
        try:
            outcome = self.runner.collect(ticket)
        finally:
            self.used += time.perf_counter() - ticket.clock_started
        if outcome.status == "timeout" and getattr(ticket, "cut_by_budget", False):
            outcome.message = tr("stopped when your code used up this assignment's time budget "
                                 "({budget} s for all checks together)",
                                 budget=f"{self.budget:g}")
            outcome.header["budget"] = True
        return outcome

    def run(self, request, timeout):
        return self.collect(self.submit(request, timeout))


class _Spent:
    def __init__(self, budget):
        self.outcome = Outcome("timeout", message=tr(
            "not run: your code had used up this assignment's time budget ({budget} s for all "
            "checks together)", budget=f"{budget:g}"), header={"budget": True})


# Seconds past a check's time limit that the grader waits for the worker's watchdog to say
# where the solution's code was (autograder.worker.Watchdog) before it stops the worker.
WATCHDOG_GRACE = 1.0

def _budget_message(outcome):
    """The reason for a request the time budget stopped or skipped, else ''."""
    if outcome.status == "timeout" and outcome.header.get("budget"):
        return outcome.message
    return ""


class Grader:
    """Runs each check of one assignment on one solution and scores it."""

    def __init__(self, assignment, solution_root, reference, *, in_process=False,
                 seed_offset=0, policy=SpeedPolicy(), cuda=None, sandbox=True, limits=None,
                 zygote=None, reveal=True, repro=True):
        from autograder.sandbox import student_confinement
        self.assignment = assignment
        self.repro = repro and in_process   # debug mode: write a failed check's repro script
        self.reveal = reveal        # False: feedback never shows the reference's values
        self.solution_root = Path(solution_root).resolve()  # the worker runs elsewhere
        self.reference = reference
        self.seed_offset = seed_offset
        self.policy = policy
        self.in_process = in_process
        self.cuda = cuda_available() if cuda is None else cuda
        self.confinement = None
        if sandbox and not in_process:
            self.confinement = student_confinement(KIT_ROOT, [assignment.scenarios_path],
                                                   self.solution_root, cuda=self.cuda,
                                                   limits=limits)
        self.student = make_runner("student", in_process, self.confinement, zygote)
        self.student.start()  # first, so the worker imports torch while we do
        self.clock = StudentClock(self.student, assignment.time_budget)
        self._loaded = False
        self._load_failure = None
        self._results = {}
        self.scan = Scan()
        self.sandbox = []           # the layers that confine the student's code
        self.sandbox_problems = []
        self.import_notes = []      # what the solution changed on import (and was put back)
        self._left_running = {}     # check id -> processes the solution left behind
        self._named = {}            # check id -> the known mistakes its feedback names

    def close(self):
        self.student.close()

    def abort(self):
        """Stop the student's worker at once (an interrupted run)."""
        self.student.abort()

    def run_check(self, check):
        """Grade ``check`` (once; a repeated call returns the same result)."""
        if check.id not in self._results:
            try:
                self._ensure_loaded()
                result = self._grade(check)
            except Exception as error:
                if self.in_process:  # debug mode: record, then let pdb see the student's frame
                    status = R.NOT_IMPLEMENTED if isinstance(error, NotImplementedError) else R.ERROR
                    self._results[check.id] = self._result(
                        check, status, reason=tr("raised {error}",
                                                 error=f"{type(error).__name__}: {error}"))
                    raise
                # a fault of the kit must not sink the run
                result = self._result(check, R.GRADER_ERROR,
                                      reason=tr("internal error: {error}",
                                                error=f"{type(error).__name__}: {error}"))
            self._results[check.id] = self._with_notes(result)
        return self._results[check.id]

    def result_of(self, check):
        """The result already recorded for ``check``, or None."""
        return self._results.get(check.id)

    def run_all(self, checks=None):
        report = R.Report(solution=str(self.solution_root))
        for check in checks or self.assignment.checks:
            report.add(self.run_check(check))
        self.reconsider(report.results)
        return report

    def _ensure_loaded(self):
        """Load the solution once; a load that hangs or kills the worker is recorded and
        costs every check of the assignment that same single timeout."""
        if self._loaded:
            return
        self._loaded = True
        folder = self.solution_root / self.assignment.id
        self.scan = scan_solution(folder, self.assignment.files, self.assignment.forbidden,
                                  [(self.solution_root / other, files)
                                   for other, files in self.assignment.uses])
        confine = self.confinement.policy() if self.confinement is not None else None
        request = load_request("student", self.assignment, self.solution_root,
                               add_to_path=True, confine=confine)
        ticket = self.clock.submit_load(request, self.assignment.load_timeout)
        self.reference.load_reference()
        outcome = self.clock.collect(ticket)
        if not outcome.ok:
            self._load_failure = outcome
            self.student.abort()
            return
        self.sandbox = outcome.header.get("sandbox", [])
        self.sandbox_problems = outcome.header.get("sandbox_problems", [])
        self.import_notes = outcome.header.get("import_changes", [])

    def sandbox_summary(self):
        """One line on how the student's code was confined in this run."""
        if self.in_process:
            return _("student code ran in the grading process (debug mode): no sandbox")
        if self.confinement is None:
            return _("student code ran in a worker process without a sandbox")
        layers = self.sandbox or self.confinement.layers
        line = tr("student code ran in a sandbox: {layers}", layers=", ".join(layers))
        warning = self.confinement.support.warning()
        if self.sandbox_problems:
            line += tr(" (problems: {problems})", problems="; ".join(self.sandbox_problems))
        return f"{line}\n{warning}" if warning else line

    def _load_failed(self, check):
        outcome = self._load_failure
        files = ", ".join(self.assignment.files)
        if _budget_message(outcome):
            return self._result(check, R.TIMEOUT, reason=_budget_message(outcome))
        if outcome.status == "timeout":
            reason = tr(IMPORT_TIMED_OUT, files=files,
                        seconds=f"{self.assignment.load_timeout:g}")
            text = tr("{reason}. Look for a loop or a long computation at the top level of "
                      "your file (outside any function): it runs when the file is imported.",
                      reason=reason)
            return self._result(check, R.TIMEOUT, reason=reason, feedback=text)
        reason = tr(IMPORT_DIED, files=files)
        return self._result(check, R.LOAD_ERROR, reason=reason,
                            feedback=f"{reason}: {outcome.message}\n" + _(
                                "Look at what your file does at the top level (outside any "
                                "function)."))

    def _with_notes(self, result):
        notes = []
        if self.import_notes and result.status not in (R.NOT_EVALUATED, R.LOAD_ERROR):
            notes.append(tr("When your module was imported, it changed global state that the "
                            "grader put back before this check: {changes}. Importing a module "
                            "should not change torch's settings.",
                            changes="; ".join(self.import_notes)))
        if self._left_running.get(result.check):
            notes.append(tr("your code left {count} process(es) running after this check; the "
                            "grader stopped them.", count=self._left_running[result.check]))
        if notes:
            result.feedback = "\n\n".join(filter(None, [result.feedback or result.reason,
                                                         *[tr("Note: {note}", note=n)
                                                           for n in notes]]))
        return result

    def _grade(self, check):
        if check.device == "cuda" and not self.cuda:
            return self._result(check, R.NOT_EVALUATED,
                                reason=_("not evaluated (no CUDA device)"))
        if self._load_failure is not None:
            return self._load_failed(check)
        why = self.reference.covers(check)
        if why:
            return self._result(check, R.INSTRUCTOR,
                                reason=tr("graded by your instructor ({why})", why=why),
                                feedback=tr("This check is graded by your instructor, not "
                                            "here: {why}. It scores nothing here and stays in "
                                            "the maximum, which is the same everywhere.",
                                            why=why))
        if check.kind == "speed":
            return self._grade_speed(check)
        return self._grade_agreement(check)

    def _grade_agreement(self, check):
        timeout, reference_seconds = self._time_limit(check)
        request = scenario_request("run", "student", check, self.seed_offset)
        request["watchdog"] = timeout
        ticket = self.clock.submit(request, timeout + WATCHDOG_GRACE)
        self._prefetch_after(check)
        outcome = self.clock.collect(ticket)
        if outcome.status == "timeout":
            outcome.header["limit"] = {"seconds": timeout, "reference": reference_seconds}
            outcome.header["stuck"] = self._where_stuck(outcome.header.get("stuck"))
        if outcome.header.get("left_processes"):
            self._left_running[check.id] = outcome.header["left_processes"]
        failure = self._failure(check, outcome, timeout)
        expected = self.reference.output(check)
        broken = self._reference_problem(check, expected)
        if broken:  # the kit's fault, whatever the student's code did
            return broken
        if failure:
            if outcome.status == "error":
                self._name_error(check, outcome, failure)
            return failure
        tolerance = (check.tolerance, check.rtol, check.atol, check.max_mismatch)
        expected_data, _notes = split_notes(expected.data)
        got, notes = split_notes(outcome.data)
        comparison = compare_values(expected_data, got, *tolerance, reveal=self.reveal)
        note_text = "".join("\n" + tr("Note: {note}", note=note) for note in notes)
        if comparison.ok:
            reason = tr("matches the reference ({count} values)", count=comparison.leaves)
            if notes:
                reason += tr("; note: {note}", note=notes[0])
            return self._result(check, R.PASSED, points=check.points, stdout=outcome.stdout,
                                reason=reason, feedback=note_text.strip(),
                                seconds=outcome.seconds)
        length = len(expected_data) if check.trajectory else None
        reason, text = describe_mismatch(check, comparison, length)
        text += note_text and "\n" + note_text
        mistakes = self._diagnose(check, expected_data, got, tolerance)
        if mistakes:
            reason = looks_like_reason(mistakes[0], reason)
            text = f"{text}\n\n{describe_diagnosis(mistakes)}"
        elif check.hint:
            text = f"{text}\n\n" + tr("Hint: {hint}", hint=hint_of(check).strip())
        if self.repro:
            text = f"{text}\n\n{self._write_repro(check)}"
        return self._result(check, R.FAILED, reason=reason, feedback=text, stdout=outcome.stdout,
                            diagnosis=[m.id for m in mistakes], seconds=outcome.seconds)

    def _diagnose(self, check, expected, got, tolerance):
        found = self._consistent(check, self.reference.diagnose(check, expected, got, tolerance))
        self._named[check.id] = found
        return found

    def _consistent(self, check, mistakes):
        """The mistakes no other check's evidence rules out. A mistake that changes the
        result of a check this solution passed cannot be the solution's mistake: naming it
        would contradict that check (and send the student looking in the wrong place)."""
        kept = []
        for mistake in mistakes:
            ruled_out = False
            for other in self.assignment.checks:
                done = self._results.get(other.id)
                if other.id == check.id or done is None or done.status != R.PASSED \
                        or other.kind != "agreement" or other.device != "cpu":
                    continue
                if self.reference.changes(other, mistake):
                    ruled_out = True
                    break
            if not ruled_out:
                kept.append(mistake)
        return kept

    def reconsider(self, results):
        """Look again at the mistakes named in ``results`` with the evidence of every check
        graded since: drop those a passed check rules out (each result is changed in place,
        its reason and feedback rewritten). Call it once all checks have run."""
        for result in results:
            named = self._named.get(result.check)
            if not named or result.status not in (R.FAILED, R.ERROR):
                continue
            check = self.assignment.check(result.check)
            kept = self._consistent(check, named)
            if len(kept) == len(named):
                continue
            self._named[result.check] = kept
            reason = without_looks_like(named[0], result.reason)
            feedback = result.feedback.split("\n\n" + diagnosis_head())[0]
            if kept:
                reason = looks_like_reason(kept[0], reason)
                feedback = f"{feedback}\n\n{describe_diagnosis(kept)}"
            result.reason, result.feedback = reason, feedback
            result.diagnosis = [m.id for m in kept]
        return results

    def _name_error(self, check, outcome, failure):
        """Some mistakes show as an exception: name them when a variant raises the same one."""
        found = self._consistent(check, self.reference.errors_like(check, outcome.message,
                                                                   _same_error))
        self._named[check.id] = found
        if found:
            failure.reason = looks_like_reason(found[0], failure.reason)
            failure.feedback = f"{failure.feedback}\n\n{describe_diagnosis(found)}"
            failure.diagnosis = [m.id for m in found]

    def _grade_speed(self, check):
        if check.requires:
            required = self.run_check(self.assignment.check(check.requires))
            if required.status != R.PASSED:
                status = R.NOT_IMPLEMENTED if required.status == R.NOT_IMPLEMENTED else R.FAILED
                return self._result(check, status, reason=tr(
                    "needs '{check}' to pass first (speed only counts for a correct result)",
                    check=check.requires))
        verdict = self.measure_speed(check)
        if not isinstance(verdict, SpeedVerdict):
            return verdict  # a CheckResult: the code failed before it could be timed
        reason, text = describe_speed(check, verdict, check.device)
        if verdict.verdict == PASS or (verdict.verdict == INCONCLUSIVE
                                       and verdict.median <= verdict.budget):
            label = "" if verdict.verdict == PASS else " (inconclusive after retries; median within budget)"
            return self._result(check, R.PASSED, points=check.points, reason=reason + label,
                                feedback=text, ratio=verdict.median)
        if verdict.verdict == INCONCLUSIVE:
            reason += _(" (inconclusive after retries; median over budget)")
        return self._result(check, R.FAILED, reason=reason, feedback=text, ratio=verdict.median)

    def measure_speed(self, check):
        """Time the student against the reference on ``check``; a fresh ``SpeedVerdict``
        each call, or a ``CheckResult`` when either side fails to run."""
        self._ensure_loaded()
        if self._load_failure is not None:
            return self._load_failed(check)
        timeout = self.assignment.timeout_for(check)
        setup = self.clock.run(
            scenario_request("speed_setup", "student", check, self.seed_offset, check.id), timeout)
        failure = self._failure(check, setup, timeout)
        if failure:
            return failure
        with self.reference.lock:
            return self._measure_against(check, self.reference.timing(check), timeout)

    def _measure_against(self, check, timing, timeout):
        request = scenario_request("speed_setup", timing.impl, check, self.seed_offset, check.id)
        request["scenario"] = timing.scenario
        ref_setup = timing.runner.run(request, timeout)
        broken = self._reference_problem(check, ref_setup)
        if broken:
            return broken
        try:
            verdict = measure_speed(self._block_timer(self.student, check, timeout),
                                    self._block_timer(timing.runner, check, timeout, timing.impl),
                                    timing.budget, self.policy)
            verdict.timing = timing
            return verdict
        except TimedCallFailed as failed:
            if failed.outcome.status == "grader_error":
                return self._reference_problem(check, failed.outcome)
            return self._failure(check, failed.outcome, timeout)
        finally:  # free the timed inputs (hundreds of tensors) on both sides
            for runner in (self.student, timing.runner):
                runner.discard(check.id)

    def _block_timer(self, runner, check, timeout, impl="student"):
        channel = self.clock if runner is self.student else runner

        def time_block(iterations):
            request = {"op": "speed_run", "handle": check.id, "impl": impl,
                       "iterations": iterations}
            outcome = channel.run(request, timeout)
            if not outcome.ok:
                if impl != "student":
                    outcome.status = "grader_error"
                raise TimedCallFailed(outcome)
            return outcome.seconds

        return time_block

    def forbidden_uses(self, check, outcome):
        """[(forbidden name, how it was used)] for this check, and the tampering found."""
        uses = {}
        for name in outcome.forbidden_calls:
            uses.setdefault(name, outcome.forbidden_how.get(name, "your code called it"))
        for finding in self.scan.forbidden_for(outcome.touched):
            uses.setdefault(finding.name, finding.describe())
        allowed = [(name, how) for name, how in uses.items() if name not in check.allowed]
        return allowed, list(self.scan.tamper)

    def _write_repro(self, check):
        """Debug mode: run the check once more, recording the calls it makes to the
        solution's functions, and write a script that reproduces it (``autograder.repro``)."""
        from autograder import repro
        try:
            calls = self.student.record(scenario_request("run", "student", check,
                                                         self.seed_offset))
            _script, sentence = repro.write(self.assignment, check, self.solution_root, calls,
                                      self.seed_offset)
        except Exception as error:  # a debugging aid must never cost the grade
            return f"(No script to reproduce it: {type(error).__name__}: {error}.)"
        return sentence

    def _time_limit(self, check):
        """(seconds the solution may run ``check``, the reference's own seconds on it or
        None). The reference runs the check first (one check ahead of the solution, so
        both work at once); without its time, the check's full timeout applies."""
        seconds = None
        if check.device == "cpu" and not self.in_process:
            self.reference.prefetch(check)
            outcome = self.reference.output(check)
            if outcome.ok and outcome.scenario_seconds is not None:
                seconds = float(outcome.scenario_seconds)
        return self.assignment.timeout_given(check, seconds), seconds

    def _prefetch_after(self, check):
        """Start the reference on the agreement check after ``check`` (``_time_limit`` has
        started it on ``check``), so that it works while the solution runs and the next
        limit is known when it is needed."""
        self.reference.prefetch(check)   # in debug mode _time_limit does not
        later = list(self.assignment.checks)
        for other in later[later.index(check) + 1:]:
            if other.kind == "agreement" and other.device == "cpu":
                self.reference.prefetch(other)
                break

    def _where_stuck(self, report):
        """The watchdog's report of where the solution's code was when its time ran out,
        keeping the solution's own frames (innermost first); None when there is none."""
        if not report:
            return None
        if "frames" in report:   # faulthandler's bare dump: absolute paths, all threads
            root = str(self.solution_root.resolve())
            scenarios = str(self.assignment.scenarios_path.resolve())
            stack = [dict(f, file=os.path.relpath(f["file"], root), path=f["file"])
                     for f in report["frames"]
                     if str(f["file"]).startswith(root) and f["file"] != scenarios]
            report = {"stack": stack}
        return report if report.get("stack") or report.get("stdout") else None

    def _failure(self, check, outcome, timeout):
        if outcome.status != "load_error":
            uses, tamper = self.forbidden_uses(check, outcome)
            if uses or tamper:
                reason, text = describe_forbidden(check, uses, tamper)
                return self._result(check, R.FORBIDDEN, reason=reason, feedback=text,
                                    stdout=outcome.stdout)
        if outcome.ok:
            return None
        if _budget_message(outcome):
            return self._result(check, R.TIMEOUT, reason=_budget_message(outcome))
        reason, text = describe_outcome_failure(check, outcome, timeout)
        return self._result(check, _OUTCOME_STATUS.get(outcome.status, R.ERROR), reason=reason,
                            feedback=text, stdout=outcome.stdout, seconds=outcome.seconds)

    def _reference_problem(self, check, outcome):
        calls = [c for c in outcome.forbidden_calls if c not in check.allowed]
        if outcome.ok and not calls:
            return None
        detail = outcome.message or f"it called {calls}"
        return self._result(check, R.GRADER_ERROR, reason="the reference solution failed on "
                            "this check", feedback=f"The reference failed: {outcome.status}: "
                            f"{detail}\n{outcome.traceback}")

    def _result(self, check, status, points=0.0, **fields):
        return R.CheckResult(assignment=self.assignment.id, check=check.id,
                             title=title_of(check),
                             max_points=check.points, status=status, points=points, **fields)


NOTES_KEY = "__notes__"


def split_notes(data):
    """A scenario may return a dict with ``NOTES_KEY``: a list of strings for the student
    (e.g. "torch's Adam was used instead of yours"). They are shown, never compared."""
    if isinstance(data, dict) and NOTES_KEY in data:
        rest = {key: value for key, value in data.items() if key != NOTES_KEY}
        return rest, [str(note) for note in data[NOTES_KEY]]
    return data, []


def _same_error(a, b):
    """Two exception messages alike once memory addresses are taken out."""
    def normal(message):
        return re.sub(r"0x[0-9a-f]+", "0x?", message.strip().splitlines()[0] if message else "")
    return bool(a) and normal(a) == normal(b)


def grade(assignment_id, solution_root, *, manifest=None, reference_root=REFERENCE_ROOT,
          in_process=False, seed_offset=0, checks=None, cuda=None, policy=SpeedPolicy(),
          report=None, limits=None, on_check=None, reveal=True):
    """Grade one assignment of one solution tree; return a ``Report``.

    Results are added to ``report`` (a new one by default) as they come, so a caller that
    is interrupted still holds what was graded. An interruption (Ctrl-C, or SIGTERM turned
    into one) kills both workers at once instead of waiting for them.
    """
    manifest = manifest or load_manifest()
    assignment = manifest.assignment(assignment_id)
    selected = [assignment.check(c) for c in checks] if checks else list(assignment.checks)
    report = report if report is not None else R.Report(solution=str(solution_root))
    reference = reference_side_for(assignment, reference_root, seed_offset=seed_offset,
                                   in_process=in_process)
    grader = None
    try:
        grader = Grader(assignment, solution_root, reference, in_process=in_process,
                        seed_offset=seed_offset, policy=policy, cuda=cuda, limits=limits,
                        reveal=reveal)
        for number, check in enumerate(selected, 1):
            if on_check is not None:
                on_check(number, len(selected), check)
            report.add(grader.run_check(check))
        grader.reconsider(report.results)
        report.sandbox = grader.sandbox_summary()
        return report
    except BaseException:
        for side in (grader, reference):
            if side is not None:
                side.abort()
        raise
    finally:
        for side in (grader, reference):
            if side is not None:
                side.close()
