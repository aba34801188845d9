"""Trusted scenarios of 07_cuda. Each takes an implementation and returns plain data.

``impl.cuda`` is the solution's module. Every agreement scenario runs on the CPU
everywhere, and again on CUDA where a GPU exists (the same scenario with
``device="cuda"``). Two tricks make device mistakes visible without a GPU:

* device-agnostic functions also run on tensors on the ``meta`` device (shapes and
  dtypes, no data): a tensor created on the default device instead of the input's
  shows up as a wrong device or an error;
* ``to_device`` runs on tensors of a recording subclass that logs each
  ``pin_memory`` and ``to`` call with its arguments (pinning is simulated, so it
  works without CUDA).

Host-device synchronisations in ``train_steps`` are counted with torch.profiler:
``aten::_local_scalar_dense`` (what ``.item()``, ``float()``, ``int()`` and ``bool()``
of a tensor run) everywhere, and CUDA synchronisations and device-to-host copies on
a GPU.
"""
import collections

import torch
from torch import nn

from autograder.sample_data import digits
from autograder.worker import StudentLoadError

Pair = collections.namedtuple("Pair", "image label")


def _outcome(call):
    try:
        return call()
    except (NotImplementedError, StudentLoadError):
        raise
    except Exception as error:  # the contract names which exception
        return f"raises {type(error).__name__}"


def choosing(impl, *, seed, device):
    """choose_device with CUDA reported available and unavailable, and a bad argument."""
    real = torch.cuda.is_available
    result = {}
    try:
        for available in (True, False):
            torch.cuda.is_available = lambda a=available: a
            for prefer in ("cuda", "cpu"):
                chosen = _outcome(lambda p=prefer: impl.cuda.choose_device(p))
                result[f"prefer {prefer}, CUDA {'available' if available else 'absent'}"] = (
                    {"type": type(chosen).__name__, "device": str(chosen)})
        result["default argument, CUDA absent"] = str(_outcome(impl.cuda.choose_device))
    finally:
        torch.cuda.is_available = real
    result["prefer 'tpu'"] = _outcome(lambda: impl.cuda.choose_device("tpu") and "accepted")
    return result


class _Recorded(torch.Tensor):
    """A tensor that logs ``pin_memory`` and ``to`` calls (pinning is simulated)."""

    log = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        if name == "pin_memory":
            cls.log.append("pin_memory")
            return args[0]
        if name == "to":
            cls.log.append(_to_call(args[1:], kwargs))
        return super().__torch_function__(func, types, args, kwargs)


def _to_call(args, kwargs):
    """A ``Tensor.to`` call as its meaning, whatever the spelling: ``x.to("meta", True)``,
    ``x.to(device="meta", non_blocking=True)`` and ``x.to(torch.device("meta"),
    non_blocking=True)`` all read ``to(device=meta, non_blocking=True)``."""
    meaning, flags = {}, ["non_blocking", "copy"]
    for arg in args:
        if isinstance(arg, torch.dtype):
            meaning["dtype"] = arg
        elif isinstance(arg, (str, torch.device, int)) and not isinstance(arg, bool):
            meaning["device"] = torch.device(arg)
        elif isinstance(arg, torch.Tensor):
            meaning["device"], meaning["dtype"] = arg.device, arg.dtype
        elif isinstance(arg, bool) and flags:
            meaning[flags.pop(0)] = arg
    for key, value in kwargs.items():
        meaning[key] = torch.device(value) if key == "device" and value is not None else value
    meaning.setdefault("non_blocking", False)
    if meaning.get("copy") is False:
        del meaning["copy"]
    return "to(" + ", ".join(f"{key}={meaning[key]}" for key in sorted(meaning)) + ")"


def _describe(value):
    """A moved batch as data: structure, and each tensor's device, dtype and values."""
    if isinstance(value, str) and value.startswith("raises "):
        return value   # what _outcome recorded: the solution raised instead of returning
    if isinstance(value, torch.Tensor):
        plain = value.as_subclass(torch.Tensor)
        return {"device": plain.device.type, "dtype": str(plain.dtype),
                "values": plain.detach().cpu() if plain.device.type != "meta" else None}
    if isinstance(value, dict):
        return {"dict": {k: _describe(v) for k, v in value.items()}}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {type(value).__name__: [_describe(v) for v in value]}
    if isinstance(value, (list, tuple)):
        return {type(value).__name__: [_describe(v) for v in value]}
    return {type(value).__name__: value}


def moving(impl, *, seed, device):
    """to_device on a nested batch: where each tensor went, how (pinned, non_blocking),
    and that the structure and the non-tensors survived."""
    g = torch.Generator().manual_seed(2200 + seed)

    def batch():
        return {"images": torch.rand(2, 3, generator=g).as_subclass(_Recorded),
                "meta": [Pair(torch.arange(3).as_subclass(_Recorded), 7), "name", None],
                "pair": (torch.ones(2, dtype=torch.float64).as_subclass(_Recorded), 1.5)}

    result = {}
    target = "meta" if device == "cpu" else device  # meta: another device, no GPU needed
    for label, dest, pin in ((f"to {target}, pin", target, True),
                             (f"to {target}, no pin", target, False),
                             ("to cpu (already there)", "cpu", True)):
        _Recorded.log = []
        moved = _outcome(lambda d=dest, p=pin: impl.cuda.to_device(batch(), d, pin=p))
        result[label] = {"batch": _describe(moved), "calls": list(_Recorded.log)}
    return result


def _meta_or_device(x, device):
    return x.to("meta") if device == "meta" else x.to(device)


def _report(value):
    if not isinstance(value, torch.Tensor):
        return value
    if value.device.type == "meta":
        return {"device": "meta", "shape": list(value.shape), "dtype": str(value.dtype)}
    return value.detach().cpu()


def agnostic(impl, *, seed, device):
    """one_hot, padding_mask and standardize on ``device`` and on the meta device, in
    float32 and float64: results, and where the new tensors were created."""
    g = torch.Generator().manual_seed(2300 + seed)
    labels = torch.randint(0, 5, (7,), generator=g)
    lengths = torch.tensor([3, 0, 5, 1])
    x = torch.randn(4, 3, 2, 2, generator=g)
    result = {}
    for where in (device, "meta"):
        for dtype in (torch.float32, torch.float64):
            tag = f"on {where}, {str(dtype).replace('torch.', '')}"
            xs = _meta_or_device(x.to(dtype), where)
            result[f"standardize {tag}"] = _outcome(lambda xs=xs: _report(
                impl.cuda.standardize(xs, [0.1, -0.2, 0.3], [0.5, 2.0, 1.5])))
            result[f"one_hot {tag}"] = _outcome(lambda dt=dtype: _report(
                impl.cuda.one_hot(_meta_or_device(labels, where), 5, dtype=dt)))
        result[f"padding_mask on {where}, max_len 6"] = _outcome(lambda: _report(
            impl.cuda.padding_mask(_meta_or_device(lengths, where), 6)))
    # with no sequences at all, the default max_len is 0
    result["padding_mask of no sequences, default max_len"] = _outcome(lambda: _report(
        impl.cuda.padding_mask(torch.zeros(0, dtype=torch.int64, device=device))))
    result[f"padding_mask on {device}, default max_len"] = _outcome(
        lambda: _report(impl.cuda.padding_mask(lengths.to(device))))
    return result


def _digit_batches(device, seed, count=12, size=32):
    images, labels = digits()
    g = torch.Generator().manual_seed(2400 + seed)
    order = torch.randperm(len(labels), generator=g)[:count * size]
    x = torch.from_numpy(images[order.numpy()]).to(torch.float32).div(255).flatten(1)
    y = torch.from_numpy(labels[order.numpy()])
    return [(x[i:i + size].to(device), y[i:i + size].to(device))
            for i in range(0, count * size, size)]


def _model(device, seed):
    torch.manual_seed(2500 + seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)


SYNC_EVENTS = ("aten::_local_scalar_dense", "cudaStreamSynchronize", "cudaDeviceSynchronize",
               "cudaEventSynchronize")


def _count_syncs(profile):
    count = 0
    for event in profile.events():
        name = event.name
        if name in SYNC_EVENTS or ("Memcpy" in name and "DtoH" in name):
            count += 1
    return count


def training(impl, *, seed, device, count_syncs=False):
    """train_steps on 12 batches of real digits: the losses and the trained weights; with
    ``count_syncs``, only how many times the loop waited for the device (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile
    batches = _digit_batches(device, seed)
    model = _model(device, seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=activities) as prof:
        losses = impl.cuda.train_steps(model, optimizer, nn.functional.cross_entropy, batches)
    if count_syncs:
        return {"host syncs in the loop": _count_syncs(prof)}
    return {"losses": losses.detach().cpu() if isinstance(losses, torch.Tensor) else losses,
            "losses on the device": isinstance(losses, torch.Tensor)
            and losses.device.type == torch.device(device).type,
            "losses detached": isinstance(losses, torch.Tensor) and not losses.requires_grad,
            "weights after training": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def training_speed(impl, *, seed, device, steps=50):
    """A timed callable: train_steps over ``steps`` small batches on ``device``."""
    batches = (_digit_batches(device, seed, count=12) * 5)[:steps]
    model = _model(device, seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.functional.cross_entropy
    return lambda: impl.cuda.train_steps(model, optimizer, loss_fn, batches)
