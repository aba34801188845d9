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
    raise NotImplementedError("Task 1: set_seed is not implemented yet")


def train_one_epoch(model, loader, loss_fn, optimizer):
    """One pass over ``loader``, training: returns the mean loss per sample (a float).

    Put the model in training mode first (Dropout and BatchNorm behave differently
    in training). For each ``(inputs, targets)`` batch: zero the gradients, compute
    the loss, backpropagate, step. The mean is over samples: weight each batch's
    loss by its size (the last batch may be smaller).
    """
    # TODO task 2
    raise NotImplementedError("Task 2: train_one_epoch is not implemented yet")


def evaluate(model, loader, loss_fn):
    """Mean loss per sample and accuracy (a share in [0, 1]) over ``loader``, as floats.

    Put the model in evaluation mode and compute without autograd
    (``torch.no_grad()``): nothing here may change the model or build a graph.
    """
    # TODO task 3
    raise NotImplementedError("Task 3: evaluate is not implemented yet")


def save_checkpoint(path, model, optimizer, epoch, generator=None):
    """Save everything a resumed run needs to continue exactly: the model's and the
    optimizer's state_dicts, the epoch, torch's global random state, and the state
    of ``generator`` (the loader's shuffling generator) when one is given."""
    # TODO task 4a
    raise NotImplementedError("Task 4: save_checkpoint is not implemented yet")


def load_checkpoint(path, model, optimizer, generator=None):
    """Restore what ``save_checkpoint`` saved into ``model``, ``optimizer`` (and
    ``generator``) and torch's global random state; return the saved epoch.
    Load with ``torch.load(path, weights_only=True)``: a checkpoint is data, and
    loading it must not run code."""
    # TODO task 4b
    raise NotImplementedError("Task 4: load_checkpoint is not implemented yet")


def build_classifier(parts, hidden=128):
    """The digits classifier from ``parts``: Sequential(Linear(64, hidden), ReLU(),
    Linear(hidden, 10)). It outputs logits (no softmax)."""
    # TODO task 5a
    raise NotImplementedError("Task 5: build_classifier is not implemented yet")


def make_loaders(parts, train, test, batch_size, generator):
    """``(train_loader, test_loader)`` from ``(images, labels)`` pairs with ``parts``'
    ``CustomDataset`` and ``DataLoader``: the training loader shuffles with
    ``generator``; the test loader does not shuffle and keeps every sample."""
    # TODO task 5b
    raise NotImplementedError("Task 5: make_loaders is not implemented yet")


def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs):
    """Train for ``epochs`` epochs, evaluating after each one. Returns the history: a
    list with one dict per epoch, {"train_loss", "test_loss", "test_accuracy"}."""
    # TODO task 5c
    raise NotImplementedError("Task 5: fit is not implemented yet")
