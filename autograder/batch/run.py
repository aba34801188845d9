"""Grading a whole class: every chosen assignment of every submission, in parallel, resumable.

The work is a list of jobs, one per (student, assignment, phase, kind of device: the checks
that need a GPU are a job of their own):

* the *correctness* phase runs every check but the speed checks, ``jobs`` at a time;
* the *speed* phase then times the speed checks one job at a time, so no two
  measurements share the machine.

The jobs run on a *backend*: this machine's cores (the default), or a Ray cluster
(``autograder.batch.ray_backend``, ``--backend ray``), which grades each job with the same
code on some node and gives its results back to this process; planning, saving and the
outputs are the same on both. On this machine, each job grades the staged copy of the student's files with the instructor's kit: a
``Grader`` whose worker is forked from one zygote (torch is imported once for the whole
batch), against one ``ReferenceSide`` per assignment shared by all jobs, whose outputs
come from a disk cache when an earlier batch computed them. A job's results are saved as
soon as it ends, keyed by a hash of the student's files, the kit's version, the seed, the
phase and the language (the saved results hold the feedback's texts, written in the
language they were graded in: a batch run in another language grades again): a batch that
is interrupted (Ctrl-C, a killed process) loses only the jobs that were running, and a
batch run again grades only what changed.
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
from autograder.i18n import _, language, tr

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
    backend: str = "local"         # "local": this machine's cores; "ray": a Ray cluster
    address: str = None            # the Ray cluster to join; None: start one here


@dataclass(eq=False)
class Job:
    """One unit of work: some checks (one phase, one kind of device) of one assignment of
    one submission."""

    submission: object
    assignment: object
    checks: list
    key: str
    phase: str
    device: str                    # "cpu", or "cuda" for the checks that need a GPU

    def files(self):
        """The staged files this job grades, ``"03_adam/optimizers.py"`` -> bytes (the
        assignment's own and those of the assignments it uses)."""
        found = {}
        for assignment_id, names in [(self.assignment.id, self.assignment.files),
                                     *self.assignment.uses]:
            for name in names:
                path = Path(self.submission.staged) / assignment_id / name
                if path.is_file():
                    found[f"{assignment_id}/{name}"] = path.read_bytes()
        return found


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
    backend: str = "local"
    # on a Ray cluster: (student, assignment id, phase, device, node id, actor kind) of each
    # job graded, how many grading actors died under a job (each such job ran again), and
    # the sandbox warning of each node whose sandbox does not confine student code fully
    placements: list = field(default_factory=list)
    lost_workers: int = 0
    node_warnings: dict = field(default_factory=dict)


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
    state = _State(out / ".state")
    recorder = _Recorder(batch, state, on_progress)
    if options.backend == "ray":
        from autograder.batch.ray_backend import RayRunner
        runner = RayRunner(batch, cache, recorder.finish, recorder.give_up,
                           address=options.address, jobs=options.jobs)
        gpu = runner.has_gpu if options.cuda is None else options.cuda and runner.has_gpu
        cuda = gpu and runner.cuda
    elif options.backend == "local":
        cuda = options.cuda
        if cuda is None:
            from autograder.grading import cuda_available
            cuda = cuda_available()
        runner = _Runner(batch, cache, cuda, recorder.finish)
        gpu = cuda
    else:
        raise ValueError(f"unknown backend {options.backend!r}: local or ray")
    pending = {CORRECTNESS: [], SPEED: []}
    try:
        for submission in submissions:
            for assignment in assignments:
                for phase in (CORRECTNESS, SPEED):
                    for device in ("cpu", "cuda"):
                        job = _plan(batch, state, submission, assignment, phase, device,
                                    cuda, gpu)
                        if job is not None:
                            pending[phase].append(job)
        recorder.total = len(pending[CORRECTNESS]) + len(pending[SPEED])
        runner.run(pending[CORRECTNESS], options.jobs or os.cpu_count() or 1)
        runner.run(pending[SPEED], 1, timing=True)
    except KeyboardInterrupt as stop:
        from autograder.signals import signal_name
        batch.interrupted = signal_name(stop)
        stop.batch = batch
        runner.abort()
        raise
    finally:
        runner.close()
        batch.seconds = time.perf_counter() - started
        batch.cache_hits, batch.cache_misses = cache.hits, cache.misses
        batch.backend = options.backend
        batch.placements = list(getattr(runner, "placements", []))
        batch.lost_workers = getattr(runner, "stopped_actors", 0)
        batch.node_warnings = {warning: sorted(nodes) for warning, nodes
                               in getattr(runner, "sandbox_warnings", {}).items()}
    return batch


def _plan(batch, state, submission, assignment, phase, device, cuda, gpu):
    """The job for these checks of this submission, or None when their results are known
    without one (saved by an earlier run, not submitted, no GPU, speed not measured).
    ``cuda``: GPU checks can run (what a missing submission's GPU checks read); ``gpu``:
    there is somewhere to send them."""
    checks = [c for c in _checks(assignment, phase) if (c.device == "cuda") == (device == "cuda")]
    if not checks:
        return None
    results = batch.results.setdefault((submission.student, assignment.id), [])
    key = _key(batch, submission, assignment, phase, device)
    saved = state.load(submission.student, assignment.id, f"{phase}-{device}", key)
    if saved is not None:
        results.extend(saved)
        batch.reused += 1
    elif phase == SPEED and not batch.options.speed:
        results.extend(_result(assignment, check, R.NOT_EVALUATED,
                               _("not measured in this batch (run without --no-speed to time "
                                 "it)"))
                       for check in checks)
    elif not submission.gradable or not submission.has(assignment):
        results.extend(_not_graded(submission, assignment, checks, cuda))
    elif device == "cuda" and not gpu:
        # the same words as autograder.grading's for a GPU check without CUDA
        results.extend(_result(assignment, check, R.NOT_EVALUATED,
                               _("not evaluated (no CUDA device)")) for check in checks)
    else:
        return Job(submission, assignment, checks, key, phase, device)
    return None


class _Recorder:
    """Takes in the jobs that ended, on whichever backend: saves them (resume), adds them
    to the batch once, and reports progress."""

    def __init__(self, batch, state, on_progress):
        self.batch, self.state, self.on_progress = batch, state, on_progress
        self.total = self.done = 0
        self._lock = threading.Lock()

    def finish(self, job, results, seconds, save=True):
        """A job that was graded: saved, so a batch run again does not grade it again;
        unless ``save`` is false (GPU checks that found no CUDA where they ran) or a fault
        of the kit stopped a check (an internal error is not the student's result: the
        next run grades the job again)."""
        if save and not any(r.status == R.GRADER_ERROR for r in results):
            self.state.save(job.submission.student, job.assignment.id,
                            f"{job.phase}-{job.device}", job.key, results, seconds)
        with self._lock:
            self.batch.graded_now += 1
            self._add(job, results)

    def give_up(self, job, reason, status=R.GRADER_ERROR):
        """A job that could not be graded (the machines failed it, not the student): its
        checks say why, and it is not saved, so a batch run again tries it again."""
        with self._lock:
            self._add(job, [_result(job.assignment, check, status, reason)
                            for check in job.checks])

    def _add(self, job, results):
        self.batch.results.setdefault((job.submission.student, job.assignment.id),
                                      []).extend(results)
        self.done += 1
        if self.on_progress:
            self.on_progress(self.done, self.total, job.submission.student, job.assignment.id)


def _checks(assignment, phase):
    return [c for c in assignment.checks if (c.kind == "speed") == (phase == SPEED)]


def _key(batch, submission, assignment, phase, device):
    """What a job's saved results depend on (the same on any backend, any machine: a batch
    resumes wherever it is run again)."""
    uses = [(aid, files) for aid, files in assignment.uses]
    digest = submission.digest(assignment, uses) if submission.staged else "none"
    text = json.dumps([batch.kit_version, batch.options.seed, phase, device, language(),
                       submission.gradable, sorted(submission.problems), digest])
    return hashlib.sha256(text.encode()).hexdigest()


def _result(assignment, check, status, reason, feedback=""):
    from autograder.feedback import title_of   # (imports torch: not before grading)
    return R.CheckResult(assignment=assignment.id, check=check.id, title=title_of(check),
                         max_points=check.points, status=status, reason=reason,
                         feedback=feedback or reason)


def _not_graded(submission, assignment, checks, cuda):
    if not submission.gradable:
        reason = tr("not graded: {problems}", problems="; ".join(submission.problems))
    else:
        reason = tr("not submitted: {files} was not found in the submission",
                    files=", ".join(missing_files(submission, assignment)))
    # the same words as autograder.grading's for a GPU check without CUDA
    return [_result(assignment, check, R.NOT_EVALUATED, _("not evaluated (no CUDA device)"))
            if check.device == "cuda" and not cuda else
            _result(assignment, check, R.LOAD_ERROR, reason) for check in checks]


def missing_files(submission, assignment):
    """The files of ``assignment`` (as ``03_adam/optimizers.py``) the submission lacks."""
    return [f"{assignment.id}/{f}" for f in assignment.files
            if f"{assignment.id}/{f}" not in submission.files]


class _State:
    """Saved job results, one JSON file per (student, assignment, phase and device)."""

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
    """Runs jobs on this machine, on a thread pool; one zygote and one reference side per
    assignment."""

    def __init__(self, batch, cache, cuda, finish):
        self.batch, self.cache, self.cuda, self.finish = batch, cache, cuda, finish
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

    def run(self, jobs, parallel, timing=False):
        """Grade ``jobs``, ``parallel`` at a time (the speed phase asks for one)."""
        if not jobs:
            return
        self._start()
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="grade") as pool:
            futures = [pool.submit(self._job, job) for job in jobs]
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
                self.abort()
                raise

    def _job(self, job):
        from autograder.grading import Grader
        if self._stopping.is_set():
            return
        started = time.perf_counter()
        grader = Grader(job.assignment, job.submission.staged, self._reference(job.assignment),
                        seed_offset=self.batch.options.seed, cuda=self.cuda,
                        zygote=self._start())
        with self._lock:
            self._running.add(grader)
        try:
            results = []
            for check in job.checks:
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
        self.finish(job, results, time.perf_counter() - started)

    def abort(self):
        """Stop every student's worker at once (an interrupted batch)."""
        self._stopping.set()
        with self._lock:
            for grader in list(self._running):
                grader.abort()

    def close(self):
        for reference in self._references.values():
            if self._stopping.is_set():
                reference.abort()
            else:
                reference.close()
        if self._zygote:
            self._zygote.close()
