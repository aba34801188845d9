"""Trusted scenarios of 08_training. Each takes an implementation and returns plain data.

``impl.training`` is the solution's module. The end-to-end run uses the parts the
same solution tree wrote in earlier assignments (``04_data/data.py``,
``06_modules/modules.py``, ``03_adam/optimizers.py``), each after a short probe
against torch: a part that is missing, raises, or disagrees with torch is replaced
by torch's own, so one earlier mistake is not punished twice. Which parts were
replaced is reported to the student as a note (notes are shown, never compared).

The data is scikit-learn's 1,797 digits (8 x 8, 10 classes), split once into
1,437 training and 360 held-out images.
"""
import functools
import importlib.util
import random
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from autograder.sample_data import digits
from autograder.worker import StudentLoadError

ACCURACY_THRESHOLD = 0.95
EPOCHS = 12
NOTES = "__notes__"


def _outcome(call):
    try:
        return call()
    except (NotImplementedError, StudentLoadError):
        raise
    except Exception as error:  # the contract names which exception
        return f"raises {type(error).__name__}"


@functools.lru_cache(maxsize=1)
def _split():
    """(train, test) pairs of float32 [N, 64] images in [0, 1] and int64 labels."""
    images, labels = digits()
    x = torch.from_numpy(images).to(torch.float32).div(255).flatten(1)
    y = torch.from_numpy(labels)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(2600))
    train, test = order[:1437], order[1437:]
    return (x[train], y[train]), (x[test], y[test])


# --- the parts from earlier assignments, each probed against torch ---------------------

def _load_module(path):
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent.name}/{path.name} not found")
    name = f"_earlier_{path.parent.name}_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _TensorDataset(torch.utils.data.Dataset):
    """torch's stand-in for CustomDataset."""

    def __init__(self, data, labels):
        self.data, self.labels = data, torch.as_tensor(labels).to(torch.int64)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self.data[index], self.labels[index]


TORCH_PARTS = {"CustomDataset": _TensorDataset, "DataLoader": torch.utils.data.DataLoader,
               "Sequential": nn.Sequential, "Linear": nn.Linear, "ReLU": nn.ReLU,
               "CrossEntropyLoss": nn.CrossEntropyLoss, "Adam": torch.optim.Adam}


def _probe_data(data):
    g = torch.Generator()
    x = torch.randn(23, 4, generator=g.manual_seed(1))
    y = torch.randint(0, 3, (23,), generator=g)
    mine = data.DataLoader(data.CustomDataset(x, y.tolist()), batch_size=5, shuffle=True,
                           generator=torch.Generator().manual_seed(5))
    theirs = torch.utils.data.DataLoader(_TensorDataset(x, y), batch_size=5, shuffle=True,
                                         generator=torch.Generator().manual_seed(5))
    for _ in range(2):
        for (a, b), (c, d) in zip(mine, theirs, strict=True):
            assert torch.equal(a, c) and torch.equal(b, d) and b.dtype == d.dtype


def _probe_layers(modules, name):
    x = torch.randn(7, 6, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(3)
    if name == "Linear":
        mine, theirs = modules.Linear(6, 5), None
        torch.manual_seed(3)
        theirs = nn.Linear(6, 5)
    elif name == "ReLU":
        mine, theirs = modules.ReLU(), nn.ReLU()
    else:
        torch.manual_seed(3)
        mine = modules.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        torch.manual_seed(3)
        theirs = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        assert list(mine.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for p, q in zip(mine.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a, out_b = mine(a), theirs(b)
    torch.testing.assert_close(out_a, out_b)
    out_a.pow(2).sum().backward()
    out_b.pow(2).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)


def _probe_loss(modules):
    g = torch.Generator().manual_seed(4)
    logits = (1000 * torch.randn(9, 5, generator=g)).requires_grad_()
    target = torch.randint(0, 5, (9,), generator=g)
    mine = modules.CrossEntropyLoss()(logits, target)
    mine.backward()
    grad, logits.grad = logits.grad, None
    theirs = F.cross_entropy(logits, target)
    theirs.backward()
    torch.testing.assert_close(mine, theirs)
    torch.testing.assert_close(grad, logits.grad)


def _probe_adam(optimizers):
    # One tensor with gradients near 1e-4, where eps's place in the denominator shows,
    # weight decay, and several steps, where the bias correction shows.
    g = torch.Generator().manual_seed(6)
    start = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    targets = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    scales = (1.0, 1e-4)
    runs = []
    for cls in (optimizers.Adam, torch.optim.Adam):
        params = [p.clone().requires_grad_() for p in start]
        opt = cls(params, lr=0.01, weight_decay=0.01)
        for _ in range(6):
            opt.zero_grad()
            sum(scale * ((p - t) ** 2).sum()
                for scale, p, t in zip(scales, params, targets)).backward()
            opt.step()
        runs.append([p.detach() for p in params])
    for a, b in zip(*runs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


@functools.lru_cache(maxsize=8)
def _parts_for(root):
    """The parts of the solution tree at ``root``, and one note per replaced part."""
    root = Path(root)
    chosen, notes = dict(TORCH_PARTS), []

    def attempt(names, file, probe):
        where = f"{file.parent.name}/{file.name}"
        try:
            module = _load_module(root / file)
            probe(module)
            for name in names:
                chosen[name] = getattr(module, name)
        except Exception as error:  # anything wrong with the earlier part: use torch's
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            why = f"{type(error).__name__}{': ' + first[:120] if first else ''}"
            notes.append(f"torch's {' and '.join(names)} used instead of yours from {where} "
                         f"({why})")

    attempt(("CustomDataset", "DataLoader"), Path("04_data/data.py"), _probe_data)
    for name in ("Linear", "ReLU", "Sequential"):
        attempt((name,), Path("06_modules/modules.py"),
                lambda module, n=name: _probe_layers(module, n))
    attempt(("CrossEntropyLoss",), Path("06_modules/modules.py"), _probe_loss)
    attempt(("Adam",), Path("03_adam/optimizers.py"), _probe_adam)
    return SimpleNamespace(**chosen), notes


# --- the checks ------------------------------------------------------------------------

def seeding(impl, *, seed, device):
    """After set_seed: the next numbers of Python's, numpy's and torch's generators."""
    result = {}
    for s in (0, 1234 + seed):
        # a known state beforehand, so a generator the solution leaves unseeded gives
        # the same (wrong) numbers each time and the mistake can be recognised
        random.seed(777)
        np.random.seed(777)
        torch.manual_seed(777)
        impl.training.set_seed(s)
        result[f"seed {s}"] = {"random": [random.random() for _ in range(3)],
                               "numpy": torch.from_numpy(np.random.rand(3)),
                               "torch": torch.rand(3)}
    return result


def _model(seed, dropout=0.2):
    torch.manual_seed(2700 + seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 10))


def _loader(data, seed, batch_size=64, shuffle=True):
    generator = torch.Generator().manual_seed(2800 + seed)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data),
                                       batch_size=batch_size, shuffle=shuffle,
                                       generator=generator), generator


def _grad_recorder(model):
    seen = []
    model.register_forward_hook(lambda *_: seen.append(torch.is_grad_enabled()))
    return seen


def one_epoch(impl, *, seed, device):
    """train_one_epoch with torch's parts: the model starts in eval mode; the mean loss
    (1,437 samples in batches of 64, the last one smaller), the weights afterwards."""
    train, _ = _split()
    model = _model(seed)
    model.eval()
    loader, _ = _loader(train, seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.manual_seed(2900 + seed)  # dropout's draws
    loss = impl.training.train_one_epoch(model, loader, nn.CrossEntropyLoss(), optimizer)
    return {"mean loss": loss, "type of the mean loss": type(loss).__name__,
            "weights afterwards": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "model in training mode afterwards": model.training}


def evaluation(impl, *, seed, device):
    """evaluate on the held-out images, the model left in training mode by the caller:
    loss, accuracy, and whether any forward pass ran with autograd on."""
    _, test = _split()
    model = _model(seed, dropout=0.5)
    model.train()
    grad_modes = _grad_recorder(model)
    loader, _ = _loader(test, seed, batch_size=50, shuffle=False)
    torch.manual_seed(3000 + seed)
    out = _outcome(lambda: impl.training.evaluate(model, loader, nn.CrossEntropyLoss()))
    return {"(loss, accuracy)": list(out) if isinstance(out, tuple) else out,
            "a forward ran with autograd on": any(grad_modes),
            "gradients untouched": all(p.grad is None for p in model.parameters())}


def resume(impl, *, seed, device):
    """Two epochs, save, then two more, against a fresh model, optimizer and generator
    that load the checkpoint and train the same two epochs: equal or not."""
    train, _ = _split()
    loss_fn = nn.CrossEntropyLoss()

    def setup():
        model = _model(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loader, generator = _loader(train, seed)
        return model, optimizer, loader, generator

    def run(parts, epochs):
        for _ in range(epochs):
            impl.training.train_one_epoch(parts[0], parts[2], loss_fn, parts[1])

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.pt"
        first = setup()
        torch.manual_seed(3100 + seed)
        run(first, 2)
        saved_rng, saved_order = torch.get_rng_state(), first[3].get_state()
        impl.training.save_checkpoint(path, first[0], first[1], 2, first[3])
        run(first, 2)
        loads_as_data = _outcome(lambda: isinstance(torch.load(path, weights_only=True), dict))
        second = setup()
        torch.manual_seed(999)  # a different global state: the checkpoint must restore it
        loads = []
        real_load = torch.load

        def recording_load(*args, **kwargs):   # the task: load with weights_only=True
            loads.append(kwargs.get("weights_only", "default"))
            return real_load(*args, **kwargs)

        torch.load = recording_load
        try:
            epoch = _outcome(lambda: impl.training.load_checkpoint(path, second[0], second[1],
                                                                   second[3]))
        finally:
            torch.load = real_load
        # probes: which part of the state came back (each missing part has its own mistake)
        restored = {"torch's global random state": torch.equal(torch.get_rng_state(), saved_rng),
                    "the loader's generator": torch.equal(second[3].get_state(), saved_order),
                    "the optimizer's state": bool(second[1].state_dict()["state"])}
        run(second, 2)
        # a checkpoint saved with a generator loads without one too (generator=None)
        third = setup()
        without_generator = _outcome(lambda: impl.training.load_checkpoint(path, third[0],
                                                                           third[1]))
    same = all(torch.equal(a, b) for a, b in zip(first[0].state_dict().values(),
                                                 second[0].state_dict().values()))
    # a probe, not the contract's core: the uninterrupted run's own weights tell a training
    # loop that is wrong (no zero_grad, say) from a checkpoint that is
    uninterrupted = {k: v.detach().clone() for k, v in first[0].state_dict().items()}
    return {"the uninterrupted run's weights after 4 epochs": uninterrupted,
            "returned epoch": epoch, "a dict that loads with weights_only=True": loads_as_data,
            "load_checkpoint never loads with weights_only=False": False not in loads,
            "returned epoch when loaded without a generator": without_generator,
            "resumed weights equal the uninterrupted run's": same,
            "restored by load_checkpoint": restored,
            "resumed optimizer step count": _outcome(
                lambda: float(second[1].state_dict()["state"][0]["step"]))}


def digits_run(impl, *, seed, device):
    """The classifier end to end with the solution's parts (or torch's where one fails):
    12 epochs of Adam on 1,437 digits; graded on held-out accuracy."""
    parts, notes = _parts_for(str(impl.folder.parent))
    train, test = _split()
    impl.training.set_seed(3200 + seed)
    generator = torch.Generator().manual_seed(3300 + seed)
    train_loader, test_loader = impl.training.make_loaders(parts, train, test, 32, generator)
    seen_labels = torch.cat([torch.as_tensor(labels) for _, labels in test_loader])
    model = impl.training.build_classifier(parts)
    optimizer = parts.Adam(model.parameters(), lr=1e-3)
    history = impl.training.fit(model, train_loader, test_loader, parts.CrossEntropyLoss(),
                                optimizer, EPOCHS)
    model.eval()
    with torch.no_grad():
        outputs = model(test[0])
    accuracy = float((outputs.argmax(dim=1) == test[1]).float().mean())
    looks_like_probabilities = bool((outputs >= 0).all() and (outputs <= 1).all()
                                    and torch.allclose(outputs.sum(dim=1),
                                                       torch.ones(len(outputs)), atol=1e-4))
    notes = [f"held-out accuracy {accuracy:.3f} after {EPOCHS} epochs "
             f"(the threshold is {ACCURACY_THRESHOLD})"] + notes
    last = history[-1] if isinstance(history, list) and history else {}
    test_loss = float(F.cross_entropy(outputs, test[1]))
    train_losses = [entry.get("train_loss") for entry in history] \
        if isinstance(history, list) and all(isinstance(e, dict) for e in history) else []
    return {
        f"held-out accuracy >= {ACCURACY_THRESHOLD}": accuracy >= ACCURACY_THRESHOLD,
        "the test loader yields every test label, in order": bool(
            seen_labels.shape == test[1].shape and torch.equal(seen_labels, test[1])),
        "the classifier outputs probabilities instead of logits": looks_like_probabilities,
        "history has one entry per epoch": isinstance(history, list) and len(history) == EPOCHS,
        "history's last test_accuracy equals the model's": abs(
            float(last.get("test_accuracy", -1)) - accuracy) < 1e-6,
        "history's last test_loss is the model's mean loss per test sample": abs(
            float(last.get("test_loss", -1)) - test_loss) <= 1e-5 * max(1.0, test_loss),
        "every train_loss is a positive float, and the last is below the first": bool(
            len(train_losses) == EPOCHS and all(isinstance(v, float) and v > 0
                                                for v in train_losses)
            and train_losses[-1] < train_losses[0]),
        NOTES: notes,
    }


def _recording_parts(log):
    """torch's parts, each noting how it was built, so a check sees what ``parts`` the
    solution used (and how), whatever the spelling of the arguments."""

    class Linear(nn.Linear):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            log.append(f"Linear({self.in_features}, {self.out_features})")

    class ReLU(nn.ReLU):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            log.append("ReLU()")

    class Sequential(nn.Sequential):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            log.append(f"Sequential of {len(self)}: "
                       + ", ".join(type(m).__name__ for m in self))

    class CustomDataset(_TensorDataset):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            log.append(f"CustomDataset of {len(self)}")

    class DataLoader(torch.utils.data.DataLoader):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            sampler = self.sampler
            log.append({"dataset": type(self.dataset).__name__, "samples": len(self.dataset),
                        "batch_size": self.batch_size, "drop_last": self.drop_last,
                        "shuffles": isinstance(sampler, torch.utils.data.RandomSampler),
                        "draws from the given generator": getattr(sampler, "generator", None)
                        is DataLoader.given or self.generator is DataLoader.given})

    return SimpleNamespace(Linear=Linear, ReLU=ReLU, Sequential=Sequential,
                           CustomDataset=CustomDataset, DataLoader=DataLoader,
                           CrossEntropyLoss=nn.CrossEntropyLoss, Adam=torch.optim.Adam)


def classifier_parts(impl, *, seed, device):
    """build_classifier with hidden=24 and make_loaders, from recording parts: which parts
    were built and how, the classifier's output, the loaders' settings, and the order of
    the training loader's first epoch against one drawn from the same generator."""
    train, test = _split()
    log = []
    parts = _recording_parts(log)
    result = {}
    torch.manual_seed(3400 + seed)
    model = _outcome(lambda: impl.training.build_classifier(parts, hidden=24))
    result["build_classifier(parts, hidden=24) built"] = list(log)
    if isinstance(model, nn.Module):
        with torch.no_grad():
            out = model(test[0][:5])
        result["output shape for 5 images"] = list(out.shape)
        result["output is logits (some negative)"] = bool((out < 0).any())
    else:
        result["build_classifier returned"] = str(model)
    log.clear()
    generator = torch.Generator().manual_seed(3500 + seed)
    parts.DataLoader.given = generator
    state = generator.get_state()
    loaders = _outcome(lambda: impl.training.make_loaders(parts, train, test, 50, generator))
    result["make_loaders built"] = list(log)
    if isinstance(loaders, tuple) and len(loaders) == 2:
        replay = torch.Generator()
        replay.set_state(state)
        order = torch.utils.data.DataLoader(_TensorDataset(*train), batch_size=50,
                                            shuffle=True, generator=replay)
        expected = torch.cat([labels for _, labels in order])
        got = torch.cat([torch.as_tensor(labels) for _, labels in loaders[0]])
        result["the training loader's first epoch follows the generator"] = bool(
            got.shape == expected.shape and torch.equal(got, expected))
    else:
        result["make_loaders returned"] = str(loaders)
    return result


def epoch_speed(impl, *, seed, device):
    """A timed callable: one train_one_epoch over 1,437 digits with torch's parts."""
    train, _ = _split()
    model = _model(seed)
    loader, _ = _loader(train, seed, batch_size=32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    return lambda: impl.training.train_one_epoch(model, loader, loss_fn, optimizer)
