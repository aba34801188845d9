"""Assignment 04_data: datasets, collate functions, a data loader, batch processing.

Tasks (see assignments/04_data/README.md for the why of each rule):

1. ``normalize_index``       the indexing contract every dataset here follows
2. ``CustomDataset``         the slides' tensors-plus-labels dataset
3. ``CustomImageDataset``    the slides' image-paths-plus-labels dataset, loaded with PIL
4. ``find_classes`` and ``ImageFolderDataset``   one sub-folder per class
5. ``CSVImageDataset``       file names and labels listed in a CSV file
6. ``collate``               a list of samples -> one batch (tensors, numbers, dicts, tuples)
7. ``pad_collate``           variable-length sequences -> padded batch + lengths
8. ``batch_indices`` and ``DataLoader``   batches in exactly torch's order
9. ``predict_in_batches``    apply a model to a large tensor in fixed-size batches

Rules: every dataset returns labels as 0-dim ``torch.int64`` tensors. Do not call
``torch.utils.data.DataLoader``, its samplers, ``default_collate``,
``pad_sequence`` or ``torchvision.datasets``; the grader detects it. Subclassing
``torch.utils.data.Dataset`` is expected.
"""
import csv
import operator
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

# The file extensions torchvision's ImageFolder accepts, compared case-insensitively.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def normalize_index(idx, length):
    """Turn ``idx`` into a position in ``range(length)``, the way a Python list does.

    * Any integer works, including numpy and 0-dim torch integers.
    * Negative indices count from the end: -1 is the last item.
    * Anything outside ``-length <= idx < length`` raises ``IndexError``.
    * A non-integer (a float, a string, a 1-D tensor) raises ``TypeError``.
    """
    # TODO task 1: operator.index() accepts every kind of integer and rejects the rest.
    raise NotImplementedError("Task 1: normalize_index is not implemented yet")


def _labels_tensor(labels):
    """Labels as a 1-D int64 tensor; integral values only."""
    # TODO task 2 (a helper for it and task 3): (N,) or (N, 1) -> int64 of shape (N,).
    raise NotImplementedError("Task 2: _labels_tensor is not implemented yet")


class CustomDataset(Dataset):
    """The slides' dataset: ``data[i]`` with ``labels[i]``.

    Args:
        data: a tensor (or anything ``torch.as_tensor`` takes) whose first
            dimension indexes the samples.
        labels: one class index per sample: a list, a numpy array or a tensor,
            of shape (N,) or (N, 1). Stored as an int64 tensor of shape (N,).

    Raises ``ValueError`` when data and labels have different lengths.
    ``dataset[i]`` returns ``(data[i], label_i)`` with ``label_i`` a 0-dim int64 tensor.
    """

    def __init__(self, data, labels):
        # TODO task 2: store data as a tensor and labels as int64 of shape (N,).
        raise NotImplementedError("Task 2: CustomDataset.__init__ is not implemented yet")

    def __len__(self):
        raise NotImplementedError("CustomDataset.__len__ is not implemented yet")

    def __getitem__(self, idx):
        raise NotImplementedError("CustomDataset.__getitem__ is not implemented yet")


def load_image(path, mode="RGB"):
    """Open an image file with PIL, read it fully, and convert it to ``mode``.

    Reading fully (``convert`` does) closes the file: a dataset of ten thousand
    lazily opened images would otherwise run out of file handles.
    """
    # TODO task 3 (a helper for it and tasks 4 and 5)
    raise NotImplementedError("Task 3: load_image is not implemented yet")


class CustomImageDataset(Dataset):
    """The slides' image dataset: image files and their labels.

    Args:
        image_paths: a list of file paths (str or Path).
        labels: one class index per path (as for ``CustomDataset``).
        transform: optional callable applied to the loaded PIL image.
        mode: the PIL mode images are converted to ("RGB" or "L").

    ``dataset[i]`` returns ``(image, label)``: the PIL image (or
    ``transform(image)`` when a transform is given) and a 0-dim int64 label.
    """

    def __init__(self, image_paths, labels, transform=None, mode="RGB"):
        # TODO task 3
        raise NotImplementedError("Task 3: CustomImageDataset.__init__ is not implemented yet")

    def __len__(self):
        raise NotImplementedError("CustomImageDataset.__len__ is not implemented yet")

    def __getitem__(self, idx):
        raise NotImplementedError("CustomImageDataset.__getitem__ is not implemented yet")


def find_classes(root):
    """The class names under ``root`` and their indices, exactly as ImageFolder finds them.

    A class is a sub-directory of ``root``; files directly in ``root`` are ignored.
    Names are sorted as strings (so "10" comes before "2", and "Zebra" before
    "ant"), and numbered from 0 in that order.

    Returns ``(classes, class_to_idx)``. Raises ``FileNotFoundError`` when
    ``root`` has no sub-directory.
    """
    # TODO task 4a
    raise NotImplementedError("Task 4: find_classes is not implemented yet")


class ImageFolderDataset(Dataset):
    """Images in one sub-folder per class: ``root/<class>/**/<image file>``.

    Attributes (equal to torchvision's ``ImageFolder`` on the same folder):
        classes, class_to_idx: from ``find_classes``.
        samples: a list of ``(path, class_index)``, class by class in class order;
            within a class, folders are walked recursively in sorted order, and
            each folder's files in sorted order. Only files whose extension is
            in ``IMG_EXTENSIONS`` (in any letter case) count. ``path`` is
            ``os.path.join(root, class_name, ..., file_name)`` as a str.
        targets: the class index of each sample.

    Raises ``FileNotFoundError`` when a class folder holds no image.
    ``dataset[i]`` returns ``(image, label)`` like ``CustomImageDataset`` (RGB).
    """

    def __init__(self, root, transform=None):
        # TODO task 4b
        raise NotImplementedError("Task 4: ImageFolderDataset.__init__ is not implemented yet")

    def __len__(self):
        raise NotImplementedError("ImageFolderDataset.__len__ is not implemented yet")

    def __getitem__(self, idx):
        raise NotImplementedError("ImageFolderDataset.__getitem__ is not implemented yet")


class CSVImageDataset(Dataset):
    """Images listed in a CSV file with a header row, e.g.::

        filename,label
        cat_001.png,3
        "photo, cropped.jpg",0

    Args:
        csv_file: the CSV file. Its first row names the columns.
        image_dir: the folder the file names are relative to.
        transform: optional callable applied to the loaded PIL image.
        filename_column, label_column: the column names to read.

    Raises ``ValueError`` naming the column when a column is missing.
    ``dataset[i]`` returns ``(image, label)`` like ``CustomImageDataset`` (RGB).
    Quoted fields (a comma inside a file name) must work: use the ``csv`` module.
    """

    def __init__(self, csv_file, image_dir, transform=None, filename_column="filename",
                 label_column="label"):
        # TODO task 5
        raise NotImplementedError("Task 5: CSVImageDataset.__init__ is not implemented yet")

    def __len__(self):
        raise NotImplementedError("CSVImageDataset.__len__ is not implemented yet")

    def __getitem__(self, idx):
        raise NotImplementedError("CSVImageDataset.__getitem__ is not implemented yet")


def collate(batch):
    """Turn a list of samples into one batch, the way torch's ``default_collate`` does.

    By the type of the first sample:
        * tensor: ``torch.stack`` along a new first dim (equal shapes required);
        * numpy array: the same, as tensors;
        * Python int -> int64 tensor, float -> float64 tensor, bool -> bool tensor;
        * str: the list of strings, unchanged;
        * dict: a dict with the same keys, each value collated;
        * tuple or list: a list, one collated entry per position ("transposed");
          raises ``RuntimeError`` when samples have different lengths.
    """
    # TODO task 6: recursive, one case per type.
    raise NotImplementedError("Task 6: collate is not implemented yet")


def pad_collate(batch, padding_value=0.0):
    """Batch variable-length sequences by padding them at the end.

    Args:
        batch: a list of ``(sequence, label)``; each sequence is a tensor of
            shape [L_i, *features] (L_i may differ, even be 0); labels are ints
            or 0-dim integer tensors.
        padding_value: what the padded positions hold.

    Returns:
        ``(padded, lengths, labels)``: padded [B, max L_i, *features] in the
        sequences' dtype, with sequence i in ``padded[i, :L_i]``; lengths, the
        original L_i as int64 [B]; labels as int64 [B].
    """
    # TODO task 7
    raise NotImplementedError("Task 7: pad_collate is not implemented yet")


def batch_indices(n, batch_size, shuffle=False, drop_last=False, generator=None):
    """Yield the indices of each batch (lists of ints) for one epoch over ``n`` items.

    Without ``shuffle`` the order is 0..n-1. With it, the order must be exactly
    torch's ``RandomSampler``'s, which uses the random number generator like this:

    1. the generator is ``generator``; if that is None, draw a seed from the
       global generator, ``int(torch.empty((), dtype=torch.int64).random_().item())``,
       and use a fresh ``torch.Generator()`` seeded with it;
    2. the order is ``torch.randperm(n, generator=...)``;
    3. when the epoch's indices run out, one more ``torch.randperm(n, generator=...)``
       is drawn and thrown away (RandomSampler's tail: it serves ``n % n`` items of it).

    Batches hold ``batch_size`` indices; the last one may be shorter, unless
    ``drop_last``, which drops it. Raises ``ValueError`` if batch_size < 1.
    """
    # TODO task 8a: a generator function (use yield).
    raise NotImplementedError("Task 8: batch_indices is not implemented yet")


class DataLoader:
    """A minimal single-process data loader, in the order torch's DataLoader gives.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``.
        batch_size, shuffle, drop_last, generator: as for ``batch_indices``.
        collate_fn: turns a list of samples into a batch; ``collate`` by default.

    ``iter(loader)`` starts an epoch. Like torch's loader, it first draws one
    "base seed" for worker processes (which this loader does not have, but the
    draw keeps the random streams identical):
    ``torch.empty((), dtype=torch.int64).random_(generator=generator)`` (the
    global generator when ``generator`` is None). Then it yields
    ``collate_fn([dataset[i] for i in batch])`` for each batch of ``batch_indices``.

    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
                 collate_fn=None):
        # TODO task 8b
        raise NotImplementedError("Task 8: DataLoader.__init__ is not implemented yet")

    def __len__(self):
        raise NotImplementedError("DataLoader.__len__ is not implemented yet")

    def __iter__(self):
        raise NotImplementedError("DataLoader.__iter__ is not implemented yet")


def predict_in_batches(model, inputs, batch_size, device=None):
    """``model(inputs)``, computed ``batch_size`` rows at a time, without autograd.

    Only one batch is on ``device`` at a time (the default: the inputs' device),
    so a dataset far larger than the device's memory can be processed. No
    autograd graph is kept. The outputs are concatenated on the inputs' device;
    the result equals ``model(inputs)`` (up to floating-point rounding).
    With zero rows, return the model's output for the empty batch.
    """
    # TODO task 9
    raise NotImplementedError("Task 9: predict_in_batches is not implemented yet")
