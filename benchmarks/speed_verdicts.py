"""Reliability of speed verdicts, measured through the real grading path.

    python benchmarks/speed_verdicts.py [--check adam_speed_cpu] [--runs 50] [--slow-runs 10]
                                        [--no-busy]

1. The reference graded against itself, --runs times, while another process keeps one
   core busy: every verdict should be pass (a fail would be a false accusation).
2. A deliberately slow solution (Adam.step as an element-wise Python loop, otherwise
   the reference) graded --slow-runs times: every verdict should be fail.
"""
import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT_ROOT))

from autograder.grading import REFERENCE_ROOT, Grader, ReferenceSide  # noqa: E402
from autograder.manifest import load_manifest  # noqa: E402
from autograder.timing import SpeedVerdict  # noqa: E402

ELEMENTWISE_ADAM = '''

class Adam(Adam):
    """The same maths as the reference, one element at a time (deliberately slow)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"].item()
                grad = p.grad
                if group["weight_decay"] != 0:
                    grad = grad + group["weight_decay"] * p
                flat, g = p.view(-1), grad.reshape(-1)
                m, v = state["exp_avg"].view(-1), state["exp_avg_sq"].view(-1)
                for i in range(flat.numel()):
                    m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                    denom = (v[i] / (1 - beta2 ** t)).sqrt() + group["eps"]
                    flat[i] -= group["lr"] / (1 - beta1 ** t) * m[i] / denom
'''


def slow_tree(destination):
    folder = Path(destination) / "03_adam"
    folder.mkdir(parents=True)
    source = (REFERENCE_ROOT / "03_adam" / "optimizers.py").read_text()
    (folder / "optimizers.py").write_text(source + ELEMENTWISE_ADAM)
    return Path(destination)


def verdicts(assignment, check, root, reference, runs):
    grader = Grader(assignment, root, reference)
    counts, ratios = collections.Counter(), []
    started = time.perf_counter()
    try:
        for _ in range(runs):
            verdict = grader.measure_speed(check)
            if not isinstance(verdict, SpeedVerdict):
                print(f"  could not time: {verdict.status}: {verdict.reason}")
                counts["error"] += 1
                continue
            counts[verdict.verdict] += 1
            ratios.append(verdict.median)
    finally:
        grader.close()
    elapsed = time.perf_counter() - started
    if ratios:
        print(f"  verdicts: {dict(counts)}; median ratio min {min(ratios):.2f}x, "
              f"max {max(ratios):.2f}x; {elapsed / runs:.2f} s per verdict")
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", default="adam_speed_cpu")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--slow-runs", type=int, default=10)
    parser.add_argument("--no-busy", action="store_true", help="do not load the other core")
    args = parser.parse_args()
    assignment = load_manifest().assignment("03_adam")
    check = assignment.check(args.check)
    busy = None if args.no_busy else subprocess.Popen(
        [sys.executable, "-c", "while True: pass"])
    reference = ReferenceSide(assignment)
    try:
        print(f"{check.id} (budget {check.budget:g}x, device {check.device}); "
              f"other core {'idle' if busy is None else 'busy'}")
        print(f"reference vs reference, {args.runs} verdicts:")
        same = verdicts(assignment, check, REFERENCE_ROOT, reference, args.runs)
        print(f"element-wise Python loop vs reference, {args.slow_runs} verdicts:")
        with tempfile.TemporaryDirectory() as scratch:
            slow = verdicts(assignment, check, slow_tree(scratch), reference, args.slow_runs)
    finally:
        reference.close()
        if busy is not None:
            busy.kill()
    ok = same.get("fail", 0) == 0 and slow.get("fail", 0) == args.slow_runs
    print("OK" if ok else "NOT OK: a false fail, or a slow solution not caught")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
