"""Independently written correct solution of 08_training (not derived from reference/).

It follows the README's contract and must score full marks on every agreement check.
"""
import random

import numpy as np
import torch


def set_seed(seed):
    """Seed Python's ``random``, numpy's global generator and torch (CPU and all GPUs)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)   # a no-op without CUDA


def _batch_size(targets):
    return targets.shape[0] if isinstance(targets, torch.Tensor) else len(targets)


def train_one_epoch(model, loader, loss_fn, optimizer):
    """One pass over ``loader``, training: returns the mean loss per sample (a float).

    Put the model in training mode first (Dropout and BatchNorm behave differently
    in training). For each ``(inputs, targets)`` batch: zero the gradients, compute
    the loss, backpropagate, step. The mean is over samples: weight each batch's
    loss by its size (the last batch may be smaller).
    """
    model.train(mode=True)
    weighted = []     # detached per-batch sums of losses (no host sync per batch)
    seen = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        n = _batch_size(targets)
        weighted.append(loss.detach().to(torch.float64) * n)
        seen += n
    if seen == 0:
        return float("nan")
    return torch.stack(weighted).sum().item() / seen


def evaluate(model, loader, loss_fn):
    """Mean loss per sample and accuracy (a share in [0, 1]) over ``loader``, as floats.

    Put the model in evaluation mode and compute without autograd
    (``torch.no_grad()``): nothing here may change the model or build a graph.
    """
    model.train(False)
    loss_sum, hits, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            logits = model(inputs)
            n = _batch_size(targets)
            loss_sum += float(loss_fn(logits, targets)) * n
            hits += int(torch.sum(torch.argmax(logits, dim=-1) == targets))
            count += n
    if count == 0:
        return float("nan"), float("nan")
    return loss_sum / count, hits / count


def save_checkpoint(path, model, optimizer, epoch, generator=None):
    """Save everything a resumed run needs to continue exactly: the model's and the
    optimizer's state_dicts, the epoch, torch's global random state, and the state
    of ``generator`` (the loader's shuffling generator) when one is given."""
    state = dict(
        epoch=int(epoch),
        model=model.state_dict(),
        optimizer=optimizer.state_dict(),
        torch_rng=torch.get_rng_state(),
    )
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["generator_rng"] = generator.get_state()
    torch.save(state, path)


def load_checkpoint(path, model, optimizer, generator=None):
    """Restore what ``save_checkpoint`` saved into ``model``, ``optimizer`` (and
    ``generator``) and torch's global random state; return the saved epoch.
    Load with ``torch.load(path, weights_only=True)``: a checkpoint is data, and
    loading it must not run code."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    if generator is not None and "generator_rng" in state:
        generator.set_state(state["generator_rng"])
    return state["epoch"]


def build_classifier(parts, hidden=128):
    """The digits classifier from ``parts``: Sequential(Linear(64, hidden), ReLU(),
    Linear(hidden, 10)). It outputs logits (no softmax)."""
    layers = [parts.Linear(64, hidden), parts.ReLU(), parts.Linear(hidden, 10)]
    return parts.Sequential(*layers)


def make_loaders(parts, train, test, batch_size, generator):
    """``(train_loader, test_loader)`` from ``(images, labels)`` pairs with ``parts``'
    ``CustomDataset`` and ``DataLoader``: the training loader shuffles with
    ``generator``; the test loader does not shuffle and keeps every sample."""
    train_set, test_set = (parts.CustomDataset(*pair) for pair in (train, test))
    train_loader = parts.DataLoader(train_set, batch_size=batch_size, shuffle=True,
                                    generator=generator)
    test_loader = parts.DataLoader(test_set, batch_size=batch_size, shuffle=False,
                                   drop_last=False)
    return train_loader, test_loader


def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs):
    """Train for ``epochs`` epochs, evaluating after each one. Returns the history: a
    list with one dict per epoch, {"train_loss", "test_loss", "test_accuracy"}."""
    history = []
    for _ in range(epochs):
        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer)
        test_loss, test_accuracy = evaluate(model, test_loader, loss_fn)
        history.append({"train_loss": train_loss, "test_loss": test_loss,
                        "test_accuracy": test_accuracy})
    return history
