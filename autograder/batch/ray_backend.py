"""Batch grading on a Ray cluster: ``python -m autograder batch --backend ray``.

The batch is planned, saved and written by the driver exactly as on one machine
(``autograder.batch.run``): the same jobs, the same keys, the same resume state, the same
outputs. Only where a job runs changes. Each job (one submission, one assignment, one
phase, one kind of device) goes to a *grading actor*, a long-lived process on some node
that keeps torch imported (a zygote for the batch's assignments, from which each student's
sandboxed worker is forked, as on one machine) and grades with the same ``Grader``.

* **Placement.** CPU actors ask Ray for one CPU each; GPU actors for one GPU, and only the
  jobs of CUDA checks go to them, so a CPU check never holds a GPU slot. A cluster without
  a GPU resource grades everything else and reports the GPU checks "not evaluated", as one
  machine without CUDA does. A speed job runs only on a node no other speed job is using,
  after every correctness job is done (one measurement per machine at a time).
* **Reference outputs** are computed once per batch for the whole cluster: an actor that
  needs one asks the shared *store* (an actor holding object references), computes it only
  when no one has, and puts it in Ray's object store for the others. The store starts with
  what the driver's disk cache holds, and what the cluster computed is written back to that
  cache at the end, so the next batch, on Ray or not, computes nothing again.
* **Student files** travel with each job (only the files the manifest names, as staged),
  so nodes need no shared disk; each node needs the same kit installed (its version is
  checked when an actor starts).
* **Faults.** A job whose actor dies (a node leaves, a worker is killed) is given to
  another actor, at most ``ATTEMPTS`` times in all; a job that brings down its actor every
  time gets results that say so, and is not saved, so running the batch again retries it.
  A job's results count once: only a job that came back is saved and put in the gradebook.
"""
import os
import shutil
import tempfile
import time
from collections import deque
from dataclasses import asdict

from autograder import results as R
from autograder.i18n import _, tr

ATTEMPTS = 3                 # tries of one job, on different actors where there are any
START_TIMEOUT = 600.0        # seconds an actor may take to start (importing torch included)
STORE_NAME = "autograder-reference-store"   # (a batch's store: this, the driver's pid, a time)


class ClusterError(RuntimeError):
    """The cluster cannot grade this batch (it cannot be joined, or runs another kit)."""


def _ray():
    try:
        import ray
    except ImportError as error:  # an optional extra
        raise ModuleNotFoundError("--backend ray needs Ray: pip install -e \".[ray]\"",
                                  name="ray") from error
    return ray


class ReferenceStore:
    """A cluster's shared reference outputs: cache key -> an object reference (wrapped in a
    list, so it is passed along rather than fetched), and who is computing what now."""

    def __init__(self):
        self._entries = {}
        self._claims = {}       # key -> (claimer, until when)

    def add(self, key, wrapped):
        self._entries.setdefault(key, wrapped)
        self._claims.pop(key, None)
        return True

    def claim(self, key, claimer, lease):
        """("have", wrapped ref); ("compute", None): the caller computes it, and has
        ``lease`` seconds to add it; ("wait", None): another actor is computing it."""
        if key in self._entries:
            return "have", self._entries[key]
        holder = self._claims.get(key)
        now = time.monotonic()
        if holder is not None and holder[0] != claimer and holder[1] > now:
            return "wait", None
        self._claims[key] = (claimer, now + lease)
        return "compute", None

    def release(self, key, claimer):
        if self._claims.get(key, (None,))[0] == claimer:
            del self._claims[key]
        return True

    def find(self, key):
        return self._entries.get(key)

    def keys(self):
        return sorted(self._entries)


class StoreCache:
    """``ReferenceCache``'s interface over the cluster's store, with a copy of what this
    actor has seen in memory. An output another actor is computing is waited for (up to
    its check's time limit) rather than computed twice."""

    def __init__(self, store, version):
        self.store = store
        self.version = version
        self._seen = {}
        self._me = f"{os.uname().nodename}:{os.getpid()}"
        self.hits = self.misses = 0

    def get(self, assignment, impl, check, seed_offset):
        from autograder.reference_cache import decode, entry_key
        ray = _ray()
        key = entry_key(assignment, impl, check, seed_offset)
        if key in self._seen:
            self.hits += 1
            return self._seen[key]
        lease = assignment.timeout_for(check) + 60.0
        deadline = time.monotonic() + lease
        while True:
            try:
                state, wrapped = ray.get(self.store.claim.remote(key, self._me, lease))
            except ray.exceptions.RayError:   # the store is gone: this actor computes it
                break
            if state == "have":
                try:
                    self._seen[key] = decode(ray.get(wrapped[0]))
                except Exception:   # lost with its node, or unreadable: compute it again
                    break
                self.hits += 1
                return self._seen[key]
            if state == "compute" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.misses += 1
        return None

    def put(self, assignment, impl, check, seed_offset, outcome):
        from autograder.reference_cache import CACHEABLE, encode, entry_key
        ray = _ray()
        key = entry_key(assignment, impl, check, seed_offset)
        try:
            if outcome.status not in CACHEABLE:
                self.store.release.remote(key, self._me)
                return
            self._seen[key] = outcome
            self.store.add.remote(key, [ray.put(encode(outcome))])
        except ray.exceptions.RayError:   # the store is gone: kept in this actor only
            pass


class GradingActor:
    """A grading process on a node of the cluster (one per worker slot)."""

    def __init__(self, assignment_ids, seed, language, version, store):
        from autograder import zygote
        from autograder.grading import cuda_available
        from autograder.i18n import set_language
        from autograder.manifest import load_manifest
        from autograder.reference_cache import kit_version
        set_language(language)
        self.version = kit_version()
        self.expected_version = version
        self.seed = seed
        self.manifest = load_manifest()
        self.assignments = [self.manifest.assignment(a) for a in assignment_ids]
        self.cuda = cuda_available()
        self.cache = StoreCache(store, version)
        self.zygote = None
        if self.version == version:
            self.zygote = zygote.start(a.scenarios_path for a in self.assignments)
        self._references = {}

    def hello(self):
        """Where this actor runs, whether it can grade for this batch, and what its node's
        sandbox cannot do ('' when it confines student code fully)."""
        import ray

        from autograder.sandbox import detect
        return {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(),
                "cuda": self.cuda, "version": self.version,
                "same_kit": self.version == self.expected_version,
                "sandbox": detect().warning()}

    def _reference(self, assignment):
        from autograder.grading import reference_side_for
        from autograder.runner import WorkerRunner
        if assignment.id not in self._references:
            self._references[assignment.id] = reference_side_for(
                assignment, runner=WorkerRunner("reference", zygote=self.zygote),
                seed_offset=self.seed, cache=self.cache)
        return self._references[assignment.id]

    def grade(self, assignment_id, check_ids, files):
        """Grade ``check_ids`` of one submission, whose files (``"03_adam/optimizers.py"``
        -> bytes) are written to a folder of this node first; the results as plain data."""
        from autograder.grading import Grader
        assignment = self.manifest.assignment(assignment_id)
        started = time.perf_counter()
        root = tempfile.mkdtemp(prefix="autograder-ray-")
        try:
            for name, data in files.items():
                path = os.path.join(root, *name.split("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as out:
                    out.write(data)
            grader = Grader(assignment, root, self._reference(assignment), seed_offset=self.seed,
                            cuda=self.cuda, zygote=self.zygote)
            try:
                results = [grader.run_check(assignment.check(c)) for c in check_ids]
                grader.reconsider(results)
            finally:
                grader.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)
        import ray
        return {"results": [asdict(r) for r in results], "cuda": self.cuda,
                "node": ray.get_runtime_context().get_node_id(),
                "seconds": time.perf_counter() - started}

    def close(self):
        """Stop this actor's workers; how often it found reference outputs in the store."""
        for reference in self._references.values():
            reference.close()
        if self.zygote:
            self.zygote.close()
        return self.cache.hits, self.cache.misses


class _Slot:
    """One actor of the pool, as the driver sees it."""

    def __init__(self, kind, handle, hello):
        self.kind, self.handle, self.hello = kind, handle, hello
        self.started = time.monotonic()
        self.node = None
        self.cuda = False
        self.ready = False
        self.busy = False


class RayRunner:
    """Runs a batch's jobs on a Ray cluster; the driver's counterpart of the local runner.

    ``finish(job, results, seconds, save=...)`` is called on the driver for every job that
    came back; ``give_up(job, reason, status)`` for one that could not be graded on the
    cluster.
    """

    def __init__(self, batch, cache, finish, give_up, *, address=None, jobs=None,
                 actor_class=None, attempts=ATTEMPTS, start_timeout=START_TIMEOUT):
        ray = self.ray = _ray()
        self.batch, self.cache = batch, cache
        self.finish, self.give_up = finish, give_up
        self.attempts, self.start_timeout = attempts, start_timeout
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR", configure_logging=False)
            except Exception as error:
                raise ClusterError(tr("could not join the Ray cluster at {address}: {error}",
                                      address=address or _("(a new one here)"),
                                      error=f"{type(error).__name__}: {error}")) from error
        self.slots = []
        try:
            self._start_actors(batch, cache, jobs, actor_class)
        except BaseException:
            self.abort()
            if self.started_ray:
                ray.shutdown()
            raise

    def _start_actors(self, batch, cache, jobs, actor_class):
        from autograder.i18n import language
        ray = self.ray
        resources = ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0))
        cpus = max(1, int(resources.get("CPU", 1)))
        self.cpu_actors = max(1, min(jobs or cpus, cpus))
        # the store lives on the driver's node: it lasts as long as the batch does
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(),
                                              soft=False)
        self.store = ray.remote(num_cpus=0)(ReferenceStore).options(
            scheduling_strategy=here, name=f"{STORE_NAME}-{os.getpid()}-{time.time_ns()}"
        ).remote()
        self._seed_store()
        remote = ray.remote(actor_class or GradingActor)
        # a CPU actor per CPU of the cluster (or --jobs), spread over the nodes; a GPU actor
        # per GPU, holding no CPU (the CPU actors have them all)
        self._cpu_class = remote.options(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")
        self._gpu_class = remote.options(num_cpus=0, num_gpus=1, max_restarts=0)
        self._arguments = ([a.id for a in batch.assignments], batch.options.seed, language(),
                           cache.version, self.store)
        self.stopped_actors = 0      # actors that died under a job
        self.sandbox_warnings = {}   # what a node's sandbox cannot do -> those nodes
        # (student, assignment id, phase, device, node id, actor kind) of each job graded
        self.placements = []
        for _slot in range(self.cpu_actors):
            self._add("cpu")
        for _slot in range(self.gpus):
            self._add("gpu")
        # Whether the GPU nodes can run CUDA (a node may advertise a GPU it cannot use):
        # what a GPU check of a submission without the assignment's files reads, as on
        # one machine. Their actors are waited for; the CPU ones start meanwhile.
        deadline = time.monotonic() + self.start_timeout
        while any(s.kind == "gpu" and not s.ready for s in self.slots) \
                and time.monotonic() < deadline:
            self._await_starts(1.0)
        self.cuda = any(s.cuda for s in self.slots if s.kind == "gpu" and s.ready)

    @property
    def has_gpu(self):
        """Whether GPU checks can be sent anywhere (a node advertises a GPU)."""
        return any(slot.kind == "gpu" for slot in self.slots)

    def _seed_store(self):
        """The driver's disk cache into the cluster's store (the driver owns these objects,
        so they outlive any node)."""
        ray = self.ray
        pending = [self.store.add.remote(key, [ray.put(data)]) for key, data
                   in self.cache.entries(a.id for a in self.batch.assignments)]
        ray.get(pending)

    def _add(self, kind):
        actor_class = self._gpu_class if kind == "gpu" else self._cpu_class
        handle = actor_class.remote(*self._arguments)
        slot = _Slot(kind, handle, handle.hello.remote())
        self.slots.append(slot)
        return slot

    def _replace(self, kind):
        """A new actor for one that died, where the cluster still has room for it (a node
        that left took its CPUs and GPUs with it)."""
        resource = "GPU" if kind == "gpu" else "CPU"
        total = self.ray.cluster_resources().get(resource, 0)
        if sum(1 for s in self.slots if s.kind == kind) < total:
            self._add(kind)

    def _drop(self, slot):
        if slot in self.slots:
            self.slots.remove(slot)
        try:
            self.ray.kill(slot.handle)
        except Exception:  # already gone
            pass

    def _await_starts(self, timeout):
        """Take in the actors that have started (or failed to) within ``timeout``."""
        ray = self.ray
        starting = {slot.hello: slot for slot in self.slots if not slot.ready}
        if not starting:
            return
        done, _ = ray.wait(list(starting), num_returns=len(starting), timeout=timeout)
        for ref in done:
            slot = starting[ref]
            try:
                hello = ray.get(ref)
            except Exception:   # it could not start (its node left, say)
                self._drop(slot)
                continue
            if not hello["same_kit"]:
                self._drop(slot)
                raise ClusterError(tr(
                    "a node of the Ray cluster has another version of the kit ({theirs}, "
                    "here {ours}): install the same kit on every node",
                    theirs=hello["version"], ours=self.cache.version))
            slot.node, slot.cuda, slot.ready = hello["node"], hello["cuda"], True
            if hello["sandbox"]:
                self.sandbox_warnings.setdefault(hello["sandbox"], set()).add(hello["node"])
        for slot in list(starting.values()):
            if not slot.ready and time.monotonic() - slot.started > self.start_timeout:
                self._drop(slot)   # no room for it anywhere

    def _free(self, kind, timing, nodes_timing):
        for slot in self.slots:
            if slot.ready and not slot.busy and slot.kind == kind \
                    and not (timing and slot.node in nodes_timing):
                return slot
        return None

    def run(self, jobs, parallel=None, timing=False):
        """Grade ``jobs`` (the run module's job tuples); with ``timing``, at most one job per
        node at a time. Returns when every job came back or was given up."""
        ray = self.ray
        queue = deque((job, 0) for job in jobs)
        running = {}            # result ref -> (job, attempt, slot)
        while queue or running:
            self._await_starts(0 if running else 0.2)
            nodes_timing = {slot.node for (*_job, slot) in running.values()} if timing else set()
            for _turn in range(len(queue)):
                job, attempt = queue.popleft()
                kind = "gpu" if job.device == "cuda" else "cpu"
                if not any(s.kind == kind for s in self.slots):
                    if kind == "gpu" or self.ray.cluster_resources().get("CPU", 0) < 1:
                        if kind == "gpu":
                            self.give_up(job, tr("not evaluated (no GPU node is left in the "
                                                 "Ray cluster)"), R.NOT_EVALUATED)
                        else:
                            self.give_up(job, tr("not graded: no node with a CPU is left in "
                                                 "the Ray cluster"), R.GRADER_ERROR)
                        continue
                    self._add("cpu")   # every CPU actor is gone: ask for a new one
                slot = self._free(kind, timing, nodes_timing)
                if slot is None:
                    queue.append((job, attempt))
                    continue
                slot.busy = True
                if timing:
                    nodes_timing.add(slot.node)
                ref = slot.handle.grade.remote(job.assignment.id, [c.id for c in job.checks],
                                               job.files())
                running[ref] = (job, attempt, slot)
            if not running:
                continue
            done, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
            for ref in done:
                job, attempt, slot = running.pop(ref)
                try:
                    out = ray.get(ref)
                except ray.exceptions.RayActorError as error:
                    self.stopped_actors += 1
                    self._drop(slot)
                    self._replace(slot.kind)
                    if attempt + 1 < self.attempts:
                        queue.appendleft((job, attempt + 1))
                    else:
                        self.give_up(job, tr(
                            "not graded: the grading worker stopped each of the {count} "
                            "times it graded this submission ({error})", count=self.attempts,
                            error=type(error).__name__), R.GRADER_ERROR)
                    continue
                slot.busy = False
                results = [R.CheckResult(**entry) for entry in out["results"]]
                self.placements.append((job.submission.student, job.assignment.id, job.phase,
                                        job.device, out["node"], slot.kind))
                # GPU checks that found no CUDA where they ran (a node that advertises a GPU
                # it cannot use): reported, not saved, so a batch run again grades them
                self.finish(job, results, out["seconds"],
                            save=job.device != "cuda" or out["cuda"])

    def abort(self):
        for slot in list(self.slots):
            self._drop(slot)

    def close(self):
        """Stop the actors, keep what the cluster computed in the disk cache, and leave
        the cluster (stopping it when this run started it)."""
        ray = self.ray
        try:
            known = set(self.cache.keys(a.id for a in self.batch.assignments))
            for key in ray.get(self.store.keys.remote(), timeout=60):
                if key in known:
                    continue
                wrapped = ray.get(self.store.find.remote(key), timeout=60)
                try:
                    self.cache.write(key, ray.get(wrapped[0], timeout=60))
                except Exception:   # its owner left the cluster: computed again next time
                    continue
            for hits, misses in ray.get([slot.handle.close.remote() for slot in self.slots
                                         if slot.ready], timeout=60):
                self.cache.hits += hits
                self.cache.misses += misses
        except Exception:
            pass
        finally:
            for slot in list(self.slots):
                self._drop(slot)
            try:
                ray.kill(self.store)
            except Exception:   # already gone
                pass
            if self.started_ray:
                ray.shutdown()
