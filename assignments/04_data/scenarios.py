"""Trusted scenarios of 04_data. Each takes an implementation and returns plain data.

``impl.data`` is the solution's module. The image files are real photos and
digits (scikit-image's and scikit-learn's bundled data), written once per worker
process into a temporary folder as PNG and JPEG files; every worker writes the
same bytes, so the student and the reference read identical files. Paths in
results are relative to that folder.
"""
import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from autograder.sample_data import digits, photo, write_image
from autograder.worker import StudentLoadError

# Class folders are named by the English word of the digit: sorted as strings
# they are not in numeric order, which is what ImageFolder's numbering follows.
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
PER_CLASS = 4


@functools.lru_cache(maxsize=1)
def _workspace():
    root = Path(tempfile.mkdtemp(prefix="autograder-04-data-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def cleanup():
    """Called by the worker when it exits: remove the image files."""
    if _workspace.cache_info().currsize:
        shutil.rmtree(_workspace(), ignore_errors=True)


def _digit_images():
    images, labels = digits()
    chosen = []
    for digit in range(10):
        chosen.extend(np.flatnonzero(labels == digit)[:PER_CLASS + 1].tolist())
    return images, labels, chosen


@functools.lru_cache(maxsize=1)
def _photo_files():
    """Six photo crops: JPEG colour (astronaut), PNG greyscale (camera, coins)."""
    root = _workspace() / "photos"
    astronaut, camera, coins = photo("astronaut"), photo("camera"), photo("coins")
    files = [
        write_image(root / "astronaut_face.jpg", astronaut[30:94, 170:234]),
        write_image(root / "camera_man.png", camera[60:124, 200:248]),
        write_image(root / "coins_row.png", coins[20:60, 10:90]),
        write_image(root / "astronaut_flag.jpg", astronaut[0:40, 0:56]),
        write_image(root / "camera_tripod.png", camera[300:348, 250:290]),
        write_image(root / "astronaut_badge.png", astronaut[250:282, 300:348]),
    ]
    return [str(f) for f in files], [3, 1, 4, 3, 1, 0]


@functools.lru_cache(maxsize=1)
def _digit_folder():
    """``digits/<word>/*.png``, plus what a real folder has: odd extensions, a nested
    folder, a stray text file and a CSV at the top."""
    root = _workspace() / "digits"
    images, labels, chosen = _digit_images()
    counts = {}
    for index in chosen:
        digit = int(labels[index])
        n = counts.get(digit, 0)
        counts[digit] = n + 1
        word = WORDS[digit]
        if n == PER_CLASS:  # one extra per class, in a different form
            name = {0: "scan.PNG", 1: "scan.jpeg", 7: "more/deep/scan.png"}.get(digit,
                                                                             f"z_{index}.png")
        else:
            name = f"{word}_{index:04d}.png"
        write_image(root / word / name, _upscale(images[index]))
    (root / "three" / "notes.txt").write_text("not an image\n")
    (root / "labels.csv").write_text("filename,label\n")
    return root


def _upscale(image, factor=2):
    return np.kron(image, np.ones((factor, factor), dtype=np.uint8))


@functools.lru_cache(maxsize=1)
def _csv_files():
    """A CSV with a quoted file name holding a comma, and one with other column names."""
    root = _workspace() / "csv"
    images, labels, chosen = _digit_images()
    rows = []
    for k, index in enumerate(chosen[::3]):
        name = f"digit, {index}.png" if k % 4 == 1 else f"digit_{index}.png"
        write_image(root / "images" / name, _upscale(images[index], 3))
        rows.append((name, int(labels[index])))
    def quoted(name):
        return f'"{name}"' if "," in name else name

    lines = ["filename,label"] + [f"{quoted(name)},{label}" for name, label in rows]
    (root / "labels.csv").write_text("\n".join(lines) + "\n\n")
    lines = ["target,comment,file"] + [f"{label},row {k},{quoted(name)}"
                                       for k, (name, label) in enumerate(rows[:5])]
    (root / "other.csv").write_text("\n".join(lines) + "\n")
    return root


def _image_data(image):
    """A PIL image (or whatever came back) as data: mode, size and pixels."""
    from PIL import Image
    if isinstance(image, Image.Image):
        return {"mode": image.mode, "size": list(image.size),
                "pixels": torch.from_numpy(np.array(image))}
    return image


def _outcome(call):
    """The result of ``call()``, or the name of the exception it raised."""
    try:
        return call()
    except (NotImplementedError, StudentLoadError):
        raise
    except Exception as error:  # the contract names which exception
        return f"raises {type(error).__name__}"


def _rejected(call):
    """"rejected" when ``call()`` raises ValueError or TypeError (the contract names no
    type for these), "accepted" when it returns, else the name of what it raised."""
    try:
        call()
    except (NotImplementedError, StudentLoadError):
        raise
    except (ValueError, TypeError):
        return "rejected"
    except Exception as error:
        return f"raises {type(error).__name__}"
    return "accepted"


def _item(dataset, idx, image=False):
    def get():
        sample = dataset[idx]
        if not isinstance(sample, tuple) or len(sample) != 2:
            return {"a (sample, label) tuple": False, "got": type(sample).__name__}
        value, label = sample
        return [_image_data(value) if image else value, label]
    return _outcome(get)


def index_contract(impl, *, seed, device):
    """normalize_index over the cases a Python list accepts and rejects."""
    cases = {"0 of 5": (0, 5), "4 of 5": (4, 5), "-1 of 5": (-1, 5), "-5 of 5": (-5, 5),
             "5 of 5": (5, 5), "-6 of 5": (-6, 5), "0 of 0": (0, 0),
             "numpy int64 2 of 5": (np.int64(2), 5), "0-dim tensor 3 of 5": (torch.tensor(3), 5),
             "0-dim tensor -2 of 5": (torch.tensor(-2), 5), "float 2.0 of 5": (2.0, 5),
             "str '1' of 5": ("1", 5), "1-D tensor of 5": (torch.tensor([1, 2]), 5)}
    return {label: _outcome(lambda a=args: impl.data.normalize_index(*a))
            for label, args in cases.items()}


def custom_dataset(impl, *, seed, device):
    """The slides' CustomDataset on 20 real digits, with labels in four forms."""
    images, labels, chosen = _digit_images()
    data = torch.from_numpy(images[chosen[:20]]).to(torch.float32).div(255).unsqueeze(1)
    targets = labels[chosen[:20]]
    forms = {"list of ints": targets.tolist(), "numpy int32": targets.astype(np.int32),
             "float tensor of whole numbers": torch.from_numpy(targets).to(torch.float32),
             "column of shape (N, 1)": targets.reshape(-1, 1),
             "bfloat16 tensor of whole numbers": torch.from_numpy(targets).to(torch.bfloat16)}
    result = {}
    for name, form in forms.items():
        dataset = impl.data.CustomDataset(data, form)
        result[name] = {"len": _outcome(lambda: len(dataset)),
                        "items 0, 7, -1, -20": [_item(dataset, i) for i in (0, 7, -1, -20)],
                        "index 20": _item(dataset, 20), "index -21": _item(dataset, -21)}
    numpy_data = impl.data.CustomDataset(images[chosen[:6]], targets[:6].tolist())
    result["numpy data"] = {"len": _outcome(lambda: len(numpy_data)),
                            "item 5": _item(numpy_data, 5)}
    result["5 samples, 4 labels"] = _outcome(
        lambda: impl.data.CustomDataset(data[:5], targets[:4].tolist()) and "accepted")
    # Class indices are whole numbers: a label of 0.5 or 2.5 is rejected, not truncated.
    result["non-whole labels: list [0, 0.5, 2]"] = _rejected(
        lambda: impl.data.CustomDataset(data[:3], [0, 0.5, 2]))
    result["non-whole labels: float tensor [1, 2.5, 3]"] = _rejected(
        lambda: impl.data.CustomDataset(data[:3], torch.tensor([1.0, 2.5, 3.0])))
    return result


def image_dataset(impl, *, seed, device):
    """CustomImageDataset on six real photo files (JPEG and PNG, colour and grey)."""
    paths, labels = _photo_files()
    dataset = impl.data.CustomImageDataset(paths, labels)
    grey = impl.data.CustomImageDataset([Path(p) for p in paths[:3]], np.array(labels[:3]),
                                        mode="L")
    calls = []

    def to_tensor(image):  # a trusted transform: counts its calls
        calls.append(image.size)
        return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()

    transformed = impl.data.CustomImageDataset(paths, labels, transform=to_tensor)
    return {
        "read before it is returned": _read_fully(impl),
        "len": _outcome(lambda: len(dataset)),
        "RGB items 0..5": [_item(dataset, i, image=True) for i in range(6)],
        "RGB item -1": _item(dataset, -1, image=True),
        "index 6": _item(dataset, 6, image=True),
        "mode L items 0, -1": [_item(grey, i, image=True) for i in (0, -1)],
        "with transform, items 0 and 3": [_item(transformed, i) for i in (0, 3)],
        "transform calls for two items": len(calls),
    }


def _read_fully(impl):
    """An item's pixels after its file was emptied: an image read when the item was made
    keeps them; a lazily opened one (its file still open) has nothing left to read. The
    file is larger than a file object's read buffer, so opening it cannot read it all."""
    folder = Path(tempfile.mkdtemp(dir=_workspace()))
    path = write_image(folder / "emptied_after_loading.png", photo("astronaut")[:192, 160:352])
    dataset = impl.data.CustomImageDataset([path], [0])
    sample = _outcome(lambda: dataset[0])
    if not isinstance(sample, tuple) or len(sample) != 2:
        return {"item": sample if isinstance(sample, str) else type(sample).__name__}
    try:
        path.write_bytes(b"")
    except OSError:  # a file another handle holds open cannot be emptied everywhere
        pass
    return _outcome(lambda: _image_data(sample[0]))


def _relative(path):
    return Path(path).relative_to(_digit_folder()).as_posix()


@functools.lru_cache(maxsize=1)
def _linked_folder():
    """Class folders reached through symbolic links, as ImageFolder follows them:
    ``linked/ants`` holds one image and ``ants/more``, a link to a folder of two more;
    ``linked/bees`` is itself a link to a class folder elsewhere."""
    images, labels, chosen = _digit_images()
    outside = _workspace() / "outside"
    write_image(outside / "ant_pictures" / "b.png", _upscale(images[chosen[1]]))
    write_image(outside / "ant_pictures" / "c.png", _upscale(images[chosen[2]]))
    write_image(outside / "bee_class" / "a.png", _upscale(images[chosen[5]]))
    write_image(outside / "bee_class" / "sub" / "d.png", _upscale(images[chosen[6]]))
    root = _workspace() / "linked"
    write_image(root / "ants" / "a.png", _upscale(images[chosen[0]]))
    write_image(root / "ants" / "z.png", _upscale(images[chosen[3]]))
    (root / "ants" / "more").symlink_to(outside / "ant_pictures", target_is_directory=True)
    (root / "bees").symlink_to(outside / "bee_class", target_is_directory=True)
    return root


def _linked_case(impl):
    root = _linked_folder()
    dataset = impl.data.ImageFolderDataset(str(root))
    return {"classes": list(dataset.classes),
            "samples": [[Path(path).relative_to(root).as_posix(), label]
                        for path, label in dataset.samples],
            "targets": [int(t) for t in dataset.targets],
            "items 1, -1": [_item(dataset, i, image=True) for i in (1, -1)]}


def image_folder(impl, *, seed, device):
    """ImageFolderDataset on a folder of real digit images, one sub-folder per class."""
    root = _digit_folder()
    classes = _outcome(lambda: impl.data.find_classes(str(root)))
    dataset = impl.data.ImageFolderDataset(root)
    samples = [[_relative(path), label] for path, label in dataset.samples]
    empty = Path(tempfile.mkdtemp(dir=_workspace()))
    (empty / "only_a_file.txt").write_text("x")
    no_images = Path(tempfile.mkdtemp(dir=_workspace()))
    write_image(no_images / "cats" / "a.png", np.zeros((4, 4), np.uint8))
    (no_images / "dogs").mkdir()
    (no_images / "dogs" / "readme.md").write_text("no images here")
    return {
        "find_classes": classes,
        "classes": list(dataset.classes), "class_to_idx": dict(dataset.class_to_idx),
        "samples": samples, "targets": [int(t) for t in dataset.targets],
        "len": _outcome(lambda: len(dataset)),
        "items 0, 13, -1": [_item(dataset, i, image=True) for i in (0, 13, -1)],
        "root without class folders": _outcome(lambda: impl.data.ImageFolderDataset(empty)
                                               and "accepted"),
        "a class folder without images": _outcome(
            lambda: impl.data.ImageFolderDataset(no_images) and "accepted"),
        "folders reached through symbolic links": _outcome(lambda: _linked_case(impl)),
    }


def csv_dataset(impl, *, seed, device):
    """CSVImageDataset: quoted names with commas, a blank last line, other column names."""
    root = _csv_files()
    dataset = impl.data.CSVImageDataset(root / "labels.csv", root / "images")
    other = impl.data.CSVImageDataset(str(root / "other.csv"), str(root / "images"),
                                      filename_column="file", label_column="target")
    return {
        "len": _outcome(lambda: len(dataset)),
        "labels": _outcome(lambda: [dataset[i][1] for i in range(len(dataset))]),
        "items 0, 1, -1": [_item(dataset, i, image=True) for i in (0, 1, -1)],
        "other columns: len": _outcome(lambda: len(other)),
        "other columns: items 0, -1": [_item(other, i, image=True) for i in (0, -1)],
        "a missing column": _outcome(lambda: impl.data.CSVImageDataset(
            root / "labels.csv", root / "images", label_column="class") and "accepted"),
    }


def collate_cases(impl, *, seed, device):
    """collate on tensors, numbers, strings, dicts, tuples and nested structures."""
    g = torch.Generator().manual_seed(400 + seed)
    images = [torch.rand(3, 4, 5, generator=g) for _ in range(3)]
    batches = {
        "tensors": images,
        "(tensor, int) pairs": [(image, k) for k, image in enumerate(images)],
        "floats": [0.5, 1.25, -2.0],
        "bools": [True, False, True],
        "numpy arrays": [np.arange(6, dtype=np.int32).reshape(2, 3) * k for k in range(2)],
        "dicts": [{"image": image, "label": k, "name": f"img{k}", "weight": 0.5 * k,
                   "flipped": k % 2 == 1} for k, image in enumerate(images)],
        "nested": [([torch.tensor([k, k + 1]), k], {"id": k}) for k in range(4)],
        "lists": [[1, 2.5], [3, 4.5]],
        "a batch of one sample": [(images[0], 7, 0.5, "only")],
        "floats, some written as ints": [0.5, 1, 2],  # the first sample's type decides
    }
    result = {name: _outcome(lambda b=batch: impl.data.collate(b)) for name, batch in batches.items()}
    result["pairs of different lengths"] = _outcome(
        lambda: impl.data.collate([(1, 2), (3,)]) and "accepted")
    return result


def padding(impl, *, seed, device):
    """pad_collate on feature sequences (one of length 0) and on token ids."""
    g = torch.Generator().manual_seed(500 + seed)
    features = [(torch.randn(n, 3, generator=g), k) for k, n in enumerate((5, 0, 3, 7))]
    tokens = [(torch.randint(1, 50, (n,), generator=g), torch.tensor(k % 3))
              for k, n in enumerate((4, 9, 1))]
    return {
        "features": _outcome(lambda: impl.data.pad_collate(features)),
        "tokens, padding_value=-1": _outcome(lambda: impl.data.pad_collate(tokens,
                                                                           padding_value=-1)),
        "one sequence": _outcome(lambda: impl.data.pad_collate(features[2:3])),
    }


class _Indices:
    """A trusted dataset whose item i is i, so batches show the order directly."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return int(i)


def _epochs(loader, count):
    return [[list(batch) for batch in loader] for _ in range(count)]


def sampler_order(impl, *, seed, device):
    """batch_indices alone: sequential, shuffled by a generator, drop_last, bad sizes."""
    g = torch.Generator().manual_seed(600 + seed)
    shuffled = [list(map(int, b)) for b in impl.data.batch_indices(11, 4, True, False, g)]
    after = torch.rand(3, generator=g)  # where the generator stands afterwards
    return {
        "sequential 10 by 3": [list(map(int, b)) for b in impl.data.batch_indices(10, 3)],
        "sequential 10 by 3, drop_last": [list(map(int, b)) for b in
                                          impl.data.batch_indices(10, 3, drop_last=True)],
        "sequential 9 by 3, drop_last": [list(map(int, b)) for b in
                                         impl.data.batch_indices(9, 3, drop_last=True)],
        "shuffled 11 by 4": shuffled, "generator afterwards": after,
        "sequential 4 by 1": [list(map(int, b)) for b in impl.data.batch_indices(4, 1)],
        "sequential 9 by 9": [list(map(int, b)) for b in impl.data.batch_indices(9, 9)],
        "batch_size 0": _outcome(lambda: list(impl.data.batch_indices(5, 0)) and "accepted"),
        "batch_size -2": _outcome(lambda: list(impl.data.batch_indices(5, -2)) and "accepted"),
    }


def loader_order(impl, *, seed, device, n=23, batch_size=5, shuffle=True, drop_last=False,
                 use_generator=True):
    """Three epochs of the DataLoader over items 0..n-1 (collate_fn=list), the batch count,
    and where the random generators stand afterwards."""
    torch.manual_seed(700 + seed)
    generator = torch.Generator().manual_seed(800 + seed) if use_generator else None
    loader = impl.data.DataLoader(_Indices(n), batch_size=batch_size, shuffle=shuffle,
                                  drop_last=drop_last, generator=generator, collate_fn=list)
    epochs = _epochs(loader, 3)
    result = {"len": _outcome(lambda: len(loader)), "epochs": epochs,
              "global generator afterwards": torch.rand(3)}
    if generator is not None:
        result["generator afterwards"] = torch.rand(3, generator=generator)
    result["when the draws happen"] = _draw_timing(impl, seed, n, batch_size, shuffle,
                                                   drop_last, use_generator)
    if not shuffle:
        result.update(_loader_sizes(impl))
    return result


def _peek(generator):
    """Two numbers from where ``generator`` (None: the global one) stands, leaving it there."""
    if generator is None:
        state = torch.get_rng_state()
        numbers = torch.rand(2)
        torch.set_rng_state(state)
        return numbers
    copy = torch.Generator()
    copy.set_state(generator.get_state())
    return torch.rand(2, generator=copy)


def _draw_timing(impl, seed, n, batch_size, shuffle, drop_last, use_generator):
    """Where the generator stands after ``iter(loader)`` and after the first batch: torch
    draws the base seed when the iterator is made and the permutation at the first batch."""
    torch.manual_seed(750 + seed)
    generator = torch.Generator().manual_seed(850 + seed) if use_generator else None
    loader = impl.data.DataLoader(_Indices(n), batch_size=batch_size, shuffle=shuffle,
                                  drop_last=drop_last, generator=generator, collate_fn=list)
    before = _peek(generator)
    iterator = iter(loader)
    made = _peek(generator)
    first = next(iterator, None)
    return {"iter(loader) draws": not torch.equal(before, made),
            "generator after iter(loader)": made, "first batch": first,
            "generator after the first batch": _peek(generator)}


def _loader_sizes(impl):
    """Unshuffled loaders at the edges of len's formula: sizes that divide evenly and not,
    one item past a multiple, no items, batch_size 1 (the default), batch_size 0 rejected."""
    cases = {"20 by 5": (20, 5, False), "20 by 5, drop_last": (20, 5, True),
             "21 by 5": (21, 5, False), "21 by 5, drop_last": (21, 5, True),
             "24 by 5": (24, 5, False), "4 by 5": (4, 5, False),
             "4 by 5, drop_last": (4, 5, True), "0 by 3": (0, 3, False)}
    sizes = {}
    for name, (n, batch_size, drop_last) in cases.items():
        loader = impl.data.DataLoader(_Indices(n), batch_size=batch_size, drop_last=drop_last,
                                      collate_fn=list)
        sizes[name] = {"len": _outcome(lambda: len(loader)), "batches": _epochs(loader, 1)[0]}
    default = impl.data.DataLoader(_Indices(4), collate_fn=list)
    sizes["4, default batch_size 1"] = {"len": _outcome(lambda: len(default)),
                                        "batches": _epochs(default, 1)[0]}
    return {"other sizes": sizes,
            "DataLoader(batch_size=0)": _outcome(
                lambda: (impl.data.DataLoader(_Indices(5), batch_size=0), "accepted")[1]),
            "DataLoader(batch_size=-1)": _outcome(
                lambda: (impl.data.DataLoader(_Indices(5), batch_size=-1), "accepted")[1])}


def loader_end_to_end(impl, *, seed, device):
    """The solution's own CustomDataset + DataLoader + collate on 50 digits, two epochs."""
    images, labels, chosen = _digit_images()
    data = torch.from_numpy(images[chosen]).to(torch.float32).div(255).flatten(1)
    dataset = impl.data.CustomDataset(data, labels[chosen].tolist())
    generator = torch.Generator().manual_seed(900 + seed)
    loader = impl.data.DataLoader(dataset, batch_size=16, shuffle=True, generator=generator)
    return {"len": _outcome(lambda: len(loader)),
            "epochs": [[list(batch) for batch in loader] for _ in range(2)]}


class _RecordingModel(torch.nn.Module):
    """A small MLP that records the rows of each batch it is given."""

    def __init__(self, seed):
        super().__init__()
        g = torch.Generator().manual_seed(1000 + seed)
        self.w1 = torch.nn.Parameter(torch.randn(64, 32, generator=g) / 8)
        self.w2 = torch.nn.Parameter(torch.randn(32, 10, generator=g) / 6)
        self.rows = []

    def forward(self, x):
        self.rows.append(int(x.shape[0]))
        return torch.relu(x @ self.w1) @ self.w2


class _Moved(torch.Tensor):
    """Inputs that note the rows of every tensor moved with ``.to``, ``.cuda`` or ``.cpu``."""
    rows = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.Tensor.to, torch.Tensor.cuda, torch.Tensor.cpu) and args \
                and isinstance(args[0], torch.Tensor):
            cls.rows.append(int(args[0].shape[0]) if args[0].dim() else 1)
        return super().__torch_function__(func, types, args, kwargs or {})


def _largest_transfer(impl, model, inputs, batch_size):
    """Whether any tensor moved to the device held more than one batch of rows."""
    _Moved.rows = []
    try:
        impl.data.predict_in_batches(model, inputs.as_subclass(_Moved), batch_size,
                                     device="cpu")
    finally:
        moved, _Moved.rows = list(_Moved.rows), []
    return {"no transfer larger than one batch": max(moved, default=0) <= batch_size}


def batched_prediction(impl, *, seed, device, batch_size=128):
    """predict_in_batches on all 1,797 digits: outputs, batch sizes, no autograd graph."""
    images, _ = digits()
    inputs = torch.from_numpy(images).to(torch.float32).div(255).flatten(1)
    model = _RecordingModel(seed)
    with torch.no_grad():
        full = model(inputs)
    model.rows.clear()
    outputs = impl.data.predict_in_batches(model, inputs, batch_size)
    rows = list(model.rows)
    model.rows.clear()
    empty = _outcome(lambda: impl.data.predict_in_batches(model, inputs[:0], batch_size))

    def rows_per_call(rows_in, size):  # the outputs, and the rows of each model call
        model.rows.clear()
        out = impl.data.predict_in_batches(model, inputs[:rows_in], size)
        return {"outputs": out.detach() if isinstance(out, torch.Tensor) else out,
                "rows of each model call": list(model.rows)}

    edges = {"5 rows, batch_size 1": _outcome(lambda: rows_per_call(5, 1)),
             "50 rows moved to device='cpu', batch_size 16": _outcome(
                 lambda: _largest_transfer(impl, model, inputs[:50], 16)),
             "1 row, batch_size 1": _outcome(lambda: rows_per_call(1, 1)),
             "7 rows, batch_size 7": _outcome(lambda: rows_per_call(7, 7)),
             "0 rows, batch_size 1": _outcome(lambda: rows_per_call(0, 1))}
    return {
        "outputs": outputs.detach() if isinstance(outputs, torch.Tensor) else outputs,
        "equal to model(inputs) (rtol 1e-5)": isinstance(outputs, torch.Tensor)
        and outputs.shape == full.shape and torch.allclose(outputs, full, rtol=1e-5, atol=1e-6),
        "outputs keep an autograd graph": isinstance(outputs, torch.Tensor)
        and outputs.requires_grad,
        "largest batch the model saw": max(rows, default=0),
        "number of model calls": len(rows),
        "zero rows": empty,
        "small inputs": edges,
    }
