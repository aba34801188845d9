"""Independently written correct solution of 07_cuda (not derived from reference/).

It follows the README's contract and must score full marks on every agreement check.
"""
import torch


def choose_device(prefer="cuda"):
    """``torch.device("cuda")`` when ``prefer`` is "cuda" and CUDA is available, else
    ``torch.device("cpu")``. Always a ``torch.device``, never a string. Any other
    ``prefer`` raises ``ValueError``."""
    if prefer not in ("cuda", "cpu"):
        raise ValueError(f"prefer must be 'cuda' or 'cpu', not {prefer!r}")
    wants_gpu = prefer == "cuda" and torch.cuda.is_available()
    return torch.device(type="cuda" if wants_gpu else "cpu")


def _move_tensor(tensor, target, pin):
    if pin and tensor.device.type == "cpu" and target.type != "cpu":
        tensor = tensor.pin_memory()
    return tensor.to(device=target, non_blocking=True)


def _move(obj, target, pin):
    if isinstance(obj, torch.Tensor):
        return _move_tensor(obj, target, pin)
    if isinstance(obj, dict):
        moved = [(key, _move(value, target, pin)) for key, value in obj.items()]
        try:                      # keep dict subclasses (OrderedDict, ...) when possible
            return type(obj)(moved)
        except TypeError:
            return dict(moved)
    if isinstance(obj, tuple):
        items = [_move(item, target, pin) for item in obj]
        if hasattr(type(obj), "_fields"):          # namedtuple: positional constructor
            return type(obj)(*items)
        return tuple(items)
    if isinstance(obj, list):
        return list(map(lambda item: _move(item, target, pin), obj))
    return obj                     # ints, strings, None, ...: unchanged


def to_device(batch, device, pin=True):
    """Move every tensor of a nested batch to ``device``; return the same structure.

    * dicts keep their keys, lists stay lists, tuples stay tuples (namedtuples keep
      their type); anything that is not a tensor (ints, strings, None) is kept as is.
    * Each tensor moves with ``tensor.to(device, non_blocking=True)``: the copy is
      queued and the host goes on (for a pinned source, the copy really is async).
    * With ``pin=True``, a CPU tensor headed for another device type is first pinned
      (``tensor.pin_memory()``), which makes the non-blocking copy possible.
    """
    return _move(batch, torch.device(device), pin)


def one_hot(labels, num_classes, dtype=torch.float32):
    """[N] integer labels -> [N, num_classes] of ``dtype`` on ``labels.device``:
    1 at each label's position, 0 elsewhere."""
    classes = torch.arange(num_classes, device=labels.device)
    return torch.eq(labels.unsqueeze(-1), classes).to(dtype=dtype)


def padding_mask(lengths, max_len=None):
    """[B] lengths -> bool [B, max_len] on ``lengths.device``: True at positions
    < length (the real tokens), False at the padding. ``max_len`` defaults to the
    largest length."""
    if max_len is None:
        max_len = int(lengths.max()) if lengths.numel() else 0
    positions = torch.arange(max_len, device=lengths.device)
    return torch.gt(lengths.unsqueeze(-1), positions.unsqueeze(0))


def standardize(x, mean, std):
    """``(x - mean) / std`` per channel of x [N, C, ...], with ``mean`` and ``std``
    Python sequences of C numbers: turn them into tensors of x's dtype on x's device."""
    shape = (1, -1) + (1,) * (x.dim() - 2)      # broadcast over channel dim 1
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(shape)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(shape)
    return torch.sub(x, m).div(s)


def train_steps(model, optimizer, loss_fn, batches):
    """Train on each ``(inputs, targets)`` of ``batches`` (already on the model's
    device): zero_grad, forward, loss, backward, step.

    Returns the per-step losses as one tensor [len(batches)] on the device,
    detached. Nothing in the loop may wait for the device: no ``.item()``,
    ``float(...)``, ``.cpu()``, ``.tolist()``, ``print(loss)``, or an ``if`` on a
    tensor. Collect the detached losses and stack them once at the end.
    """
    history = []
    for inputs, targets in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        history.append(loss.detach())
    if not history:
        first = next(iter(model.parameters()), None)
        where = first.device if first is not None else torch.device("cpu")
        return torch.empty(0, device=where)
    return torch.stack(history, dim=0)
