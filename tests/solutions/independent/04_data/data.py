"""An independently written, correct 04_data solution (not derived from the reference).

It deliberately uses other, equivalent formulations than the obvious ones: ``range``
lookup for indices, ``csv.reader`` with a header lookup instead of ``DictReader``, one
sort of all (folder, file) pairs for class folders, ``cat`` + ``stack`` for padding,
batches sliced from the permutation with the tail draw placed explicitly, ``split`` for
batched prediction. It must score full marks on every agreement check.
"""
import collections.abc
import copy
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
    if isinstance(idx, slice):
        raise TypeError("a slice is not an index of one sample")
    if isinstance(idx, (torch.Tensor, np.ndarray)) and idx.ndim != 0:
        raise TypeError(f"an index must be a single integer, not a {idx.ndim}-D array")
    # A range indexes exactly like a list: any __index__ integer, negatives from the
    # end, IndexError outside -length..length-1, TypeError for floats and strings.
    return range(length)[idx]


def _labels_tensor(labels):
    """Labels as a 1-D int64 tensor; integral values only."""
    if isinstance(labels, torch.Tensor):
        values = labels.detach().clone()
    else:
        values = torch.as_tensor(np.asarray(labels))
    if values.dim() == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.dim() != 1:
        raise ValueError(f"labels must have shape (N,) or (N, 1), not {tuple(values.shape)}")
    if values.is_floating_point() and not torch.equal(values, values.round()):
        raise ValueError("labels must be whole numbers (class indices)")
    if values.is_complex():
        raise ValueError("labels must be real class indices")
    return values.to(dtype=torch.int64)


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
        self.data = torch.as_tensor(data)
        self.labels = _labels_tensor(labels)
        if self.data.dim() == 0 or self.data.shape[0] != self.labels.shape[0]:
            raise ValueError(f"{self.data.shape[0] if self.data.dim() else 'no'} samples but "
                             f"{self.labels.shape[0]} labels")

    def __len__(self):
        return int(self.labels.shape[0])

    def __getitem__(self, idx):
        position = normalize_index(idx, len(self))
        return self.data[position], self.labels[position]


def load_image(path, mode="RGB"):
    """Open an image file with PIL, read it fully, and convert it to ``mode``.

    Reading fully (``convert`` does) closes the file: a dataset of ten thousand
    lazily opened images would otherwise run out of file handles.
    """
    with open(path, "rb") as handle:
        opened = Image.open(handle)
        opened.load()                    # decode now, while the file is still open
        converted = opened.convert(mode)
        opened.close()
    return converted


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
        self.image_paths = list(image_paths)
        self.labels = _labels_tensor(labels)
        if len(self.image_paths) != self.labels.shape[0]:
            raise ValueError(f"{len(self.image_paths)} image paths but "
                             f"{self.labels.shape[0]} labels")
        self.transform = transform
        self.mode = mode

    def __len__(self):
        return len(self.image_paths)

    def __getitem__(self, idx):
        position = normalize_index(idx, len(self))
        image = load_image(self.image_paths[position], self.mode)
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[position]


def find_classes(root):
    """The class names under ``root`` and their indices, exactly as ImageFolder finds them.

    A class is a sub-directory of ``root``; files directly in ``root`` are ignored.
    Names are sorted as strings (so "10" comes before "2", and "Zebra" before
    "ant"), and numbered from 0 in that order.

    Returns ``(classes, class_to_idx)``. Raises ``FileNotFoundError`` when
    ``root`` has no sub-directory.
    """
    names = [entry.name for entry in Path(root).iterdir() if entry.is_dir()]
    names.sort()
    if not names:
        raise FileNotFoundError(f"no class folder found in {root}")
    return names, dict(zip(names, range(len(names))))


def _is_image_file(name):
    return name.lower().endswith(IMG_EXTENSIONS)


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
        self.root = os.fspath(root)
        self.transform = transform
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = []
        for name in self.classes:
            found = []
            for folder, _dirs, files in os.walk(os.path.join(self.root, name), followlinks=True):
                found.extend((folder, file) for file in files if _is_image_file(file))
            if not found:
                raise FileNotFoundError(f"class folder {name!r} holds no image file "
                                        f"(extensions {', '.join(IMG_EXTENSIONS)})")
            # ImageFolder sorts the walked folders by their path, then each one's files.
            found.sort()
            label = self.class_to_idx[name]
            self.samples.extend((os.path.join(folder, file), label) for folder, file in found)
        self.targets = [label for _path, label in self.samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, idx):
        path, label = self.samples[normalize_index(idx, len(self))]
        image = load_image(path, "RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.tensor(label, dtype=torch.int64)


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
        self.image_dir = image_dir
        self.transform = transform
        with open(csv_file, newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle)
            header = next(rows, None)
            if header is None:
                raise ValueError(f"{csv_file} is empty: no header row naming the columns")
            columns = {}
            for position, column in enumerate(header):
                columns.setdefault(column, position)
            for wanted in (filename_column, label_column):
                if wanted not in columns:
                    raise ValueError(f"column {wanted!r} is missing from {csv_file} "
                                     f"(it has {header})")
            file_at, label_at = columns[filename_column], columns[label_column]
            names, labels = [], []
            for row in rows:
                if not any(field.strip() for field in row):
                    continue                  # a blank line
                if max(file_at, label_at) >= len(row):
                    raise ValueError(f"a row of {csv_file} has too few fields: {row}")
                names.append(row[file_at])
                labels.append(int(row[label_at]))
        self.filenames = names
        self.labels = _labels_tensor(labels) if labels else torch.zeros(0, dtype=torch.int64)

    def __len__(self):
        return len(self.filenames)

    def __getitem__(self, idx):
        position = normalize_index(idx, len(self))
        image = load_image(os.path.join(self.image_dir, self.filenames[position]), "RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[position]


def _is_numpy_scalar(value):
    return isinstance(value, (np.bool_, np.number, np.object_))


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
    batch = list(batch)
    first = batch[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(batch, dim=0)
    if isinstance(first, np.ndarray):
        if first.dtype.kind in "OSUa":
            raise TypeError(f"cannot collate numpy arrays of dtype {first.dtype}")
        return collate([torch.as_tensor(array) for array in batch])
    if _is_numpy_scalar(first):
        return torch.as_tensor(batch)
    if isinstance(first, float):
        return torch.tensor(batch, dtype=torch.float64)
    if isinstance(first, int):               # bool included: torch.tensor keeps bool as bool
        return torch.tensor(batch)
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, collections.abc.Mapping):
        merged = {key: collate([sample[key] for sample in batch]) for key in first}
        if isinstance(first, collections.abc.MutableMapping):
            out = copy.copy(first)
            out.update(merged)
            return out
        return merged
    if isinstance(first, tuple) and hasattr(first, "_fields"):     # a namedtuple
        return type(first)(*(collate(list(field)) for field in zip(*batch)))
    if isinstance(first, collections.abc.Sequence):
        size = len(first)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(list(field)) for field in zip(*batch)]
        if isinstance(first, collections.abc.MutableSequence):
            out = copy.copy(first)
            out[:] = fields
            return out
        return fields
    raise TypeError(f"collate cannot batch samples of type {type(first).__name__}")


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
    sequences = [sequence for sequence, _label in batch]
    lengths = [int(sequence.shape[0]) for sequence in sequences]
    longest = max(lengths, default=0)
    rows = []
    for sequence, length in zip(sequences, lengths):
        tail = sequence.new_full((longest - length,) + tuple(sequence.shape[1:]), padding_value)
        rows.append(torch.cat((sequence, tail), dim=0))
    padded = torch.stack(rows)
    length_tensor = torch.tensor(lengths, dtype=torch.int64)
    labels = torch.tensor([int(label) for _sequence, label in batch], dtype=torch.int64)
    return padded, length_tensor, labels


def _checked_batch_size(batch_size):
    if isinstance(batch_size, bool):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    try:
        size = operator.index(batch_size)
    except TypeError:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}") from None
    if size < 1:
        raise ValueError(f"batch_size must be at least 1, got {size}")
    return size


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
    size = _checked_batch_size(batch_size)
    if shuffle:
        rng = generator
        if rng is None:
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
            rng = torch.Generator()
            rng.manual_seed(seed)
        order = torch.randperm(n, generator=rng).tolist()
    else:
        rng = None
        order = list(range(n))
    full, rest = divmod(n, size)
    for k in range(full):
        yield order[k * size:(k + 1) * size]
    # All indices are served: now RandomSampler draws (and discards) its tail permutation,
    # before a short last batch is handed out, and also when there is none.
    if rng is not None:
        torch.randperm(n, generator=rng)
    if rest and not drop_last:
        yield order[full * size:]


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
        self.dataset = dataset
        self.batch_size = _checked_batch_size(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate if collate_fn is None else collate_fn

    def __len__(self):
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self):
        # Drawn now, at iter(), not lazily at the first batch (hence no yield here).
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        return self._epoch(len(self.dataset))

    def _epoch(self, n):
        for indices in batch_indices(n, self.batch_size, shuffle=self.shuffle,
                                     drop_last=self.drop_last, generator=self.generator):
            yield self.collate_fn([self.dataset[i] for i in indices])


def predict_in_batches(model, inputs, batch_size, device=None):
    """``model(inputs)``, computed ``batch_size`` rows at a time, without autograd.

    Only one batch is on ``device`` at a time (the default: the inputs' device),
    so a dataset far larger than the device's memory can be processed. No
    autograd graph is kept. The outputs are concatenated on the inputs' device;
    the result equals ``model(inputs)`` (up to floating-point rounding).
    With zero rows, return the model's output for the empty batch.
    """
    size = _checked_batch_size(batch_size)
    target = inputs.device if device is None else torch.device(device)
    # split() of a tensor with zero rows gives one empty chunk: the empty batch's output.
    pieces = []
    with torch.no_grad():
        for chunk in torch.split(inputs, size, dim=0):
            pieces.append(model(chunk.to(target)).to(inputs.device))
    return torch.cat(pieces, dim=0)
