"""The reference of 06_modules equals torch.nn, since students are graded against it."""
import importlib.util
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.conftest import KIT_ROOT

_spec = importlib.util.spec_from_file_location("reference_06_modules",
                                               KIT_ROOT / "reference" / "06_modules" / "modules.py")
M = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(M)


@pytest.mark.parametrize("fan_in, fan_out, bias", [(20, 7, True), (1, 1, True), (300, 40, False)])
def test_linear_equals_nn_linear(fan_in, fan_out, bias):
    torch.manual_seed(3)
    mine = M.Linear(fan_in, fan_out, bias=bias)
    torch.manual_seed(3)
    theirs = nn.Linear(fan_in, fan_out, bias=bias)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for p, q in zip(mine.parameters(), theirs.parameters()):
        assert isinstance(p, nn.Parameter) and torch.equal(p, q)
    assert (mine.bias is None) == (not bias)
    x = torch.randn(2, 3, fan_in, requires_grad=True)
    y = x.detach().clone().requires_grad_()
    torch.testing.assert_close(mine(x), theirs(y))
    mine(x).sum().backward()
    theirs(y).sum().backward()
    torch.testing.assert_close(x.grad, y.grad)
    for p, q in zip(mine.parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_relu_and_flatten_equal_torch():
    x = torch.tensor([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]], requires_grad=True)
    y = x.detach().clone().requires_grad_()
    M.ReLU()(x).sum().backward()
    torch.relu(y).sum().backward()
    assert torch.equal(x.grad, y.grad)
    images = torch.randn(2, 3, 4, 5)
    for dims in [(), (0,), (1, 2), (-2,), (0, -1)]:
        assert torch.equal(M.Flatten(*dims)(images), nn.Flatten(*dims)(images))


def test_dropout_train_and_eval():
    x = torch.rand(1_000_000) + 0.5
    layer = M.Dropout(0.3)
    out = layer(x)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / 0.7)
    assert abs((~kept).double().mean().item() - 0.3) < 5 * (0.3 * 0.7 / 1e6) ** 0.5
    layer.eval()
    assert torch.equal(layer(x), x)
    with pytest.raises(ValueError):
        M.Dropout(1.5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("scale", [1.0, 1e3, 1e4])
def test_cross_entropy_equals_torch(reduction, scale):
    g = torch.Generator().manual_seed(1)
    logits = (scale * torch.randn(10, 5, generator=g)).requires_grad_()
    target = torch.randint(0, 5, (10,), generator=g)
    mine = M.CrossEntropyLoss(reduction)(logits, target)
    (mine.sum()).backward()
    grad, logits.grad = logits.grad.clone(), None
    theirs = F.cross_entropy(logits, target, reduction=reduction)
    theirs.sum().backward()
    assert torch.isfinite(mine).all()
    torch.testing.assert_close(mine, theirs)
    torch.testing.assert_close(grad, logits.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_equals_torch(reduction):
    a, b = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)
    torch.testing.assert_close(M.MSELoss(reduction)(a, b), F.mse_loss(a, b, reduction=reduction))
    with pytest.raises(ValueError):
        M.MSELoss()(torch.zeros(8, 1), torch.zeros(8))


def test_cross_entropy_passes_gradcheck():
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 2, 1, 2])
    assert torch.autograd.gradcheck(lambda z: M.CrossEntropyLoss()(z, target), (logits,))


def test_sequential_state_dicts_match_nn_sequential():
    torch.manual_seed(0)
    mine = M.Sequential(M.Linear(4, 8), M.ReLU(), M.Linear(8, 3))
    torch.manual_seed(0)
    theirs = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert list(mine[1:].state_dict()) == list(theirs[1:].state_dict())
    assert len(mine) == 3 and isinstance(mine[-1], M.Linear)
    x = torch.randn(5, 4)
    torch.testing.assert_close(mine(x), theirs(x))
    theirs.load_state_dict(mine.state_dict())
    mine.load_state_dict(theirs.state_dict())
    named = M.Sequential(OrderedDict(hidden=M.Linear(2, 2), act=M.ReLU()))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias"]
    mine.append(M.ReLU())
    theirs.append(nn.ReLU())
    assert len(mine) == len(theirs) == 4


def test_slides_models_match_torch_for_the_same_weights():
    simple = M.SimpleNN(784, 500, 10)
    assert sum(p.numel() for p in simple.parameters()) == 397_510
    torch.manual_seed(1)
    cnn = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    mine = M.slides_cnn()
    mine.load_state_dict(cnn.state_dict())
    x = torch.randn(4, 1, 28, 28)
    torch.testing.assert_close(mine(x), cnn(x))
