"""A solution that hands over torch's own implementation of a task scores 0 on that task,
with the FORBIDDEN reason, however it hands it over: the object itself, an import under
the task's name, a ``functools.partial``, a subclass, ``getattr`` with a constant, a module
attribute path, or a module-level ``__getattr__``. The rest of the same file is the
reference, which subclasses what it may (``Optimizer``, ``nn.Module``, ``Dataset``,
``autograd.Function``) and still passes every other check.

08_training asks for nothing torch already has (its loops, checkpoints and classifier
are the student's own), so it has no forbidden names and no case here.
"""
import shutil

import pytest

from autograder import results as R
from autograder.grading import grade

pytestmark = pytest.mark.slow

# assignment -> (lines appended to the reference, checks that must be FORBIDDEN)
CASES = {
    "01_tensors": ("""
import functools as _functools
softmax = torch.softmax
logsumexp = _functools.partial(torch.logsumexp)
from torch import broadcast_shapes
matmul = getattr(torch, "matmul")
pairwise_distances = torch.functional.cdist
""", {"softmax_f32", "softmax_f64", "logsumexp_f32", "logsumexp_f64", "broadcast_shapes",
      "matmul_f32", "matmul_f64", "distances_f32", "distances_f64"}),
    "02_autograd": ("""
_OwnValue = Value
class Value(_OwnValue):
    backward = torch.autograd.backward
""", {"value_engine", "value_backward_twice"}),
    "03_adam": ("""
import functools as _functools
import torch.optim as _optim
from torch.optim import SGD
Adam = _functools.partial(_optim.Adam)
AdamW = getattr(__import__("torch.optim").optim, "AdamW")
""", {"sgd_validation", "sgd_momentum_f64", "sgd_nesterov_f32", "adam_validation", "adam_f64",
      "adam_f32", "adam_amsgrad_f32", "adamw_validation", "adamw_f64", "adam_resume"}),
    "04_data": ("""
from torch.utils.data import DataLoader
from torch.utils.data import default_collate as collate
del ImageFolderDataset
def __getattr__(name):
    if name == "ImageFolderDataset":
        import torchvision
        return torchvision.datasets.ImageFolder
    raise AttributeError(name)
""", {"collate", "image_folder", "loader_shuffle", "loader_drop_last", "loader_global_rng",
      "loader_sequential", "loader_end_to_end"}),
    "05_transforms": ("""
import functools as _functools
from torchvision.transforms import v2 as _v2
Normalize = _v2.Normalize
class RandomHorizontalFlip(_v2.RandomHorizontalFlip):
    pass
rotate = _functools.partial(_v2.functional.rotate)
""", {"normalize", "flip", "rotation_nearest", "rotation_bilinear", "pipeline", "joint"}),
    "06_modules": ("""
import functools as _functools
Linear = nn.Linear
class ReLU(nn.ReLU):
    pass
CrossEntropyLoss = _functools.partial(torch.nn.modules.loss.CrossEntropyLoss)
""", {"linear", "activations", "cross_entropy_loss", "sequential", "simple_nn", "simple_net",
      "slides_cnn"}),
    "07_cuda": ("""
one_hot = torch.nn.functional.one_hot
""", {"device_agnostic"}),
}


@pytest.mark.parametrize("assignment_id", sorted(CASES))
def test_reexporting_torchs_implementation_is_forbidden(tmp_path, kit_root, manifest,
                                                        assignment_id):
    appended, forbidden = CASES[assignment_id]
    assignment = manifest.assignment(assignment_id)
    tree = tmp_path / "tree"
    shutil.copytree(kit_root / "reference" / assignment_id, tree / assignment_id)
    path = tree / assignment_id / assignment.files[0]
    path.write_text(path.read_text() + "\n" + appended)
    checks = [c.id for c in assignment.checks if c.kind == "agreement" and c.device == "cpu"]
    report = grade(assignment_id, tree, checks=checks, cuda=False)
    got = {r.check: r for r in report.results}
    wrong = [(c, got[c].status, got[c].reason) for c in forbidden
             if got[c].status != R.FORBIDDEN or got[c].points]
    assert wrong == []
    for check in forbidden:
        assert "which this assignment asks you to write yourself" in got[check].reason
    others = [(r.check, r.status, r.reason) for r in report.results
              if r.check not in forbidden and r.status != R.PASSED]
    assert others == []
