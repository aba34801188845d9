"""Grading a whole class: every chosen assignment of every submission, in parallel, resumable.

The work is a list of jobs, one per (student, assignment, phase):

* the *correctness* phase runs every check but the speed checks, ``jobs`` at a time;
* the *speed* phase then times the speed checks one job at a time, so no two
  measurements share the machine.

Each job grades the staged copy of the student's files with the instructor's kit: a
``Grader`` whose worker is forked from one zygote (torch is imported once for the whole
batch), against one ``ReferenceSide`` per assignment shared by all jobs, whose outputs
come from a disk cache when an earlier batch computed them. A job's results are saved as
soon as it ends, keyed by a hash of the student's files, the kit's version, the seed and
the phase: a batch that is interrupted (Ctrl-C, a killed process) loses only the jobs that
were running, and a batch run again grades only what changed.
"""
import dataclasses
import hashlib
import json
import os
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import results as R
from autograder.batch.intake import collect, file_name

CORRECTNESS, SPEED = "correctness", "speed"


@dataclass
class Options:
    submissions: Path
    out: Path
    assignments: list = None       # ids; None: all
    jobs: int = None               # parallel correctness jobs; None: the number of cores
    seed: int = 0                  # added to every check's seed (hidden seeds)
    speed: bool = True             # time the speed checks (one at a time)
    cache: Path = None             # the reference cache folder; None: the default one
    progress: bool = True
    cuda: bool = None              # None: use CUDA when there is a device


@dataclass
class Batch:
    """What a batch produced: the submissions, every result, and how it went."""

    options: Options
    manifest: object
    assignments: list
    submissions: list
    ignored: list
    results: dict = field(default_factory=dict)   # (student, assignment id) -> [CheckResult]
    graded_now: int = 0
    reused: int = 0
    seconds: float = 0.0
    interrupted: str = ""
    kit_version: str = ""
    cache_hits: int = 0
    cache_misses: int = 0


def grade_class(options, manifest=None, on_progress=None):
    """Grade the class; return a ``Batch``. Raises ``KeyboardInterrupt`` (after saving what
    was graded) when interrupted, with the partial ``Batch`` as its ``batch`` attribute."""
    from autograder.manifest import load_manifest
    from autograder.reference_cache import ReferenceCache
    started = time.perf_counter()
    manifest = manifest or load_manifest()
    chosen = options.assignments or [a.id for a in manifest.assignments]
    assignments = [manifest.assignment(a) for a in chosen]
    # Workers run in folders of their own: every path they are given must be absolute.
    options = dataclasses.replace(options, submissions=Path(options.submissions).resolve(),
                                  out=Path(options.out).resolve(),
                                  cache=Path(options.cache).resolve() if options.cache else None)
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    submissions, ignored = collect(options.submissions, manifest, out / ".staging")
    cache = ReferenceCache(options.cache)
    batch = Batch(options, manifest, assignments, submissions, ignored,
                  kit_version=cache.version)
    cuda = options.cuda
    if cuda is None:
        from autograder.grading import cuda_available
        cuda = cuda_available()
    state = _State(out / ".state")
    pending = {CORRECTNESS: [], SPEED: []}
    for submission in submissions:
        for assignment in assignments:
            for phase in (CORRECTNESS, SPEED):
                checks = _checks(assignment, phase)
                if not checks:
                    continue
                key = _key(batch, submission, assignment, phase, cuda)
                saved = state.load(submission.student, assignment.id, phase, key)
                if saved is not None:
                    batch.results.setdefault((submission.student, assignment.id), []).extend(saved)
                    batch.reused += 1
                elif phase == SPEED and not options.speed:
                    batch.results.setdefault((submission.student, assignment.id), []).extend(
                        _result(assignment, check, R.NOT_EVALUATED,
                                "not measured in this batch (run without --no-speed to time it)")
                        for check in checks)
                elif not submission.gradable or not submission.has(assignment):
                    batch.results.setdefault((submission.student, assignment.id), []).extend(
                        _not_graded(submission, assignment, checks, cuda))
                else:
                    pending[phase].append((submission, assignment, checks, key))
    runner = _Runner(batch, cache, state, cuda, on_progress,
                     total=len(pending[CORRECTNESS]) + len(pending[SPEED]))
    try:
        runner.run(pending[CORRECTNESS], options.jobs or os.cpu_count() or 1)
        runner.run(pending[SPEED], 1)
    except KeyboardInterrupt as stop:
        from autograder.signals import signal_name
        batch.interrupted = signal_name(stop)
        stop.batch = batch
        raise
    finally:
        runner.close()
        batch.seconds = time.perf_counter() - started
        batch.cache_hits, batch.cache_misses = cache.hits, cache.misses
    return batch


def _checks(assignment, phase):
    return [c for c in assignment.checks if (c.kind == "speed") == (phase == SPEED)]


def _key(batch, submission, assignment, phase, cuda):
    uses = [(aid, files) for aid, files in assignment.uses]
    digest = submission.digest(assignment, uses) if submission.staged else "none"
    text = json.dumps([batch.kit_version, batch.options.seed, phase, bool(cuda),
                       submission.gradable, sorted(submission.problems), digest])
    return hashlib.sha256(text.encode()).hexdigest()


def _result(assignment, check, status, reason, feedback=""):
    return R.CheckResult(assignment=assignment.id, check=check.id, title=check.title,
                         max_points=check.points, status=status, reason=reason,
                         feedback=feedback or reason)


def _not_graded(submission, assignment, checks, cuda):
    if not submission.gradable:
        reason = f"not graded: {'; '.join(submission.problems)}"
    else:
        missing = [f"{assignment.id}/{f}" for f in assignment.files
                   if f"{assignment.id}/{f}" not in submission.files]
        reason = f"not submitted: {', '.join(missing)} was not found in the submission"
    return [_result(assignment, check, R.NOT_EVALUATED, "not evaluated (no CUDA device)")
            if check.device == "cuda" and not cuda else
            _result(assignment, check, R.LOAD_ERROR, reason) for check in checks]


class _State:
    """Saved job results, one JSON file per (student, assignment, phase)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def _path(self, student, assignment_id, phase):
        return self.folder / file_name(student) / f"{assignment_id}.{phase}.json"

    def load(self, student, assignment_id, phase, key):
        try:
            data = json.loads(self._path(student, assignment_id, phase).read_text())
        except (OSError, ValueError):
            return None
        if data.get("key") != key:
            return None
        return [R.CheckResult(**entry) for entry in data["results"]]

    def save(self, student, assignment_id, phase, key, results, seconds):
        path = self._path(student, assignment_id, phase)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"key": key, "seconds": seconds,
                           "results": [asdict(r) for r in results]}, default=str)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".job-")
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)


class _Runner:
    """Runs jobs on a thread pool; one zygote and one reference side per assignment."""

    def __init__(self, batch, cache, state, cuda, on_progress, total):
        self.batch, self.cache, self.state, self.cuda = batch, cache, state, cuda
        self.on_progress = on_progress
        self.total, self.done = total, 0
        self._zygote = None
        self._references = {}
        self._running = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def _start(self):
        from autograder import zygote
        if self._zygote is None:
            self._zygote = zygote.start(a.scenarios_path for a in self.batch.assignments) \
                or False   # False: tried, none (workers start afresh)
        return self._zygote or None

    def _reference(self, assignment):
        from autograder.grading import reference_side_for
        from autograder.runner import WorkerRunner
        with self._lock:
            if assignment.id not in self._references:
                self._references[assignment.id] = reference_side_for(
                    assignment, runner=WorkerRunner("reference", zygote=self._start()),
                    seed_offset=self.batch.options.seed, cache=self.cache)
            return self._references[assignment.id]

    def run(self, jobs, parallel):
        if not jobs:
            return
        self._start()
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="grade") as pool:
            futures = {pool.submit(self._job, *job): job for job in jobs}
            try:
                remaining = set(futures)
                while remaining:
                    finished, remaining = wait(remaining, timeout=0.5,
                                               return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
            except BaseException:
                self._stopping.set()
                for future in futures:
                    future.cancel()
                with self._lock:
                    for grader in list(self._running):
                        grader.abort()
                raise

    def _job(self, submission, assignment, checks, key):
        from autograder.grading import Grader
        if self._stopping.is_set():
            return
        started = time.perf_counter()
        grader = Grader(assignment, submission.staged, self._reference(assignment),
                        seed_offset=self.batch.options.seed, cuda=self.cuda,
                        zygote=self._start())
        with self._lock:
            self._running.add(grader)
        try:
            results = []
            for check in checks:
                if self._stopping.is_set():
                    break
                results.append(grader.run_check(check))
            grader.reconsider(results)
        finally:
            with self._lock:
                self._running.discard(grader)
            grader.close()
        if self._stopping.is_set():
            return  # its worker was killed under it: these results are not the student's
        seconds = time.perf_counter() - started
        self.state.save(submission.student, assignment.id,
                        SPEED if checks[0].kind == "speed" else CORRECTNESS, key, results, seconds)
        with self._lock:
            self.batch.results.setdefault((submission.student, assignment.id), []).extend(results)
            self.batch.graded_now += 1
            self.done += 1
            if self.on_progress:
                self.on_progress(self.done, self.total, submission.student, assignment.id)

    def close(self):
        for reference in self._references.values():
            if self._stopping.is_set():
                reference.abort()
            else:
                reference.close()
        if self._zygote:
            self._zygote.close()
