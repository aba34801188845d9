"""03_adam forbids torch's own optimizers and their kernels; the kit names the call."""
import shutil

import pytest

from autograder.grading import grade

pytestmark = pytest.mark.slow

BORROWED = '''

import torch.optim.adam as _adam_module


class Adam(torch.optim.Adam):
    """Borrows torch's Adam wholesale."""


class SGD(SGD):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            _adam_module.adam(params, [p.grad for p in params], [torch.zeros_like(p) for p in params],
                              [torch.zeros_like(p) for p in params], [],
                              [torch.tensor(0.0) for p in params], amsgrad=False, beta1=0.9,
                              beta2=0.99, lr=0.0, weight_decay=0.0, eps=1e-8, maximize=False)
        return super().step(closure)
'''


def test_calls_to_torch_optimizers_are_named_and_zeroed(tmp_path, kit_root):
    tree = tmp_path / "borrowed"
    shutil.copytree(kit_root / "reference" / "03_adam", tree / "03_adam")
    path = tree / "03_adam" / "optimizers.py"
    path.write_text(path.read_text() + BORROWED)
    report = grade("03_adam", tree, checks=["adam_f64", "sgd_momentum_f64", "gd_quadratic"])
    by_check = {r.check: r for r in report.results}
    assert by_check["adam_f64"].status == "forbidden"
    assert "torch.optim.Adam" in by_check["adam_f64"].reason
    assert by_check["adam_f64"].points == 0
    assert by_check["sgd_momentum_f64"].status == "forbidden"
    assert "torch.optim.adam.adam" in by_check["sgd_momentum_f64"].reason
    assert by_check["gd_quadratic"].status == "passed"
