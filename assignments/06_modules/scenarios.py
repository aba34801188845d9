"""Trusted scenarios of 06_modules. Each takes an implementation and returns plain data.

``impl.modules`` is the solution's module. Models are compared through their
state_dicts: a trusted torch model built under a fixed seed provides the weights,
which are loaded into the solution's model (strictly), so outputs and gradients
can be compared for the same parameters. Inputs are scikit-learn's digits,
upsampled to 28 x 28 like MNIST.
"""
import torch
import torch.nn.functional as F
from torch import nn

from autograder.sample_data import digits
from autograder.worker import StudentLoadError


def _outcome(call):
    try:
        return call()
    except (NotImplementedError, StudentLoadError):
        raise
    except Exception as error:  # the contract names which exception
        return f"raises {type(error).__name__}"


def _mnist_like(count, seed):
    """``count`` real digits as float32 [count, 1, 28, 28] in [0, 1], and their labels."""
    images, labels = digits()
    g = torch.Generator().manual_seed(1100 + seed)
    index = torch.randperm(len(labels), generator=g)[:count]
    x = torch.from_numpy(images[index.numpy()]).to(torch.float32).div(255).unsqueeze(1)
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    return x, torch.from_numpy(labels[index.numpy()])


def _parameters_report(module):
    """Names, shapes and types of what a module registered."""
    return {"named_parameters": [[name, list(p.shape), type(p).__name__, p.requires_grad]
                                 for name, p in module.named_parameters()],
            "state_dict keys": list(module.state_dict().keys())}


def _grads(module):
    return {name: (None if p.grad is None else p.grad.detach().clone())
            for name, p in module.named_parameters()}


def linear_layer(impl, *, seed, device):
    """Linear: initial values under a seed (as nn.Linear's), registration, forward and grads."""
    result = {}
    for label, (fan_in, fan_out, bias) in {"Linear(20, 7)": (20, 7, True),
                                           "Linear(300, 40, bias=False)": (300, 40, False),
                                           "Linear(1, 1)": (1, 1, True),
                                           # nn.Linear(0, n) works: k = 0, the bias is zeros
                                           "Linear(0, 3)": (0, 3, True)}.items():
        torch.manual_seed(1200 + seed)
        layer = impl.modules.Linear(fan_in, fan_out, bias=bias)
        weight = getattr(layer, "weight", None)
        entry = {"registered": _parameters_report(layer),
                 "weight": weight.detach().clone() if isinstance(weight, torch.Tensor) else None,
                 "bias": (layer.bias.detach().clone() if isinstance(getattr(layer, "bias", None),
                                                                torch.Tensor) else
                          repr(getattr(layer, "bias", "missing")))}
        g = torch.Generator().manual_seed(1300 + seed)
        x = torch.randn(6, fan_in, generator=g, requires_grad=True)
        upstream = torch.randn(6, fan_out, generator=g)
        y = layer(x)
        (y * upstream).sum().backward()
        entry.update(output=y.detach(), input_grad=x.grad, parameter_grads=_grads(layer))
        entry["batched input [2, 3, in]"] = _outcome(
            lambda: layer(torch.randn(2, 3, fan_in, generator=g)).detach())
        result[label] = entry
    return result


def activations(impl, *, seed, device):
    """ReLU forward and backward (exact zeros included) and Flatten with several dims."""
    g = torch.Generator().manual_seed(1400 + seed)
    x = torch.randn(4, 6, generator=g)
    x[0, :3] = 0.0
    x.requires_grad_()
    y = impl.modules.ReLU()(x)
    y.backward(torch.randn(4, 6, generator=g))
    images = torch.randn(2, 3, 4, 5, generator=g)
    F_ = impl.modules.Flatten
    return {
        "relu output": y.detach(), "relu input grad": x.grad,
        "Flatten()": _outcome(lambda: F_()(images)),
        "Flatten(0)": _outcome(lambda: F_(0)(images)),
        "Flatten(1, 2)": _outcome(lambda: F_(1, 2)(images)),
        "Flatten(-2)": _outcome(lambda: F_(-2)(images)),
        "Flatten() of [5, 7]": _outcome(lambda: F_()(torch.randn(5, 7, generator=g))),
    }


def dropout(impl, *, seed, device, p=0.3, n=200_000):
    """Dropout's properties: train mode zeroes about p and rescales the rest; eval is identity."""
    D = impl.modules.Dropout
    x = torch.rand(n) + 0.5
    torch.manual_seed(1500 + seed)
    layer = D(p)
    train_out = layer(x)
    kept = train_out != 0
    dropped_share = 1.0 - kept.double().mean().item()
    sigma = (p * (1 - p) / n) ** 0.5
    second = layer(x)
    layer.eval()
    eval_out = layer(x)
    full = D(1.0)
    return {
        "is an nn.Module": isinstance(layer, nn.Module),
        "train: dropped share within 5 sigma of p": abs(dropped_share - p) <= 5 * sigma,
        "train: kept values are x / (1 - p)": bool(torch.allclose(train_out[kept],
                                                                 x[kept] / (1 - p))),
        "train: two calls drop different elements": not torch.equal(train_out, second),
        "eval: output equals input": bool(torch.equal(eval_out, x)),
        "p = 0 in train mode: output equals input": bool(torch.equal(D(0.0)(x), x)),
        "p = 1 in train mode: all zeros": bool((full(x) == 0).all()),
        "p = 1.5": _outcome(lambda: D(1.5) and "accepted"),
        "p = -0.1": _outcome(lambda: D(-0.1) and "accepted"),
    }


def mse(impl, *, seed, device, dtype="float32"):
    """MSELoss for each reduction: values, gradients, and a shape mismatch."""
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    g = torch.Generator().manual_seed(1600 + seed)
    result = {}
    for reduction in ("mean", "sum", "none"):
        pred = torch.randn(8, 3, generator=g, dtype=dt).requires_grad_()
        target = torch.randn(8, 3, generator=g, dtype=dt)
        loss = impl.modules.MSELoss(reduction=reduction)(pred, target)
        upstream = torch.randn(loss.shape, generator=g, dtype=dt)
        (loss * upstream).sum().backward()
        result[reduction] = {"loss": loss.detach(), "prediction grad": pred.grad}
    result["[8, 1] against [8]"] = _outcome(lambda: impl.modules.MSELoss()(
        torch.zeros(8, 1), torch.zeros(8)).detach() and "accepted")
    result["reduction='avg'"] = _outcome(lambda: impl.modules.MSELoss("avg") and "accepted")
    # float64 in, float64 out: the losses and gradients keep the inputs' dtype
    wide = torch.Generator().manual_seed(1650 + seed)
    for reduction in ("mean", "sum", "none"):
        pred = torch.randn(8, 3, generator=wide, dtype=torch.float64).requires_grad_()
        target = torch.randn(8, 3, generator=wide, dtype=torch.float64)
        loss = impl.modules.MSELoss(reduction=reduction)(pred, target)
        upstream = torch.randn(loss.shape, generator=wide, dtype=torch.float64)
        (loss * upstream).sum().backward()
        result[f"float64, {reduction}"] = {"loss": loss.detach(), "prediction grad": pred.grad}
    return result


def cross_entropy(impl, *, seed, device):
    """CrossEntropyLoss for each reduction, ordinary, x1000 and x10000 logits: losses and
    logit grads."""
    g = torch.Generator().manual_seed(1700 + seed)
    result = {}
    for scale in (1.0, 1000.0, 10000.0):
        for reduction in ("mean", "sum", "none"):
            logits = (scale * torch.randn(10, 5, generator=g)).requires_grad_()
            target = torch.randint(0, 5, (10,), generator=g)
            loss = impl.modules.CrossEntropyLoss(reduction=reduction)(logits, target)
            upstream = torch.rand(loss.shape, generator=g) + 0.5
            (loss * upstream).sum().backward()
            result[f"logits x{scale:g}, {reduction}"] = {"loss": loss.detach(),
                                                        "logits grad": logits.grad}
    return result


def _trusted_mlp(seed):
    torch.manual_seed(1800 + seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def sequential(impl, *, seed, device):
    """Sequential: children, indexing, slicing, len, iteration, append, and state_dicts that
    load into and from nn.Sequential."""
    M = impl.modules
    torch.manual_seed(1900 + seed)
    seq = M.Sequential(M.Linear(4, 8), M.ReLU(), M.Linear(8, 3))
    trusted = _trusted_mlp(seed)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(2000 + seed))
    result = {
        "len": _outcome(lambda: len(seq)),
        "types by iteration": _outcome(lambda: [type(m).__name__ for m in seq]),
        "seq[0], seq[-1]": _outcome(lambda: [type(seq[0]).__name__, type(seq[-1]).__name__]),
        "seq[1:] keys": _outcome(lambda: list(seq[1:].state_dict().keys())),
        "seq[1:] len": _outcome(lambda: len(seq[1:])),
        "registered": _parameters_report(seq),
    }
    result["load nn.Sequential's state_dict, then forward"] = _outcome(
        lambda: (seq.load_state_dict(trusted.state_dict()), seq(x).detach())[1])
    fresh = _trusted_mlp(seed + 1)
    result["nn.Sequential loads ours, then forward"] = _outcome(
        lambda: (fresh.load_state_dict(seq.state_dict()), fresh(x).detach())[1])
    result["append"] = _outcome(lambda: (seq.append(M.ReLU()), len(seq),
                                         list(seq.state_dict().keys()))[1:])
    from collections import OrderedDict
    named = M.Sequential(OrderedDict(hidden=M.Linear(2, 2), act=M.ReLU()))
    result["from an OrderedDict"] = _outcome(lambda: list(named.state_dict().keys()))
    result["from an OrderedDict: children"] = _outcome(
        lambda: [[name, type(m).__name__] for name, m in named.named_children()])
    result["from one module"] = _outcome(
        lambda: list(M.Sequential(M.Linear(2, 2)).state_dict().keys()))
    result["forward hooks of the children, by name"] = _hooks_ran(
        M.Sequential(M.Linear(4, 8), M.ReLU(), M.Linear(8, 3)), x, every=True)
    return result


def _hooks_ran(net, x, every=False):
    """How many times each child's forward hooks ran during one ``net(x)``: calling
    ``child.forward(x)`` instead of ``child(x)`` skips them. Only children whose names the
    contract fixes count: those that own parameters (their names are state_dict keys), or
    every direct child of a Sequential when ``every``."""
    calls = {}
    children = (list(net.named_children()) if every else
                [(name, m) for name, m in net.named_modules()
                 if name and next(m.parameters(recurse=False), None) is not None])
    for name, module in children:
        calls[name] = 0
        module.register_forward_hook(lambda m, i, o, name=name: calls.__setitem__(
            name, calls[name] + 1))
    output = _outcome(lambda: net(x))
    return {"calls": calls, "output shape": (list(output.shape) if isinstance(
        output, torch.Tensor) else output)}


def _trusted_model(name, seed):
    torch.manual_seed(2100 + seed)
    if name == "SimpleNN":
        return nn.ModuleDict({"fc1": nn.Linear(784, 500), "fc2": nn.Linear(500, 10)})
    if name == "SimpleNet":
        return nn.ModuleDict({"fc1": nn.Linear(784, 128), "fc2": nn.Linear(128, 64),
                              "fc3": nn.Linear(64, 10)})
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def slides_model(impl, *, seed, device, model="SimpleNN"):
    """One of the slides' models, built from the solution's parts, with a trusted state_dict
    loaded (strict): keys, logits, loss and every parameter's gradient on 32 real digits."""
    build = {"SimpleNN": lambda: impl.modules.SimpleNN(784, 500, 10),
             "SimpleNet": lambda: impl.modules.SimpleNet(),
             "slides_cnn": lambda: impl.modules.slides_cnn()}[model]
    net = build()
    state = _trusted_model(model, seed).state_dict()
    keys = list(net.state_dict().keys())
    loaded = _outcome(lambda: net.load_state_dict(state) and "loaded")
    if loaded != "loaded":
        return {"state_dict keys": keys, "load_state_dict": loaded}
    images, labels = _mnist_like(32, seed)
    x = images if model == "slides_cnn" else images.flatten(1)
    logits = net(x)
    loss = F.cross_entropy(logits, labels)  # trusted loss: this check is about the model
    loss.backward()
    hooks = _hooks_ran(net, x[:2].detach())
    return {"state_dict keys": keys, "load_state_dict": loaded, "logits": logits.detach(),
            "loss": loss.detach(), "gradients": _grads(net),
            "forward hooks of the layers with parameters": hooks}
