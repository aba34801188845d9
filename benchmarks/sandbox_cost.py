"""What the sandbox costs: `python -m autograder grade ID --solution reference` with the
sandbox and with `AUTOGRADER_SANDBOX=0`, in turns (A B A B ...), so drift of the machine
cancels in each pair's ratio.

    python benchmarks/sandbox_cost.py [--runs 5] [--assignment 03_adam]

Prints each pair and the median wall times and ratio. The verdicts of the speed checks
come out the same either way (they are printed too).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent


def _run(command, sandbox):
    env = dict(os.environ)
    if not sandbox:
        env["AUTOGRADER_SANDBOX"] = "0"
    started = time.perf_counter()
    done = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stdout[-3000:] + done.stderr[-3000:])
    speed = [line.split("  ")[-1] for line in done.stdout.splitlines() if "speed_cpu" in line]
    total = next((line for line in done.stdout.splitlines() if line.startswith("TOTAL")), "")
    return seconds, " ".join(total.split()), speed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--assignment", default="03_adam")
    args = parser.parse_args()
    command = [sys.executable, "-m", "autograder", "grade", args.assignment,
               "--solution", "reference"]
    _run(command, True)  # warm the file cache
    sandboxed, plain, ratios = [], [], []
    for run in range(1, args.runs + 1):
        a, total_a, speed_a = _run(command, True)
        b, total_b, speed_b = _run(command, False)
        sandboxed.append(a)
        plain.append(b)
        ratios.append(a / b)
        print(f"pair {run}: sandbox {a:.2f} s ({total_a}; {speed_a}), "
              f"none {b:.2f} s ({total_b}; {speed_b}), ratio {a / b:.3f}")
    print(f"median: sandbox {statistics.median(sandboxed):.2f} s, none "
          f"{statistics.median(plain):.2f} s, ratio {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
