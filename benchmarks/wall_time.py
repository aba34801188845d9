"""Wall time of `pytest assignments/03_adam --solution reference`, torch import included.

    python benchmarks/wall_time.py [--runs 3] [--assignment 03_adam]

Prints each run and the median. Goal for 03_adam: 10 s or less.
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--assignment", default="03_adam")
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", f"assignments/{args.assignment}",
               "--solution", "reference", "-q", "-p", "no:cacheprovider"]
    times = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        total = [line for line in done.stdout.splitlines() if line.startswith("TOTAL")]
        print(f"run {run}: {times[-1]:.2f} s  exit {done.returncode}  {total[0] if total else ''}")
        if done.returncode != 0:
            print(done.stdout[-3000:])
            return 1
    print(f"median of {args.runs}: {statistics.median(times):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
