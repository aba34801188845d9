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
    raise NotImplementedError("Task 1: choose_device is not implemented yet")


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
    raise NotImplementedError("Task 2: to_device is not implemented yet")


def one_hot(labels, num_classes, dtype=torch.float32):
    """[N] integer labels -> [N, num_classes] of ``dtype`` on ``labels.device``:
    1 at each label's position, 0 elsewhere."""
    # TODO task 3a: create the result with device=labels.device.
    raise NotImplementedError("Task 3: one_hot is not implemented yet")


def padding_mask(lengths, max_len=None):
    """[B] lengths -> bool [B, max_len] on ``lengths.device``: True at positions
    < length (the real tokens), False at the padding. ``max_len`` defaults to the
    largest length."""
    # TODO task 3b
    raise NotImplementedError("Task 3: padding_mask is not implemented yet")


def standardize(x, mean, std):
    """``(x - mean) / std`` per channel of x [N, C, ...], with ``mean`` and ``std``
    Python sequences of C numbers: turn them into tensors of x's dtype on x's device."""
    # TODO task 3c
    raise NotImplementedError("Task 3: standardize is not implemented yet")


def train_steps(model, optimizer, loss_fn, batches):
    """Train on each ``(inputs, targets)`` of ``batches`` (already on the model's
    device): zero_grad, forward, loss, backward, step.

    Returns the per-step losses as one tensor [len(batches)] on the device,
    detached. Nothing in the loop may wait for the device: no ``.item()``,
    ``float(...)``, ``.cpu()``, ``.tolist()``, ``print(loss)``, or an ``if`` on a
    tensor. Collect the detached losses and stack them once at the end.
    """
    # TODO task 4
    raise NotImplementedError("Task 4: train_steps is not implemented yet")
