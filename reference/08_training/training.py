"""Assignment 08_training: a complete training run, from seeding to checkpoints.

Tasks (see assignments/08_training/README.md):

1. ``set_seed``          make a run reproducible: Python's, numpy's and torch's generators
2. ``train_one_epoch``   train() mode, then zero_grad / forward / loss / backward / step
3. ``evaluate``          eval() mode and no autograd: mean loss and accuracy
4. ``save_checkpoint`` and ``load_checkpoint``   model, optimizer and random state, so
                         that a resumed run equals an uninterrupted one
5. ``build_classifier``, ``make_loaders`` and ``fit``   the digits classifier, end to end,
                         from the parts you wrote in earlier assignments

``parts`` is a namespace with ``CustomDataset``, ``DataLoader``, ``Sequential``,
``Linear``, ``ReLU``, ``CrossEntropyLoss`` and ``Adam``: yours from 04_data,
06_modules and 03_adam where they work, torch's where they do not (the grader
says which).
"""
import random

import numpy as np
import torch


def set_seed(seed):
    """Seed Python's ``random``, numpy's global generator and torch (CPU and all GPUs)."""
    # TODO task 1
    ### BEGIN SOLUTION
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    ### END SOLUTION


def train_one_epoch(model, loader, loss_fn, optimizer):
    """One pass over ``loader``, training: returns the mean loss per sample (a float).

    Put the model in training mode first (Dropout and BatchNorm behave differently
    in training). For each ``(inputs, targets)`` batch: zero the gradients, compute
    the loss, backpropagate, step. The mean is over samples: weight each batch's
    loss by its size (the last batch may be smaller).
    """
    # TODO task 2
    ### BEGIN SOLUTION
    model.train()
    total, count = 0.0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(targets)
        count += len(targets)
    return float(total) / count
    ### END SOLUTION


def evaluate(model, loader, loss_fn):
    """Mean loss per sample and accuracy (a share in [0, 1]) over ``loader``, as floats.

    Put the model in evaluation mode and compute without autograd
    (``torch.no_grad()``): nothing here may change the model or build a graph.
    """
    # TODO task 3
    ### BEGIN SOLUTION
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            logits = model(inputs)
            total += loss_fn(logits, targets) * len(targets)
            correct += (logits.argmax(dim=1) == targets).sum()
            count += len(targets)
    return float(total) / count, int(correct) / count
    ### END SOLUTION


def save_checkpoint(path, model, optimizer, epoch, generator=None):
    """Save everything a resumed run needs to continue exactly: the model's and the
    optimizer's state_dicts, the epoch, torch's global random state, and the state
    of ``generator`` (the loader's shuffling generator) when one is given."""
    # TODO task 4a
    ### BEGIN SOLUTION
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "epoch": epoch, "torch_rng": torch.get_rng_state(),
                "generator": None if generator is None else generator.get_state()}, path)
    ### END SOLUTION


def load_checkpoint(path, model, optimizer, generator=None):
    """Restore what ``save_checkpoint`` saved into ``model``, ``optimizer`` (and
    ``generator``) and torch's global random state; return the saved epoch.
    Load with ``torch.load(path, weights_only=True)``: a checkpoint is data, and
    loading it must not run code."""
    # TODO task 4b
    ### BEGIN SOLUTION
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    if generator is not None and state["generator"] is not None:
        generator.set_state(state["generator"])
    return state["epoch"]
    ### END SOLUTION


def build_classifier(parts, hidden=128):
    """The digits classifier from ``parts``: Sequential(Linear(64, hidden), ReLU(),
    Linear(hidden, 10)). It outputs logits (no softmax)."""
    # TODO task 5a
    ### BEGIN SOLUTION
    return parts.Sequential(parts.Linear(64, hidden), parts.ReLU(), parts.Linear(hidden, 10))
    ### END SOLUTION


def make_loaders(parts, train, test, batch_size, generator):
    """``(train_loader, test_loader)`` from ``(images, labels)`` pairs with ``parts``'
    ``CustomDataset`` and ``DataLoader``: the training loader shuffles with
    ``generator``; the test loader does not shuffle and keeps every sample."""
    # TODO task 5b
    ### BEGIN SOLUTION
    train_set = parts.CustomDataset(*train)
    test_set = parts.CustomDataset(*test)
    return (parts.DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=generator),
            parts.DataLoader(test_set, batch_size=batch_size, shuffle=False))
    ### END SOLUTION


def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs):
    """Train for ``epochs`` epochs, evaluating after each one. Returns the history: a
    list with one dict per epoch, {"train_loss", "test_loss", "test_accuracy"}."""
    # TODO task 5c
    ### BEGIN SOLUTION
    history = []
    for _ in range(epochs):
        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer)
        test_loss, accuracy = evaluate(model, test_loader, loss_fn)
        history.append({"train_loss": train_loss, "test_loss": test_loss,
                        "test_accuracy": accuracy})
    return history
    ### END SOLUTION
