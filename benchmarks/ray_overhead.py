"""The overhead of grading a class on Ray against grading it on this machine's cores.

    python benchmarks/ray_overhead.py [--students 50] [--pairs 3] [--jobs 2]
                                      [--assignments IDS] [--out /tmp/ray-overhead]

Needs the ray extra (``pip install -e ".[ray]"``).

1. Generates the class of ``benchmarks/batch_throughput.py`` (``--students`` submissions
   of every assignment: 60% the reference, 30% with known mistakes, 10% broken).
2. Warms the reference cache with one local run, so both backends start from the same
   cache and the figure is the backends' own cost.
3. Runs ``python -m autograder batch --no-speed`` with ``--backend local`` and with
   ``--backend ray`` (which starts a one-node Ray cluster on this machine, as an instructor
   without a cluster would see it) in turn, A B A B ..., each into a fresh output folder,
   and checks the two gradebooks are the same.

Prints the wall seconds of each run, the ratio ray/local pair by pair, seconds per
submission-assignment, and the fixed cost of Ray (the difference of the medians).
"""
import argparse
import filecmp
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT_ROOT / "benchmarks"))


def batch(submissions, out, cache, backend, jobs, assignments):
    if out.exists():
        shutil.rmtree(out)
    command = [sys.executable, "-m", "autograder", "--lang", "en", "batch", str(submissions),
               "--out", str(out), "--no-speed", "--no-progress", "--cache", str(cache),
               "--jobs", str(jobs), "--backend", backend]
    if assignments:
        command += ["--assignments", assignments]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"{backend} batch failed:\n{finished.stdout}\n{finished.stderr}")
    return seconds


def main():
    from batch_throughput import generate
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignments", help="comma-separated ids (default: all)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ray-overhead"))
    args = parser.parse_args()
    submissions, cache = args.out / "submissions", args.out / "cache"
    kinds, _ = generate(submissions, args.students)
    count = len(args.assignments.split(",")) if args.assignments else 8
    jobs = args.students * count
    print(f"class: {args.students} submissions ({kinds}), {count} assignment(s): "
          f"{jobs} submission-assignments, correctness checks only, --jobs {args.jobs}")
    warm = batch(submissions, args.out / "warm", cache, "local", args.jobs, args.assignments)
    print(f"warm-up (local, fills the reference cache): {warm:.1f} s")
    local, ray = [], []
    for pair in range(args.pairs):
        local.append(batch(submissions, args.out / "local", cache, "local", args.jobs,
                           args.assignments))
        ray.append(batch(submissions, args.out / "ray", cache, "ray", args.jobs,
                         args.assignments))
        same = filecmp.cmp(args.out / "local" / "gradebook.csv",
                           args.out / "ray" / "gradebook.csv", shallow=False)
        print(f"pair {pair + 1}: local {local[-1]:.1f} s, ray {ray[-1]:.1f} s, ratio "
              f"{ray[-1] / local[-1]:.2f}; gradebooks {'the same' if same else 'DIFFER'}")
        if not same:
            raise SystemExit("the gradebooks differ")
    ratios = [r / s for r, s in zip(ray, local)]
    print(f"median: local {statistics.median(local):.1f} s "
          f"({statistics.median(local) / jobs:.3f} s per submission-assignment), ray "
          f"{statistics.median(ray):.1f} s ({statistics.median(ray) / jobs:.3f} s); ratio "
          f"{statistics.median(ratios):.2f} (pairs {min(ratios):.2f} to {max(ratios):.2f}); "
          f"Ray's extra {statistics.median(ray) - statistics.median(local):.1f} s")


if __name__ == "__main__":
    main()
