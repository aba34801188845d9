#!/usr/bin/env bash
# GPU checks, for a machine with CUDA (about 3-4 minutes after the install):
#   1. the GPU speed checks of every assignment on the reference (must pass, not "not evaluated");
#   2. the speed-verdict benchmark on the GPU check (reference vs itself, and an
#      element-wise loop that must fail);
#   3. the reference Adam step vs torch.optim.Adam(foreach=True) on the GPU.
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
echo "== 1. GPU speed checks on the reference"
$PY -m pytest assignments --solution reference -k "cuda or adam_f32 or sgd_momentum_f64 or distances_f32" -q -p no:cacheprovider
echo "== 2. speed verdicts on the GPU (adam_speed_cuda)"
$PY benchmarks/speed_verdicts.py --check adam_speed_cuda --runs 30 --slow-runs 3
$PY benchmarks/speed_verdicts.py --check sgd_speed_cuda --runs 20 --slow-runs 0
echo "== 3. reference Adam vs torch.optim.Adam(foreach=True) on the GPU"
$PY benchmarks/adam_vs_torch.py --device cuda
