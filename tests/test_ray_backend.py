"""Batch grading on a real Ray cluster of three nodes started on this machine (one of them
advertising a GPU): the same gradebook as one machine, GPU work only on the GPU node, a
node killed mid-batch loses nothing, a submission that brings down its grading worker gets
a row that says so, and a batch resumes across backends.

These start real clusters (minutes): they carry the ``ray`` mark, which the default run
leaves out; ``tox -e ray`` (or ``pytest -m ray``) runs them.
"""
import csv
import os
import sys
import threading
import time

import pytest

from autograder import results as R
from autograder.batch import Options, grade_class, write_all

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

# a marker the submission below carries; the grading actor of the test dies on it
KILL_MARK = "# this submission brings down the grading worker"


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1,
                                                            "include_dashboard": False})
    cpu_node = cluster.add_node(num_cpus=1)
    gpu_node = cluster.add_node(num_cpus=1, num_gpus=1)
    ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
    cluster.wait_for_nodes()
    cluster.cpu_node, cluster.gpu_node = cpu_node, gpu_node
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture(scope="module")
def example_class(tmp_path_factory, manifest, cluster, kit_root):
    """The example class (every assignment), plus two students of this test: one whose
    code probes the sandbox from inside the Ray worker, one that kills its grader."""
    from autograder.batch.examples import build_class
    root = tmp_path_factory.mktemp("class")
    build_class(root / "submissions", manifest)
    reference = kit_root / "reference" / "01_tensors" / "tensors.py"
    probe = root / "submissions" / "pia" / "01_tensors"
    probe.mkdir(parents=True)
    host, port = cluster.address.rsplit(":", 1)
    (probe / "tensors.py").write_text(reference.read_text() + SANDBOX_PROBE.format(
        host=host, port=port, target=root / "escaped.txt"))
    killer = root / "submissions" / "kurt" / "01_tensors"
    killer.mkdir(parents=True)
    (killer / "tensors.py").write_text(reference.read_text() + "\n" + KILL_MARK + "\n")
    return root


# Appended to a correct solution: its import fails when the sandbox does not hold, so it
# gets full marks only where the network and the kit are out of its reach.
SANDBOX_PROBE = '''

def _escaped():
    import socket
    found = []
    try:
        socket.create_connection(("{host}", {port}), timeout=2).close()
        found.append("reached the Ray cluster's address")
    except OSError:
        pass
    try:
        with open("{target}", "w") as out:
            out.write("escaped")
        found.append("wrote outside its folder")
    except OSError:
        pass
    return found


_ESCAPES = _escaped()
if _ESCAPES:
    raise RuntimeError("the sandbox did not hold: " + ", ".join(_ESCAPES))
'''


def _options(root, out, **extra):
    return Options(submissions=root / "submissions", out=out, speed=False, progress=False,
                   cache=root / f"cache-{out.name}", **extra)


def _gradebook(out):
    with open(out / "gradebook.csv", newline="") as handle:
        return list(csv.reader(handle))


def _without(rows, student):
    return [row for row in rows if row[0] != student]


@pytest.fixture(scope="module")
def local_and_ray(cluster, example_class, manifest):
    """The class graded on this machine, then on the cluster (the test's kill student
    left out of the comparison: only the cluster's actor of this test dies on it)."""
    local = grade_class(_options(example_class, example_class / "local"), manifest=manifest)
    write_all(local, example_class / "local")
    on_ray = grade_class(_options(example_class, example_class / "ray", backend="ray"),
                         manifest=manifest)
    write_all(on_ray, example_class / "ray")
    return local, on_ray


def test_the_gradebook_equals_the_local_backends(local_and_ray, example_class):
    local, on_ray = local_and_ray
    assert on_ray.backend == "ray" and on_ray.graded_now > 20
    rows = _gradebook(example_class / "ray")
    assert rows == _gradebook(example_class / "local")
    for student in ("ada", "bob", "pia"):   # the feedback too, word for word
        name = f"{student}.md"
        assert (example_class / "ray" / "feedback" / name).read_text() == \
            (example_class / "local" / "feedback" / name).read_text()
    # a perfect submission passes every check that ran, on the cluster as here
    ada = [r for (student, _), results in on_ray.results.items() if student == "ada"
           for r in results]
    assert len(ada) == sum(len(a.checks) for a in on_ray.assignments)
    assert {r.status for r in ada} == {R.PASSED, R.NOT_EVALUATED}


def test_the_sandbox_holds_on_the_ray_workers(local_and_ray, example_class):
    local, on_ray = local_and_ray
    for batch in (local, on_ray):
        results = batch.results[("pia", "01_tensors")]
        assert all(r.status in (R.PASSED, R.NOT_EVALUATED) for r in results), \
            [r.reason for r in results]
    assert not (example_class / "escaped.txt").exists()


def test_gpu_work_lands_only_on_the_gpu_node_and_cpu_work_never_holds_a_gpu(local_and_ray,
                                                                            cluster):
    _, on_ray = local_and_ray
    gpu_jobs = [p for p in on_ray.placements if p[3] == "cuda"]
    cpu_jobs = [p for p in on_ray.placements if p[3] == "cpu"]
    assert gpu_jobs and cpu_jobs
    assert {p[4] for p in gpu_jobs} == {cluster.gpu_node.node_id}
    assert {p[5] for p in gpu_jobs} == {"gpu"} and {p[5] for p in cpu_jobs} == {"cpu"}
    # the GPU node advertises a GPU this machine does not have: its checks say so, and
    # their results are not saved (a cluster with a real GPU grades them next time)
    hana = on_ray.results[("hana", "07_cuda")]
    assert all(r.status == R.NOT_EVALUATED for r in hana if r.check.endswith("_cuda"))


def test_a_batch_resumes_on_another_backend(local_and_ray, example_class, manifest):
    """The saved results of the cluster's run are found by the local backend (the same
    content hashes): nothing is graded again but the GPU checks no node could run."""
    again = grade_class(_options(example_class, example_class / "ray"), manifest=manifest)
    assert again.graded_now == 0 and again.reused > 20
    write_all(again, example_class / "ray")
    assert _gradebook(example_class / "ray") == _gradebook(example_class / "local")


def test_an_interrupted_cluster_batch_resumes_on_this_machine(cluster, example_class, manifest):
    """Ctrl-C on the driver after three jobs: what came back is saved; the same command
    on the local backend grades only the rest, and the gradebook is one machine's."""
    out = example_class / "interrupted"
    assignments = ["01_tensors", "02_autograd"]

    def stop(done, total, student, assignment):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stopped:
        grade_class(_options(example_class, out, backend="ray", assignments=assignments),
                    manifest=manifest, on_progress=stop)
    first = stopped.value.batch
    assert first.graded_now == 3
    rest = grade_class(_options(example_class, out, assignments=assignments), manifest=manifest)
    assert rest.reused == 3 and rest.graded_now > 0
    write_all(rest, out)
    whole = grade_class(_options(example_class, example_class / "whole", assignments=assignments),
                        manifest=manifest)
    write_all(whole, example_class / "whole")
    assert _gradebook(out) == _gradebook(example_class / "whole")


def test_a_lost_reference_store_costs_time_not_grades(cluster, example_class, manifest):
    """The shared store of reference outputs is killed after the first job: each actor
    computes what it needs itself from then on, and no check reads an internal error."""
    from autograder.batch import ray_backend
    out = example_class / "storeless"
    assignments = ["01_tensors", "02_autograd"]

    killed = []

    def kill_the_store(done, total, student, assignment):
        if done == 1:
            for name in ray.util.list_named_actors():
                if name.startswith(ray_backend.STORE_NAME):
                    ray.kill(ray.get_actor(name))
                    killed.append(name)

    batch = grade_class(_options(example_class, out, backend="ray", assignments=assignments),
                        manifest=manifest, on_progress=kill_the_store)
    write_all(batch, out)
    assert len(killed) == 1
    assert not any(r.status == R.GRADER_ERROR for rs in batch.results.values() for r in rs)
    local = example_class / "local-two"
    write_all(grade_class(_options(example_class, local, assignments=assignments),
                          manifest=manifest), local)
    assert _gradebook(out) == _gradebook(local)


def test_a_node_killed_mid_batch_loses_nothing(cluster, example_class, manifest, tmp_path):
    """After the first job comes back, the CPU node leaves the cluster while it grades:
    its jobs are graded again elsewhere, and the gradebook is the same as one machine's."""
    out = example_class / "killed"
    killed = threading.Event()

    def kill_a_node(done, total, student, assignment):
        if done >= 2 and not killed.is_set():
            killed.set()

            def later():
                time.sleep(1.5)   # the node has been given its next job by then
                cluster.remove_node(cluster.cpu_node, allow_graceful=False)
            threading.Thread(target=later, daemon=True).start()

    options = _options(example_class, out, backend="ray",
                       assignments=["01_tensors", "02_autograd", "03_adam", "06_modules"])
    batch = grade_class(options, manifest=manifest, on_progress=kill_a_node)
    write_all(batch, out)
    assert killed.is_set() and batch.lost_workers >= 1
    assert cluster.cpu_node.node_id not in {p[4] for p in batch.placements[-5:]}
    local = example_class / "local-four"
    reference = grade_class(_options(example_class, local, assignments=options.assignments),
                            manifest=manifest)
    write_all(reference, local)
    assert _gradebook(out) == _gradebook(local)
    # every (student, assignment) once: nothing lost, nothing counted twice
    for (student, assignment_id), results in batch.results.items():
        checks = [r.check for r in results]
        assert len(checks) == len(set(checks)), (student, assignment_id)


class _DiesOnMark:
    """A grading actor that dies on the test's mark, as one brought down by the machine
    it runs on would: every try of that job loses its actor."""

    def grade(self, assignment_id, check_ids, files):
        if any(KILL_MARK.encode() in data for data in files.values()):
            os._exit(1)
        return super().grade(assignment_id, check_ids, files)


def test_a_submission_that_kills_its_worker_every_time_gets_a_row_with_the_reason(
        cluster, example_class, manifest, monkeypatch):
    from autograder.batch import ray_backend
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    actor = type("GradingActorThatDies", (_DiesOnMark, ray_backend.GradingActor), {})
    monkeypatch.setattr(ray_backend, "GradingActor", actor)
    out = example_class / "kills"
    options = _options(example_class, out, backend="ray", assignments=["01_tensors"])
    batch = grade_class(options, manifest=manifest)
    write_all(batch, out)
    rows = {row[0]: row for row in _gradebook(out)}
    graded_here = {c.id for c in manifest.assignment("01_tensors").checks
                   if c.kind != "speed" and c.device == "cpu"}
    kurt = [r for r in batch.results[("kurt", "01_tensors")] if r.check in graded_here]
    assert kurt and all(r.status == R.GRADER_ERROR for r in kurt)
    assert "3" in kurt[0].reason and "stopped" in kurt[0].reason
    assert "stopped" in rows["kurt"][1]
    assert batch.lost_workers == ray_backend.ATTEMPTS
    assert all(r.status in (R.PASSED, R.NOT_EVALUATED)
               for r in batch.results[("ada", "01_tensors")])
    # not saved: a batch run again tries it again (and here, with the kit's own actor, grades it)
    monkeypatch.setattr(ray_backend, "GradingActor", actor.__mro__[2])
    again = grade_class(options, manifest=manifest)
    assert again.graded_now >= 1
    assert all(r.status != R.GRADER_ERROR for r in again.results[("kurt", "01_tensors")])


def test_the_readme_command_grades_on_an_existing_cluster(cluster, example_class, kit_root):
    """``python -m autograder batch ... --backend ray --address HOST:PORT``, as the README
    gives it, in a process of its own that joins the cluster and leaves it running."""
    import subprocess
    out = example_class / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "--lang", "en", "batch",
         str(example_class / "submissions"), "--out", str(out), "--assignments", "02_autograd",
         "--no-speed", "--no-progress", "--cache", str(example_class / "cache-cli"),
         "--backend", "ray", "--address", cluster.address],
        cwd=kit_root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "on the Ray cluster: jobs graded on" in done.stdout
    rows = {row[0]: row for row in _gradebook(out)}
    assert rows["ada"][3] == rows["(maximum)"][3]
    assert ray.is_initialized() and len([n for n in ray.nodes() if n["Alive"]]) >= 2
