"""The reference Adam step against torch.optim.Adam(foreach=True) on the same parameters.

    python benchmarks/adam_vs_torch.py [--device cpu|cuda] [--tensors 200]

Both run in this process on identical copies of the speed check's 200 parameters;
the engine's paired, interleaved timing gives the ratio reference / torch. Goal: <= 1.2x.
"""
import argparse
import importlib.util
import sys
import time
from pathlib import Path

import torch

KIT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT_ROOT))

from autograder.timing import SpeedPolicy, measure_speed  # noqa: E402


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block_timer(step, device):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def time_block(iterations):
        sync()
        started = time.perf_counter()
        for _ in range(iterations):
            step()
        sync()
        return time.perf_counter() - started

    return time_block


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tensors", type=int, default=200)
    args = parser.parse_args()
    scenarios = load(KIT_ROOT / "assignments" / "03_adam" / "scenarios.py", "scenarios")
    reference = load(KIT_ROOT / "reference" / "03_adam" / "optimizers.py", "reference_optimizers")

    class Impl:
        optimizers = reference

    class Torch:
        optimizers = torch.optim

    ours = scenarios.step_speed(Impl, seed=0, device=args.device, optimizer="Adam",
                                n_tensors=args.tensors)
    theirs_step = scenarios.step_speed(Torch, seed=0, device=args.device, optimizer="Adam",
                                       n_tensors=args.tensors)
    theirs_step.__self__.defaults["foreach"] = True
    for group in theirs_step.__self__.param_groups:
        group["foreach"] = True
    verdict = measure_speed(block_timer(ours, args.device), block_timer(theirs_step, args.device),
                            budget=1.2, policy=SpeedPolicy(min_pairs=20, max_pairs=20, rounds=1))
    print(f"device {args.device}, {args.tensors} tensors: reference / torch.optim.Adam(foreach=True)"
          f" = {verdict.median:.3f}x (95% interval {verdict.low:.3f}x to {verdict.high:.3f}x); "
          f"torch {verdict.reference_seconds * 1e3:.3f} ms per step, reference "
          f"{verdict.student_seconds * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
