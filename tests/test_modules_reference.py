"""The 06_modules reference equals torch.nn (initialisation, values, gradients, state_dict
keys), so grading students against it grades them against torch."""
import importlib.util
import sys
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

REDUCTIONS = ["mean", "sum", "none"]


@pytest.fixture(scope="module")
def ref(kit_root):
    return _load(kit_root / "reference" / "06_modules" / "modules.py", "_ref_modules")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _leaf(tensor):
    return tensor.detach().clone().requires_grad_()


def _keys(module):
    return list(module.state_dict().keys())


# ---------------------------------------------------------------- Linear

LINEAR_SHAPES = [(20, 7, True), (1, 1, True), (1, 5, False), (300, 40, False), (3, 128, True)]


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("fan_in, fan_out, bias", LINEAR_SHAPES)
def test_linear_initialises_exactly_like_nn_linear(ref, fan_in, fan_out, bias, seed):
    torch.manual_seed(seed)
    mine = ref.Linear(fan_in, fan_out, bias=bias)
    torch.manual_seed(seed)
    theirs = nn.Linear(fan_in, fan_out, bias=bias)
    assert isinstance(mine.weight, nn.Parameter)
    assert mine.weight.shape == (fan_out, fan_in)
    assert torch.equal(mine.weight, theirs.weight)
    if bias:
        assert isinstance(mine.bias, nn.Parameter)
        assert torch.equal(mine.bias, theirs.bias)
    else:
        assert mine.bias is None
    # bias=False registers bias as None (nn.Linear does): it is in _parameters, not a plain attribute
    assert list(mine._parameters) == list(theirs._parameters)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert _keys(mine) == _keys(theirs)
    # the next draw is the same too: both consumed the same amount of the generator
    torch.manual_seed(seed)
    ref.Linear(fan_in, fan_out, bias=bias)
    after_mine = torch.rand(3)
    torch.manual_seed(seed)
    nn.Linear(fan_in, fan_out, bias=bias)
    assert torch.equal(after_mine, torch.rand(3))


@pytest.mark.parametrize("fan_in, fan_out, bias", LINEAR_SHAPES)
def test_linear_forward_and_gradients_equal_f_linear(ref, fan_in, fan_out, bias):
    torch.manual_seed(11)
    layer = ref.Linear(fan_in, fan_out, bias=bias)
    weight = _leaf(layer.weight)
    bias_t = _leaf(layer.bias) if bias else None
    g = torch.Generator().manual_seed(fan_in * 31 + fan_out)
    for batch in [(), (5,), (2, 3)]:
        x = torch.randn(*batch, fan_in, generator=g, requires_grad=True)
        x_t = _leaf(x)
        upstream = torch.randn(*batch, fan_out, generator=g)
        out = layer(x)
        expected = F.linear(x_t, weight, bias_t)
        assert out.shape == expected.shape
        torch.testing.assert_close(out, expected)
        layer.zero_grad()
        for t in (weight, bias_t):
            if t is not None:
                t.grad = None
        out.backward(upstream)
        expected.backward(upstream)
        torch.testing.assert_close(x.grad, x_t.grad)
        torch.testing.assert_close(layer.weight.grad, weight.grad)
        if bias:
            torch.testing.assert_close(layer.bias.grad, bias_t.grad)


def test_linear_loads_nn_linear_state_dict_both_ways(ref):
    torch.manual_seed(2)
    mine, theirs = ref.Linear(6, 4), nn.Linear(6, 4)
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 6)
    torch.testing.assert_close(mine(x), theirs(x))
    torch.manual_seed(3)
    mine = ref.Linear(6, 4, bias=False)
    theirs = nn.Linear(6, 4, bias=False)
    theirs.load_state_dict(mine.state_dict())
    torch.testing.assert_close(mine(x), theirs(x))


# ---------------------------------------------------------------- ReLU, Flatten

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_relu_forward_and_backward_equal_torch_relu_incl_zeros(ref, dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 7, generator=g, dtype=dtype)
    x[0] = 0.0
    x[:, 3] = 0.0
    x[2, 2] = -0.0
    x = x.requires_grad_()
    x_t = _leaf(x)
    upstream = torch.randn(6, 7, generator=g, dtype=dtype)
    out = ref.ReLU()(x)
    expected = torch.relu(x_t)
    assert out.dtype == dtype
    assert torch.equal(out, expected)
    out.backward(upstream)
    expected.backward(upstream)
    assert torch.equal(x.grad, x_t.grad)
    assert torch.equal(x.grad[x.detach() == 0], torch.zeros_like(x.grad[x.detach() == 0]))


FLATTEN_DIMS = [(), (0,), (1,), (2,), (3,), (-1,), (-2,), (0, -1), (1, 2), (2, 3), (0, 0),
                (3, 3), (-3, -2), (1, -2), (0, 2)]


@pytest.mark.parametrize("dims", FLATTEN_DIMS)
def test_flatten_equals_nn_flatten(ref, dims):
    images = torch.randn(2, 3, 4, 5, requires_grad=True)
    images_t = _leaf(images)
    out = ref.Flatten(*dims)(images)
    expected = nn.Flatten(*dims)(images_t)
    assert out.shape == expected.shape
    assert torch.equal(out, expected)
    upstream = torch.randn(expected.shape)
    out.backward(upstream)
    expected.backward(upstream)
    assert torch.equal(images.grad, images_t.grad)


# ---------------------------------------------------------------- Dropout

def test_dropout_eval_mode_is_identity(ref):
    x = torch.randn(100, 10)
    layer = ref.Dropout(0.5)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    layer.eval()
    assert torch.equal(layer(x), x)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_dropout_train_mode_zeroes_share_p_and_scales_the_rest(ref, p):
    torch.manual_seed(5)
    n = 1_000_000
    x = (torch.rand(n) + 0.5).requires_grad_()  # strictly positive: zeros mean dropped
    layer = ref.Dropout(p)
    layer.train()
    out = layer(x)
    dropped = out == 0
    kept = ~dropped
    torch.testing.assert_close(out[kept], x.detach()[kept] / (1 - p))
    share = dropped.double().mean().item()
    assert abs(share - p) < 5 * (p * (1 - p) / n) ** 0.5, share
    out.sum().backward()
    expected_grad = kept.to(x.dtype) / (1 - p)
    torch.testing.assert_close(x.grad, expected_grad)


def test_dropout_p0_is_identity_and_p1_is_zeros_in_train_mode(ref):
    x = torch.randn(1000, 3)
    zero = ref.Dropout(0.0)
    zero.train()
    assert torch.equal(zero(x), x)
    one = ref.Dropout(1.0)
    one.train()
    out = one(x)
    assert out.shape == x.shape
    assert torch.equal(out, torch.zeros_like(x))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("p", [-0.1, 1.5, -1.0, 2.0])
def test_dropout_rejects_p_outside_unit_interval(ref, p):
    with pytest.raises(ValueError):
        ref.Dropout(p)


# ---------------------------------------------------------------- MSELoss

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_equals_f_mse_loss(ref, reduction, dtype):
    g = torch.Generator().manual_seed(4)
    for shape in [(8, 3), (16,), (2, 3, 4)]:
        a = torch.randn(*shape, generator=g, dtype=dtype, requires_grad=True)
        b = torch.randn(*shape, generator=g, dtype=dtype, requires_grad=True)
        a_t, b_t = _leaf(a), _leaf(b)
        out = ref.MSELoss(reduction)(a, b)
        expected = F.mse_loss(a_t, b_t, reduction=reduction)
        assert out.dtype == dtype and out.shape == expected.shape
        torch.testing.assert_close(out, expected)
        upstream = torch.randn(expected.shape, generator=g, dtype=dtype)
        out.backward(upstream)
        expected.backward(upstream)
        torch.testing.assert_close(a.grad, a_t.grad)
        torch.testing.assert_close(b.grad, b_t.grad)


@pytest.mark.parametrize("shapes", [((8, 1), (8,)), ((3,), (4,)), ((2, 3), (3, 2)), ((1,), (5,))])
def test_mse_rejects_mismatched_shapes(ref, shapes):
    with pytest.raises(ValueError):
        ref.MSELoss()(torch.zeros(shapes[0]), torch.zeros(shapes[1]))


# ---------------------------------------------------------------- CrossEntropyLoss

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1.0, 1e3, 1e4])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_equals_f_cross_entropy(ref, reduction, scale, dtype):
    g = torch.Generator().manual_seed(1)
    logits = (scale * torch.randn(10, 5, generator=g, dtype=dtype)).requires_grad_()
    logits_t = _leaf(logits)
    target = torch.randint(0, 5, (10,), generator=g)
    out = ref.CrossEntropyLoss(reduction)(logits, target)
    expected = F.cross_entropy(logits_t, target, reduction=reduction)
    assert out.shape == expected.shape and out.dtype == dtype
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, expected)
    upstream = torch.rand(expected.shape, generator=g, dtype=dtype) + 0.5
    out.backward(upstream)
    expected.backward(upstream)
    assert torch.isfinite(logits.grad).all()
    torch.testing.assert_close(logits.grad, logits_t.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_passes_gradcheck(ref, reduction):
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 2, 1, 2])
    loss = ref.CrossEntropyLoss(reduction)
    assert torch.autograd.gradcheck(lambda z: loss(z, target), (logits,))


# ---------------------------------------------------------------- Sequential

def _pair(ref, seed=0):
    torch.manual_seed(seed)
    mine = ref.Sequential(ref.Linear(4, 8), ref.ReLU(), ref.Linear(8, 6), ref.ReLU(),
                          ref.Linear(6, 3))
    torch.manual_seed(seed)
    theirs = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(),
                           nn.Linear(6, 3))
    return mine, theirs


def test_sequential_keys_and_slices_equal_nn_sequential(ref):
    mine, theirs = _pair(ref)
    assert _keys(mine) == _keys(theirs)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for part in [slice(1, None), slice(0, 2), slice(2, 5), slice(None, None, 2), slice(-3, None)]:
        assert _keys(mine[part]) == _keys(theirs[part]), part
        assert len(mine[part]) == len(theirs[part])
    assert isinstance(mine[1:], ref.Sequential)
    x = torch.randn(5, 8)
    torch.testing.assert_close(mine[2:](x), theirs[2:](x))


def test_sequential_same_seed_gives_same_outputs_and_gradients(ref):
    mine, theirs = _pair(ref)
    x = torch.randn(7, 4)
    out, expected = mine(x), theirs(x)
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    expected.square().sum().backward()
    grads = {n: p.grad for n, p in theirs.named_parameters()}
    for name, p in mine.named_parameters():
        torch.testing.assert_close(p.grad, grads[name], msg=name)


def test_sequential_loads_state_dicts_both_ways_strict(ref):
    mine, theirs = _pair(ref, seed=0)
    _, other = _pair(ref, seed=1)
    x = torch.randn(5, 4)
    mine.load_state_dict(other.state_dict(), strict=True)
    torch.testing.assert_close(mine(x), other(x))
    torch.manual_seed(9)
    fresh_mine, _ = _pair(ref, seed=9)
    theirs.load_state_dict(fresh_mine.state_dict(), strict=True)
    torch.testing.assert_close(theirs(x), fresh_mine(x))


def test_sequential_append_matches_nn_sequential_keys(ref):
    mine, theirs = _pair(ref)
    assert mine.append(ref.Linear(3, 2)) is mine
    theirs.append(nn.Linear(3, 2))
    assert len(mine) == len(theirs) == 6
    assert _keys(mine) == _keys(theirs)
    assert _keys(mine)[-2:] == ["5.weight", "5.bias"]
    mine.append(ref.ReLU())
    theirs.append(nn.ReLU())
    assert _keys(mine) == _keys(theirs)
    theirs.load_state_dict(mine.state_dict())
    x = torch.randn(2, 4)
    torch.testing.assert_close(mine(x), theirs(x))


def test_sequential_from_ordered_dict_uses_the_names(ref):
    torch.manual_seed(0)
    mine = ref.Sequential(OrderedDict([("hidden", ref.Linear(2, 5)), ("act", ref.ReLU()),
                                       ("out", ref.Linear(5, 1))]))
    torch.manual_seed(0)
    theirs = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 5)), ("act", nn.ReLU()),
                                        ("out", nn.Linear(5, 1))]))
    assert _keys(mine) == _keys(theirs) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert _keys(mine[1:]) == _keys(theirs[1:]) == ["out.weight", "out.bias"]
    assert mine.hidden is mine[0]
    x = torch.randn(3, 2)
    torch.testing.assert_close(mine(x), theirs(x))


def test_sequential_len_negative_index_and_iteration(ref):
    layers = [ref.Linear(3, 4), ref.ReLU(), ref.Linear(4, 2)]
    seq = ref.Sequential(*layers)
    assert len(seq) == 3
    assert seq[0] is layers[0] and seq[-1] is layers[2] and seq[-2] is layers[1]
    assert seq[-3] is layers[0]
    assert list(seq) == layers
    assert [m for m in seq] == list(seq.children())
    with pytest.raises(IndexError):
        seq[3]
    assert len(ref.Sequential()) == 0


# ---------------------------------------------------------------- the slides' models

class TorchSimpleNN(nn.Module):
    def __init__(self, input_size=784, hidden_size=500, output_size=10):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class TorchSimpleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def torch_cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def _count(model):
    return sum(p.numel() for p in model.parameters())


MODELS = {
    "SimpleNN": (lambda r: r.SimpleNN(784, 500, 10), TorchSimpleNN, (16, 784)),
    "SimpleNet": (lambda r: r.SimpleNet(), TorchSimpleNet, (16, 784)),
    "slides_cnn": (lambda r: r.slides_cnn(), torch_cnn, (8, 1, 28, 28)),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_slides_model_matches_torch_model_with_its_weights(ref, name):
    build_mine, build_theirs, input_shape = MODELS[name]
    torch.manual_seed(123)
    theirs = build_theirs()
    mine = build_mine(ref)
    assert _keys(mine) == _keys(theirs)
    assert _count(mine) == _count(theirs)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(*input_shape, generator=g)
    target = torch.randint(0, 10, (input_shape[0],), generator=g)
    out, expected = mine(x), theirs(x)
    assert out.shape == expected.shape == (input_shape[0], 10)
    torch.testing.assert_close(out, expected)
    F.cross_entropy(out, target).backward()
    F.cross_entropy(expected, target).backward()
    grads = dict(theirs.named_parameters())
    for pname, p in mine.named_parameters():
        assert p.grad is not None, pname
        torch.testing.assert_close(p.grad, grads[pname].grad, msg=pname)


def test_slides_model_parameter_counts(ref):
    assert _count(ref.SimpleNN(784, 500, 10)) == 397_510
    assert _count(ref.SimpleNet()) == 109_386
    assert _count(ref.slides_cnn()) == 421_642
