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
    ### BEGIN SOLUTION
    if isinstance(idx, bool):
        raise TypeError("a dataset index must be an integer, not a bool")
    try:
        position = operator.index(idx)
    except TypeError:
        raise TypeError(f"a dataset index must be an integer, got {type(idx).__name__}") from None
    if position < 0:
        position += length
    if not 0 <= position < length:
        raise IndexError(f"index {idx} is out of range for a dataset of {length} items")
    return position
    ### END SOLUTION


def _labels_tensor(labels):
    """Labels as a 1-D int64 tensor; integral values only."""
    # TODO task 2 (a helper for it and task 3): (N,) or (N, 1) -> int64 of shape (N,).
    ### BEGIN SOLUTION
    values = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor)
                             else labels)
    if values.dim() == 2 and values.shape[1] == 1:
        values = values.reshape(-1)  # a column read from a table
    if values.dim() != 1:
        raise ValueError(f"labels must be 1-D (one per sample), got shape {tuple(values.shape)}")
    if values.is_floating_point() and not bool((values == values.round()).all()):
        raise ValueError("labels must be whole numbers (class indices)")
    return values.to(torch.int64)
    ### END SOLUTION


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
        ### BEGIN SOLUTION
        self.data = data if isinstance(data, torch.Tensor) else torch.as_tensor(np.asarray(data))
        self.labels = _labels_tensor(labels)
        if len(self.data) != len(self.labels):
            raise ValueError(f"{len(self.data)} samples but {len(self.labels)} labels")
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self.data)
        ### END SOLUTION

    def __getitem__(self, idx):
        ### BEGIN SOLUTION
        i = normalize_index(idx, len(self))
        return self.data[i], self.labels[i]
        ### END SOLUTION


def load_image(path, mode="RGB"):
    """Open an image file with PIL, read it fully, and convert it to ``mode``.

    Reading fully (``convert`` does) closes the file: a dataset of ten thousand
    lazily opened images would otherwise run out of file handles.
    """
    # TODO task 3 (a helper for it and tasks 4 and 5)
    ### BEGIN SOLUTION
    with Image.open(path) as image:
        return image.convert(mode)
    ### END SOLUTION


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
        ### BEGIN SOLUTION
        self.image_paths = [str(p) for p in image_paths]
        self.labels = _labels_tensor(labels)
        if len(self.image_paths) != len(self.labels):
            raise ValueError(f"{len(self.image_paths)} images but {len(self.labels)} labels")
        self.transform = transform
        self.mode = mode
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self.image_paths)
        ### END SOLUTION

    def __getitem__(self, idx):
        ### BEGIN SOLUTION
        i = normalize_index(idx, len(self))
        image = load_image(self.image_paths[i], self.mode)
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[i]
        ### END SOLUTION


def find_classes(root):
    """The class names under ``root`` and their indices, exactly as ImageFolder finds them.

    A class is a sub-directory of ``root``; files directly in ``root`` are ignored.
    Names are sorted as strings (so "10" comes before "2", and "Zebra" before
    "ant"), and numbered from 0 in that order.

    Returns ``(classes, class_to_idx)``. Raises ``FileNotFoundError`` when
    ``root`` has no sub-directory.
    """
    # TODO task 4a
    ### BEGIN SOLUTION
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"no class folders in {root}")
    return classes, {name: index for index, name in enumerate(classes)}
    ### END SOLUTION


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
        ### BEGIN SOLUTION
        self.root = str(root)
        self.transform = transform
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = []
        for name in self.classes:
            found = []
            for folder, _, files in sorted(os.walk(os.path.join(self.root, name),
                                                   followlinks=True)):
                for file in sorted(files):
                    if file.lower().endswith(IMG_EXTENSIONS):
                        found.append((os.path.join(folder, file), self.class_to_idx[name]))
            if not found:
                raise FileNotFoundError(f"class folder {name!r} holds no image file "
                                        f"(extensions: {', '.join(IMG_EXTENSIONS)})")
            self.samples.extend(found)
        self.targets = [label for _, label in self.samples]
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self.samples)
        ### END SOLUTION

    def __getitem__(self, idx):
        ### BEGIN SOLUTION
        path, label = self.samples[normalize_index(idx, len(self))]
        image = load_image(path, "RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.tensor(label, dtype=torch.int64)
        ### END SOLUTION


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
        ### BEGIN SOLUTION
        with open(csv_file, newline="") as handle:
            reader = csv.DictReader(handle)
            for column in (filename_column, label_column):
                if column not in (reader.fieldnames or []):
                    raise ValueError(f"the CSV file has no column {column!r} "
                                     f"(columns: {reader.fieldnames})")
            rows = [row for row in reader if any(value for value in row.values())]
        self.image_paths = [str(Path(image_dir) / row[filename_column]) for row in rows]
        self.labels = torch.tensor([int(row[label_column]) for row in rows], dtype=torch.int64)
        self.transform = transform
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self.image_paths)
        ### END SOLUTION

    def __getitem__(self, idx):
        ### BEGIN SOLUTION
        i = normalize_index(idx, len(self))
        image = load_image(self.image_paths[i], "RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[i]
        ### END SOLUTION


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
    ### BEGIN SOLUTION
    first = batch[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(list(batch))
    if isinstance(first, np.ndarray):
        return torch.stack([torch.as_tensor(b) for b in batch])
    if isinstance(first, bool):
        return torch.tensor(batch, dtype=torch.bool)
    if isinstance(first, int):
        return torch.tensor(batch, dtype=torch.int64)
    if isinstance(first, float):
        return torch.tensor(batch, dtype=torch.float64)
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, dict):
        return {key: collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(sample) != len(first) for sample in batch):
            raise RuntimeError("each sample in the batch must have the same number of fields")
        return [collate(list(field)) for field in zip(*batch)]
    raise TypeError(f"collate cannot batch samples of type {type(first).__name__}")
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    sequences = [sequence for sequence, _ in batch]
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    longest = int(lengths.max()) if len(sequences) else 0
    first = sequences[0]
    padded = torch.full((len(sequences), longest, *first.shape[1:]), padding_value,
                        dtype=first.dtype, device=first.device)
    for i, sequence in enumerate(sequences):
        padded[i, :len(sequence)] = sequence
    labels = torch.tensor([int(label) for _, label in batch], dtype=torch.int64)
    return padded, lengths, labels
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")

    def order():
        if not shuffle:
            yield from range(n)
            return
        rng = generator
        if rng is None:
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
            rng = torch.Generator()
            rng.manual_seed(seed)
        yield from torch.randperm(n, generator=rng).tolist()
        torch.randperm(n, generator=rng)  # the tail RandomSampler draws and discards

    batch = []
    for index in order():
        batch.append(index)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch and not drop_last:
        yield batch
    ### END SOLUTION


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
        ### BEGIN SOLUTION
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = collate if collate_fn is None else collate_fn
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size
        ### END SOLUTION

    def __iter__(self):
        ### BEGIN SOLUTION
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        batches = batch_indices(len(self.dataset), self.batch_size, self.shuffle,
                                self.drop_last, self.generator)
        return (self.collate_fn([self.dataset[i] for i in batch]) for batch in batches)
        ### END SOLUTION


def predict_in_batches(model, inputs, batch_size, device=None):
    """``model(inputs)``, computed ``batch_size`` rows at a time, without autograd.

    Only one batch is on ``device`` at a time (the default: the inputs' device),
    so a dataset far larger than the device's memory can be processed. No
    autograd graph is kept. The outputs are concatenated on the inputs' device;
    the result equals ``model(inputs)`` (up to floating-point rounding).
    With zero rows, return the model's output for the empty batch.
    """
    # TODO task 9
    ### BEGIN SOLUTION
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = inputs.device if device is None else torch.device(device)
    outputs = []
    with torch.no_grad():
        for start in range(0, max(len(inputs), 1), batch_size):
            batch = inputs[start:start + batch_size].to(device)
            outputs.append(model(batch).to(inputs.device))
    return torch.cat(outputs)
    ### END SOLUTION
