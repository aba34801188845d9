"""The 02_autograd reference agrees with torch.autograd in float64, so its outputs are
torch's own gradients (the checks compare students with the reference)."""
import importlib.util
import sys

import pytest
import torch
import torch.nn.functional as F


@pytest.fixture(scope="module")
def ref(kit_root):
    return _load(kit_root / "reference" / "02_autograd" / "autograd.py", "_ref_autograd")


@pytest.fixture(scope="module")
def scenarios(kit_root):
    return _load(kit_root / "assignments" / "02_autograd" / "scenarios.py", "_scen_autograd")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class TorchOps:
    tanh = staticmethod(torch.tanh)
    relu = staticmethod(torch.relu)
    exp = staticmethod(torch.exp)


def test_value_engine_matches_torch_autograd(ref, scenarios):
    for label, (expression, point) in scenarios.EXPRESSIONS.items():
        values = [ref.Value(p) for p in point]
        out = expression(values, scenarios._ValueOps)
        out.backward()
        tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in point]
        expected = expression(tensors, TorchOps)
        expected.backward()
        assert out.data == pytest.approx(expected.item(), rel=1e-12), label
        for v, t in zip(values, tensors):
            assert v.grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-12), label


def test_the_slides_example_has_gradients_4_and_6(ref):
    x, y = ref.Value(2.0), ref.Value(3.0)
    (x ** 2 + y ** 2).backward()
    assert (x.grad, y.grad) == (4.0, 6.0)


def test_backward_twice_doubles_leaf_grads_like_torch(ref, scenarios):
    expression, point = scenarios.EXPRESSIONS["a node reused several times"]
    values = [ref.Value(p) for p in point]
    out = expression(values, scenarios._ValueOps)
    out.backward()
    out.backward()
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in point]
    expected = expression(tensors, TorchOps)
    expected.backward(retain_graph=True)
    expected.backward()
    for v, t in zip(values, tensors):
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-12)


@pytest.mark.parametrize("name, torch_fn, inputs", [
    ("LinearFunction", F.linear, lambda g: [torch.randn(5, 3, generator=g, dtype=torch.float64),
                                             torch.randn(4, 3, generator=g, dtype=torch.float64),
                                             torch.randn(4, generator=g, dtype=torch.float64)]),
    ("ReLUFunction", torch.relu, lambda g: [torch.randn(6, 4, generator=g, dtype=torch.float64)]),
    ("SigmoidFunction", torch.sigmoid,
     lambda g: [torch.randn(6, 4, generator=g, dtype=torch.float64)]),
    ("MSELossFunction", F.mse_loss, lambda g: [torch.randn(5, 2, generator=g, dtype=torch.float64),
                                                torch.randn(5, 2, generator=g, dtype=torch.float64)]),
    ("SoftmaxCrossEntropyFunction", F.cross_entropy,
     lambda g: [300 * torch.randn(6, 4, generator=g, dtype=torch.float64),
                torch.randint(0, 4, (6,), generator=g)]),
])
def test_manual_backward_matches_torch(ref, name, torch_fn, inputs):
    g = torch.Generator().manual_seed(0)
    made = inputs(g)
    ours = [t.clone().requires_grad_(t.is_floating_point()) for t in made]
    theirs = [t.clone().requires_grad_(t.is_floating_point()) for t in made]
    out, expected = getattr(ref, name).apply(*ours), torch_fn(*theirs)
    upstream = torch.randn(out.shape, generator=g, dtype=torch.float64) + 0.5
    out.backward(upstream)
    expected.backward(upstream)
    torch.testing.assert_close(out, expected)
    for a, b in zip(ours, theirs):
        if a.requires_grad:
            torch.testing.assert_close(a.grad, b.grad)


def test_gradient_descent_matches_torch_sgd(ref):
    x0 = torch.tensor([3.0, -2.0], dtype=torch.float64)
    iterates, losses = ref.gradient_descent(lambda x: (x ** 2).sum() + x[0] * x[1], x0, 0.1, 5)
    x = x0.clone().requires_grad_()
    opt = torch.optim.SGD([x], lr=0.1)
    for step in range(5):
        opt.zero_grad()
        loss = (x ** 2).sum() + x[0] * x[1]
        assert losses[step].item() == pytest.approx(loss.item())
        loss.backward()
        opt.step()
        torch.testing.assert_close(iterates[step + 1], x.detach())
