"""Batch grading throughput: seconds per submission-assignment, and nbgrader beside it.

    python benchmarks/batch_throughput.py [--students 50] [--configs all|correctness|speed]
                                          [--nbgrader 10] [--out /tmp/throughput]

1. Generates a class of ``--students`` submissions of all eight assignments: 60% the
   reference, 30% with one or two known mistakes, 10% broken (a syntax error, or a crash
   at import), chosen with a fixed seed.
2. Runs ``python -m autograder batch`` on it, each time into a fresh output folder (so
   nothing is resumed): correctness checks only and with the speed checks, at ``--jobs 1``
   and ``--jobs 2``, with a cold reference cache (a new folder) and a warm one.
3. Runs ``nbgrader autograde`` on ``--nbgrader`` submitted notebooks, each a torch
   notebook with the reference Adam and five autograded test cells that compare it with
   torch.optim.Adam (the work of a correctness check of 03_adam), in the same run.

Prints a table: wall seconds, and seconds per submission-assignment (per notebook for
nbgrader).
"""
import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT_ROOT))


def generate(destination, students, seed=2026):
    from autograder.manifest import apply_patches, load_manifest
    manifest = load_manifest()
    rng = random.Random(seed)
    if destination.exists():
        shutil.rmtree(destination)
    kinds = {"correct": 0, "mistaken": 0, "broken": 0}
    for number in range(students):
        roll = rng.random()
        kind = "correct" if roll < 0.6 else ("mistaken" if roll < 0.9 else "broken")
        kinds[kind] += 1
        files = {}
        for assignment in manifest.assignments:
            for name in assignment.files:
                files[(assignment.id, name)] = (KIT_ROOT / "reference" / assignment.id
                                                / name).read_text()
        if kind == "mistaken":
            for assignment in rng.sample(list(manifest.assignments), rng.choice([1, 2])):
                mistake = rng.choice(assignment.mistakes)
                key = (assignment.id, mistake.file)
                files[key] = apply_patches(files[key], mistake)
        elif kind == "broken":
            assignment = rng.choice(list(manifest.assignments))
            key = (assignment.id, assignment.files[0])
            files[key] = (rng.choice(["def broken(:\n", "import os\nos._exit(1)\n"])
                          + files[key])
        for (assignment_id, name), text in files.items():
            path = destination / f"student{number:03d}" / assignment_id / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return kinds, len(manifest.assignments)


def batch(submissions, out, jobs, speed, cache, zygote=True):
    import os
    if out.exists():
        shutil.rmtree(out)
    command = [sys.executable, "-m", "autograder", "batch", str(submissions), "--out", str(out),
               "--jobs", str(jobs), "--cache", str(cache), "--no-progress"]
    if not speed:
        command.append("--no-speed")
    env = dict(os.environ, AUTOGRADER_ZYGOTE="1" if zygote else "0")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stdout[-3000:] + done.stderr[-3000:])
    return seconds, done.stdout


NOTEBOOK_TESTS = [
    "p = [torch.randn(5, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)]\n"
    "q = [p[0].detach().clone().requires_grad_()]\n"
    "mine, theirs = Adam(p, lr=0.1), torch.optim.Adam(q, lr=0.1)\n"
    "for _ in range(8):\n"
    "    for params, opt in ((p, mine), (q, theirs)):\n"
    "        opt.zero_grad(); (params[0] ** 2).sum().backward(); opt.step()\n"
    "assert torch.allclose(p[0], q[0], atol=1e-6)",
    "p = [torch.randn(4, generator=torch.Generator().manual_seed(1), dtype=torch.float64, "
    "requires_grad=True)]\nq = [p[0].detach().clone().requires_grad_()]\n"
    "mine, theirs = Adam(p, lr=0.05, weight_decay=0.1), torch.optim.Adam(q, lr=0.05, "
    "weight_decay=0.1)\nfor _ in range(8):\n"
    "    for params, opt in ((p, mine), (q, theirs)):\n"
    "        opt.zero_grad(); (params[0] ** 3).sum().backward(); opt.step()\n"
    "assert torch.allclose(p[0], q[0])",
    "p = [torch.randn(6, generator=torch.Generator().manual_seed(2), requires_grad=True)]\n"
    "q = [p[0].detach().clone().requires_grad_()]\n"
    "mine, theirs = Adam(p, lr=0.1, amsgrad=True), torch.optim.Adam(q, lr=0.1, amsgrad=True)\n"
    "for _ in range(8):\n"
    "    for params, opt in ((p, mine), (q, theirs)):\n"
    "        opt.zero_grad(); params[0].sin().sum().backward(); opt.step()\n"
    "assert torch.allclose(p[0], q[0], atol=1e-6)",
    "p = [torch.randn(3, 3, generator=torch.Generator().manual_seed(3), requires_grad=True)]\n"
    "q = [p[0].detach().clone().requires_grad_()]\n"
    "mine, theirs = AdamW(p, lr=0.1), torch.optim.AdamW(q, lr=0.1)\n"
    "for _ in range(8):\n"
    "    for params, opt in ((p, mine), (q, theirs)):\n"
    "        opt.zero_grad(); (params[0] @ params[0]).sum().backward(); opt.step()\n"
    "assert torch.allclose(p[0], q[0], atol=1e-6)",
    "import pytest\nwith pytest.raises(ValueError):\n    Adam([torch.zeros(1, requires_grad=True)], lr=-1)",
]


def nbgrader(root, notebooks):
    """Time ``nbgrader autograde`` on ``notebooks`` submitted copies of a torch notebook."""
    import nbformat
    if root.exists():
        shutil.rmtree(root)
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n"
        "c.CourseDirectory.db_assignments = [dict(name='ps1')]\n"
        f"c.CourseDirectory.db_students = {[dict(id=f's{i:03d}') for i in range(notebooks)]!r}\n"
        "c.ExecutePreprocessor.timeout = 300\n")
    solution = (KIT_ROOT / "reference" / "03_adam" / "optimizers.py").read_text()
    cells = [nbformat.v4.new_code_cell(
        solution, metadata={"nbgrader": {"grade": False, "grade_id": "solution", "locked": False,
                                         "schema_version": 3, "solution": True}})]
    for number, test in enumerate(NOTEBOOK_TESTS):
        cells.append(nbformat.v4.new_code_cell(test, metadata={"nbgrader": {
            "grade": True, "grade_id": f"test{number}", "locked": True, "points": 1,
            "schema_version": 3, "solution": False}}))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, root / "source" / "ps1" / "ps1.ipynb")
    jupyter = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*jupyter, "generate_assignment", "ps1", "--force"], cwd=root, check=True,
                   capture_output=True)
    for i in range(notebooks):  # each student hands in the notebook with the solution filled in
        target = root / "submitted" / f"s{i:03d}" / "ps1"
        target.mkdir(parents=True)
        shutil.copy(root / "source" / "ps1" / "ps1.ipynb", target / "ps1.ipynb")
        (target / "timestamp.txt").write_text("2026-11-30 12:00:00 UTC")
    started = time.perf_counter()
    done = subprocess.run([*jupyter, "autograde", "ps1", "--force", "--create"], cwd=root,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stdout[-3000:] + done.stderr[-3000:])
    import sqlite3
    with sqlite3.connect(root / "gradebook.db") as db:
        scores = [row[0] for row in db.execute("select auto_score from grade where auto_score "
                                               "is not null")]
    return seconds, sum(scores), len(scores)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--configs", choices=["all", "correctness", "speed"], default="all")
    parser.add_argument("--nbgrader", type=int, default=10, help="notebooks (0: skip)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/autograder-throughput"))
    parser.add_argument("--without-zygote", action="store_true",
                        help="also grade without the zygote (a fresh worker for every job)")
    args = parser.parse_args()
    submissions = args.out / "submissions"
    kinds, assignments = generate(submissions, args.students)
    units = args.students * assignments
    print(f"{args.students} submissions ({kinds}), {assignments} assignments each: "
          f"{units} submission-assignments")
    rows = []
    speeds = {"all": [False, True], "correctness": [False], "speed": [True]}[args.configs]
    for speed in speeds:
        for jobs in (1, 2):
            cache = args.out / f"cache-{'speed' if speed else 'plain'}-{jobs}"
            if cache.exists():
                shutil.rmtree(cache)
            for state in ("cold", "warm"):
                seconds, output = batch(submissions, args.out / "graded", jobs, speed, cache)
                label = f"autograder batch, {'with speed checks' if speed else 'correctness only'}, --jobs {jobs}, {state} cache"
                rows.append((label, seconds, seconds / units))
                print(f"{label}: {seconds:.1f} s, {seconds / units:.3f} s per submission-assignment",
                      flush=True)
    if args.without_zygote:  # what importing torch once per batch saves
        cache = args.out / "cache-plain-2"
        seconds, _ = batch(submissions, args.out / "graded", 2, False, cache, zygote=False)
        label = "autograder batch, correctness only, --jobs 2, warm cache, a fresh worker per job"
        rows.append((label, seconds, seconds / units))
        print(f"{label}: {seconds:.1f} s, {seconds / units:.3f} s per submission-assignment",
              flush=True)
    if args.nbgrader:
        seconds, points, tests = nbgrader(args.out / "nbgrader", args.nbgrader)
        print(f"nbgrader: {points:g} of {tests} test cells passed")
        rows.append((f"nbgrader autograde, {args.nbgrader} torch notebooks", seconds,
                     seconds / args.nbgrader))
        print(f"nbgrader autograde: {seconds:.1f} s, {seconds / args.nbgrader:.2f} s per notebook")
    print("\n| run | wall s | s per submission-assignment (nbgrader: per notebook) |")
    print("|---|---:|---:|")
    for label, seconds, each in rows:
        print(f"| {label} | {seconds:.1f} | {each:.3f} |")
    print(json.dumps({"rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
