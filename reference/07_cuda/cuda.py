"""Assignment 07_cuda: devices, moving batches, device-agnostic code, a sync-free training loop.

Tasks (see assignments/07_cuda/README.md):

1. ``choose_device``   the best available device, as a ``torch.device``
2. ``to_device``       move a nested batch (dicts, lists, tuples) to a device, pinned and
                       without blocking
3. ``one_hot``, ``padding_mask``, ``standardize``   create new tensors where the input
                       lives (device and dtype), never on the default device
4. ``train_steps``     a training loop that never waits for the device: no ``.item()``,
                       ``.cpu()``, ``float(loss)`` or ``print(loss)`` inside it

Everything here runs on the CPU as well; on a CUDA machine the grader also runs it on
the GPU and times ``train_steps`` against the reference.
"""
import torch


def choose_device(prefer="cuda"):
    """``torch.device("cuda")`` when ``prefer`` is "cuda" and CUDA is available, else
    ``torch.device("cpu")``. Always a ``torch.device``, never a string. Any other
    ``prefer`` raises ``ValueError``."""
    # TODO task 1
    ### BEGIN SOLUTION
    if prefer not in ("cuda", "cpu"):
        raise ValueError(f"prefer must be 'cuda' or 'cpu', got {prefer!r}")
    if prefer == "cuda" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
    ### END SOLUTION


def to_device(batch, device, pin=True):
    """Move every tensor of a nested batch to ``device``; return the same structure.

    * dicts keep their keys, lists stay lists, tuples stay tuples (namedtuples keep
      their type); anything that is not a tensor (ints, strings, None) is kept as is.
    * Each tensor moves with ``tensor.to(device, non_blocking=True)``: the copy is
      queued and the host goes on (for a pinned source, the copy really is async).
    * With ``pin=True``, a CPU tensor headed for another device type is first pinned
      (``tensor.pin_memory()``), which makes the non-blocking copy possible.
    """
    # TODO task 2: recursive, one case per container type.
    ### BEGIN SOLUTION
    device = torch.device(device)
    if isinstance(batch, torch.Tensor):
        if pin and batch.device.type == "cpu" and device.type != "cpu":
            batch = batch.pin_memory()
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {key: to_device(value, device, pin) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_device(value, device, pin) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(value, device, pin) for value in batch)
    return batch
    ### END SOLUTION


def one_hot(labels, num_classes, dtype=torch.float32):
    """[N] integer labels -> [N, num_classes] of ``dtype`` on ``labels.device``:
    1 at each label's position, 0 elsewhere."""
    # TODO task 3a: create the result with device=labels.device.
    ### BEGIN SOLUTION
    out = torch.zeros(labels.shape[0], num_classes, dtype=dtype, device=labels.device)
    out.scatter_(1, labels.long().unsqueeze(1), 1)
    return out
    ### END SOLUTION


def padding_mask(lengths, max_len=None):
    """[B] lengths -> bool [B, max_len] on ``lengths.device``: True at positions
    < length (the real tokens), False at the padding. ``max_len`` defaults to the
    largest length."""
    # TODO task 3b
    ### BEGIN SOLUTION
    if max_len is None:
        max_len = int(lengths.max()) if lengths.numel() else 0
    positions = torch.arange(max_len, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)
    ### END SOLUTION


def standardize(x, mean, std):
    """``(x - mean) / std`` per channel of x [N, C, ...], with ``mean`` and ``std``
    Python sequences of C numbers: turn them into tensors of x's dtype on x's device."""
    # TODO task 3c
    ### BEGIN SOLUTION
    shape = (1, -1) + (1,) * (x.dim() - 2)
    mean_t = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(shape)
    std_t = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(shape)
    return (x - mean_t) / std_t
    ### END SOLUTION


def train_steps(model, optimizer, loss_fn, batches):
    """Train on each ``(inputs, targets)`` of ``batches`` (already on the model's
    device): zero_grad, forward, loss, backward, step.

    Returns the per-step losses as one tensor [len(batches)] on the device,
    detached. Nothing in the loop may wait for the device: no ``.item()``,
    ``float(...)``, ``.cpu()``, ``.tolist()``, ``print(loss)``, or an ``if`` on a
    tensor. Collect the detached losses and stack them once at the end.
    """
    # TODO task 4
    ### BEGIN SOLUTION
    model.train()
    losses = []
    for inputs, targets in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch.stack(losses)
    ### END SOLUTION
