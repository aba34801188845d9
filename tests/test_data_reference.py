"""The reference of 04_data equals torch and torchvision, since students are graded against it:
DataLoader's batch order and random-number use, default_collate, pad_sequence, ImageFolder."""
import importlib.util

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, default_collate

from tests.conftest import KIT_ROOT


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


data = _load(KIT_ROOT / "reference" / "04_data" / "data.py", "reference_04_data")


@pytest.fixture(scope="module")
def scenarios():
    module = _load(KIT_ROOT / "assignments" / "04_data" / "scenarios.py", "scenarios_04_data")
    yield module
    module.cleanup()


def _epochs(loader, count=3):
    return [[list(map(int, batch)) for batch in loader] for _ in range(count)]


@pytest.mark.parametrize("n, batch_size, drop_last", [(23, 5, False), (23, 5, True), (20, 5, False),
                                                      (3, 8, False), (3, 8, True), (1, 1, False)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_loader_order_and_generator_state_equal_torch(n, batch_size, drop_last, shuffle):
    mine_g, torch_g = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    mine = data.DataLoader(list(range(n)), batch_size=batch_size, shuffle=shuffle,
                           drop_last=drop_last, generator=mine_g, collate_fn=list)
    theirs = DataLoader(list(range(n)), batch_size=batch_size, shuffle=shuffle,
                        drop_last=drop_last, generator=torch_g, collate_fn=list)
    assert _epochs(mine) == _epochs(theirs)
    assert len(mine) == len(theirs)
    assert torch.equal(torch.rand(3, generator=mine_g), torch.rand(3, generator=torch_g))


@pytest.mark.parametrize("shuffle", [True, False])
def test_loader_without_generator_uses_the_global_rng_like_torch(shuffle):
    results = []
    for cls in (data.DataLoader, DataLoader):
        torch.manual_seed(5)
        loader = cls(list(range(17)), batch_size=4, shuffle=shuffle, collate_fn=list)
        results.append((_epochs(loader), torch.rand(3)))
    assert results[0][0] == results[1][0]
    assert torch.equal(results[0][1], results[1][1])


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("batch", [
    [torch.arange(6).reshape(2, 3) * k for k in range(3)],
    [1, 2, 3], [0.5, 1.5], [True, False],
    [np.arange(4, dtype=np.int32) * k for k in range(2)],
    [(torch.ones(2) * k, k) for k in range(3)],
    [{"x": torch.zeros(2) + k, "y": {"z": k, "w": 0.5 * k}, "name": f"s{k}"} for k in range(3)],
    [[1, 2.5], [3, 4.5]],
    [([torch.tensor([k, k + 1]), k], {"id": k}) for k in range(4)],
], ids=["tensors", "ints", "floats", "bools", "numpy", "pairs", "dicts", "lists", "nested"])
def test_collate_equals_default_collate(batch):
    _same(data.collate(batch), default_collate(batch))


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_pad_collate_equals_pad_sequence(value):
    g = torch.Generator().manual_seed(3)
    for shapes in ([(5, 3), (0, 3), (2, 3)], [(4,), (9,), (1,)]):
        sequences = [torch.randn(*s, generator=g) for s in shapes]
        padded, lengths, labels = data.pad_collate([(s, k) for k, s in enumerate(sequences)],
                                                   padding_value=value)
        expected = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True,
                                                   padding_value=value)
        assert torch.equal(padded, expected)
        assert lengths.tolist() == [s[0] for s in shapes] and lengths.dtype == torch.int64
        assert labels.tolist() == list(range(len(shapes))) and labels.dtype == torch.int64


def test_image_folder_equals_torchvision(scenarios):
    from torchvision.datasets import ImageFolder
    from torchvision.datasets.folder import find_classes
    root = scenarios._digit_folder()
    mine, theirs = data.ImageFolderDataset(root), ImageFolder(str(root))
    assert mine.classes == theirs.classes
    assert mine.class_to_idx == theirs.class_to_idx
    assert mine.samples == theirs.samples
    assert mine.targets == theirs.targets
    assert data.find_classes(str(root)) == find_classes(str(root))
    for index in (0, 13, len(theirs) - 1):
        (a, label_a), (b, label_b) = mine[index], theirs[index]
        assert np.array_equal(np.array(a), np.array(b)) and int(label_a) == label_b


def test_image_folder_without_classes_raises_like_torchvision(tmp_path):
    from torchvision.datasets import ImageFolder
    (tmp_path / "file.txt").write_text("x")
    for build in (data.ImageFolderDataset, ImageFolder):
        with pytest.raises(FileNotFoundError):
            build(str(tmp_path))


@pytest.mark.parametrize("batch_size", [1, 7, 128, 5000])
def test_predict_in_batches_equals_the_unbatched_model(batch_size):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    inputs = torch.randn(300, 64)
    out = data.predict_in_batches(model, inputs, batch_size)
    torch.testing.assert_close(out, model(inputs).detach())
    assert not out.requires_grad


def test_normalize_index_agrees_with_a_list():
    items = list(range(5))
    for index in range(-8, 8):
        try:
            expected = items[index]
        except IndexError:
            with pytest.raises(IndexError):
                data.normalize_index(index, 5)
        else:
            assert data.normalize_index(index, 5) == expected
