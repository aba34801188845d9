"""Speed verdicts of the reference against itself, each in a fresh grading run (new
workers every time), with the kit's fixed allocator thresholds and with glibc's own.

    python benchmarks/fresh_speed_verdicts.py [--assignment 01_tensors]
        [--check distances_speed_cpu] [--runs 20]

A worker's heap history decides whether glibc hands large freed blocks back to the system
(so each call faults fresh pages in again) or keeps them; within one process the
behaviour is stable, across processes it is not. So this benchmark starts a new run each
time; repeated verdicts in the same workers (speed_verdicts.py) cannot show it.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="01_tensors")
    parser.add_argument("--check", default="distances_speed_cpu")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(KIT_ROOT))
    from autograder.manifest import load_manifest
    check = load_manifest().assignment(args.assignment).check(args.check)
    checks = ",".join(filter(None, [check.requires, check.id]))
    command = [sys.executable, "-m", "autograder", "grade", args.assignment, "--solution",
               "reference", "--checks", checks]
    for label, malloc in (("fixed thresholds (the kit's)", ""), ("glibc's own", "system")):
        env = dict(os.environ, AUTOGRADER_MALLOC=malloc)
        verdicts, ratios = collections.Counter(), []
        for _ in range(args.runs):
            done = subprocess.run(command, cwd=KIT_ROOT, env=env, capture_output=True, text=True)
            line = next((l for l in done.stdout.splitlines() if f"::{check.id}" in l), "")
            match = re.search(r"([\d.]+)x the reference", line)
            verdicts["pass" if " PASS " in line else "fail"] += 1
            if match:
                ratios.append(float(match.group(1)))
        print(f"{label}: {dict(verdicts)}; ratios {sorted(ratios)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
