#!/usr/bin/env bash
# GPU checks, for a machine with CUDA (about 3-4 minutes after the install):
#   1. the GPU speed checks of every assignment on the reference (must pass, not "not evaluated");
#   2. the speed-verdict benchmark on the GPU check (reference vs itself, and an
#      element-wise loop that must fail);
#   3. the reference Adam step vs torch.optim.Adam(foreach=True) on the GPU;
#   4. 07_cuda's training loop with an .item() per step must fail its GPU speed check;
#   5. the sandbox on a CUDA machine: the reference's GPU checks pass with the student's
#      worker confined (step 1 runs sandboxed), and the header names the layers.
# Usage: bash benchmarks/gpu_check.sh   (from the repository root; installs into .venv-gpu)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv-gpu/bin/python ]; then
    "$PYTHON" -m venv .venv-gpu
    .venv-gpu/bin/pip install --quiet -e .
fi
PY=.venv-gpu/bin/python
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name(0))"
echo "== 1. GPU speed checks on the reference (the student's worker sandboxed)"
$PY -m pytest assignments --solution reference -k "cuda or adam_f32 or sgd_momentum_f64 or distances_f32 or batch_augment or train_steps" -q -p no:cacheprovider
echo "== 2. speed verdicts on the GPU (adam_speed_cuda)"
$PY benchmarks/speed_verdicts.py --check adam_speed_cuda --runs 30 --slow-runs 3
$PY benchmarks/speed_verdicts.py --check sgd_speed_cuda --runs 20 --slow-runs 0
echo "== 3. reference Adam vs torch.optim.Adam(foreach=True) on the GPU"
$PY benchmarks/adam_vs_torch.py --device cuda
echo "== 4. a host sync per step fails 07_cuda's GPU speed check"
$PY - <<'PYTHON'
import tempfile
from autograder.grading import grade
from autograder.manifest import load_manifest
from autograder.selfcheck import build_mistake_tree
assignment = load_manifest().assignment("07_cuda")
mistake = next(m for m in assignment.mistakes if m.id == "item_in_loop")
with tempfile.TemporaryDirectory() as scratch:
    tree = build_mistake_tree(assignment, mistake, scratch)
    for run in range(3):
        result = grade("07_cuda", tree, checks=["train_steps", "train_steps_speed_cuda"]).results[-1]
        print(f"run {run}: {result.status}: {result.reason}")
PYTHON
echo "== 5. the sandbox with CUDA: the GPU agreement checks, sandboxed and not"
for sandbox in 1 0; do
    AUTOGRADER_SANDBOX=$([ "$sandbox" = 1 ] && echo on || echo 0) $PY -m pytest assignments --solution reference \
        -k "cuda and not speed" -q -p no:cacheprovider 2>&1 | grep -E "confined by|warning|TOTAL|passed|failed"
done
