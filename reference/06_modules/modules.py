"""Assignment 06_modules: torch.nn by hand: layers, losses, Sequential and the slides' models.

Tasks (see assignments/06_modules/README.md for the maths):

1. ``Linear``            y = x W^T + b, parameters registered, nn.Linear's initialisation
2. ``ReLU``, ``Flatten``  elementwise max(x, 0); reshape to [N, -1]
3. ``Dropout``           random zeroing in train mode, identity in eval mode
4. ``MSELoss``           mean / sum / none of (pred - target)^2
5. ``CrossEntropyLoss``  class-index targets, stable for large logits
6. ``Sequential``        an ordered container with nn.Sequential's indexing and keys
7. ``SimpleNN``, ``SimpleNet``, ``slides_cnn``   the slides' models, from your parts

Rules: subclass ``torch.nn.Module``. Do not call the layer or loss you are writing,
or its functional form (``nn.Linear``/``F.linear``, ``nn.ReLU``/``F.relu``/``torch.relu``,
``nn.Flatten``, ``nn.Dropout``/``F.dropout``, ``nn.MSELoss``/``F.mse_loss``,
``nn.CrossEntropyLoss``/``F.cross_entropy``/``F.nll_loss``/``log_softmax``/``logsumexp``,
``nn.Sequential``); the grader detects it. ``nn.Conv2d`` and ``nn.MaxPool2d`` are
allowed in ``slides_cnn``, and ``torch.nn.init`` is allowed everywhere.
"""
import math
from collections import OrderedDict

import torch
from torch import nn

REDUCTIONS = ("mean", "sum", "none")


class Linear(nn.Module):
    """``y = x @ W.T + b`` for x of shape [..., in_features].

    ``weight`` [out_features, in_features] and ``bias`` [out_features] (or None when
    ``bias=False``, registered as None so it still appears in the module) are
    ``nn.Parameter``s. Initialise them exactly as ``nn.Linear`` does, so that under
    the same seed both give the same numbers: weight ~ U(-k, k), then bias ~ U(-k, k),
    with k = 1 / sqrt(in_features), drawn in that order with ``Tensor.uniform_``.
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        # TODO task 1: nn.Parameter(torch.empty(...)), then initialise in place.
        ### BEGIN SOLUTION
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias
        ### END SOLUTION


class ReLU(nn.Module):
    """max(x, 0), elementwise; the gradient at exactly 0 is 0, as torch's."""

    def forward(self, x):
        # TODO task 2a
        ### BEGIN SOLUTION
        return torch.where(x > 0, x, torch.zeros_like(x))
        ### END SOLUTION


class Flatten(nn.Module):
    """Merge dims ``start_dim`` .. ``end_dim`` into one: [N, C, H, W] -> [N, C*H*W] by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        # TODO task 2b
        ### BEGIN SOLUTION
        self.start_dim, self.end_dim = start_dim, end_dim
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        start = self.start_dim % x.dim()
        end = self.end_dim % x.dim()
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])
        ### END SOLUTION


class Dropout(nn.Module):
    """In train mode, zero each element with probability ``p`` and scale the rest by
    1 / (1 - p), so the expected value is unchanged; in eval mode, return x as it is.
    p = 1 gives all zeros. ``p`` outside [0, 1] raises ``ValueError``."""

    def __init__(self, p=0.5):
        super().__init__()
        # TODO task 3
        ### BEGIN SOLUTION
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        keep = torch.rand_like(x) >= self.p
        return x * keep / (1.0 - self.p)
        ### END SOLUTION


def _reduce(values, reduction):
    ### BEGIN SOLUTION
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values
    ### END SOLUTION


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


class MSELoss(nn.Module):
    """``(prediction - target) ** 2``, reduced by ``reduction``: "mean" (over every
    element), "sum", or "none" (the elementwise losses). The shapes must be equal:
    a mismatch raises ``ValueError`` (no silent broadcasting)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        # TODO task 4
        ### BEGIN SOLUTION
        _check_reduction(reduction)
        self.reduction = reduction
        ### END SOLUTION

    def forward(self, prediction, target):
        ### BEGIN SOLUTION
        if prediction.shape != target.shape:
            raise ValueError(f"prediction {tuple(prediction.shape)} and target "
                             f"{tuple(target.shape)} must have the same shape")
        return _reduce((prediction - target) ** 2, self.reduction)
        ### END SOLUTION


class CrossEntropyLoss(nn.Module):
    """Cross-entropy of raw scores (logits) [N, C] against class indices [N] (int64).

    loss_i = logsumexp_j(logits[i, j]) - logits[i, target_i], computed stably (shift
    each row by its max) so logits of 1e4 give finite losses and gradients.
    Reduced by ``reduction``: "mean" over N, "sum", or "none" ([N]).
    """

    def __init__(self, reduction="mean"):
        super().__init__()
        # TODO task 5: never exponentiate unshifted logits.
        ### BEGIN SOLUTION
        _check_reduction(reduction)
        self.reduction = reduction
        ### END SOLUTION

    def forward(self, logits, target):
        ### BEGIN SOLUTION
        shift = logits.max(dim=1, keepdim=True).values.detach()
        shifted = logits - shift
        log_normaliser = shifted.exp().sum(dim=1).log()
        picked = shifted.gather(1, target.long().unsqueeze(1)).squeeze(1)
        return _reduce(log_normaliser - picked, self.reduction)
        ### END SOLUTION


class Sequential(nn.Module):
    """Run modules one after the other, like ``nn.Sequential``.

    * ``Sequential(m0, m1, ...)`` registers the modules as children "0", "1", ...;
      ``Sequential(OrderedDict(name=module, ...))`` uses the given names.
    * ``seq[i]`` (negative too) is a module; ``seq[a:b]`` a new Sequential of those
      modules under their original names; ``len``, iteration and ``append(module)``
      (named by the current length) work as for ``nn.Sequential``.
    * Because children are registered (not kept in a Python list), ``parameters()``
      and ``state_dict()`` see them: the keys are those of ``nn.Sequential``.
    """

    def __init__(self, *modules):
        super().__init__()
        # TODO task 6: self.add_module(name, module) registers a child.
        ### BEGIN SOLUTION
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self._modules)
        ### END SOLUTION

    def __iter__(self):
        ### BEGIN SOLUTION
        return iter(self._modules.values())
        ### END SOLUTION

    def __getitem__(self, index):
        ### BEGIN SOLUTION
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[index][1]
        ### END SOLUTION

    def append(self, module):
        ### BEGIN SOLUTION
        self.add_module(str(len(self)), module)
        return self
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        for module in self:
            x = module(x)
        return x
        ### END SOLUTION


class SimpleNN(nn.Module):
    """The slides' SimpleNN: fc1 = Linear(input, hidden), relu = ReLU(), fc2 = Linear(hidden,
    output); forward: fc2(relu(fc1(x))). Attribute names fix the state_dict keys."""

    def __init__(self, input_size=784, hidden_size=500, output_size=10):
        super().__init__()
        # TODO task 7a: build it from your Linear and ReLU.
        ### BEGIN SOLUTION
        self.fc1 = Linear(input_size, hidden_size)
        self.relu = ReLU()
        self.fc2 = Linear(hidden_size, output_size)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.fc2(self.relu(self.fc1(x)))
        ### END SOLUTION


class SimpleNet(nn.Module):
    """The slides' SimpleNet: fc1 = Linear(784, 128), fc2 = Linear(128, 64),
    fc3 = Linear(64, 10); ReLU after fc1 and fc2, none after fc3 (logits)."""

    def __init__(self):
        super().__init__()
        # TODO task 7b
        ### BEGIN SOLUTION
        self.fc1 = Linear(784, 128)
        self.fc2 = Linear(128, 64)
        self.fc3 = Linear(64, 10)
        self.relu = ReLU()
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)
        ### END SOLUTION


def slides_cnn():
    """The slides' CNN for 1 x 28 x 28 images, as your Sequential:

    0 Conv2d(1, 32, 3, padding=1), 1 ReLU, 2 MaxPool2d(2), 3 Conv2d(32, 64, 3, padding=1),
    4 ReLU, 5 MaxPool2d(2), 6 Flatten, 7 Linear(64 * 7 * 7, 128), 8 ReLU, 9 Linear(128, 10).
    (nn.Conv2d and nn.MaxPool2d are torch's; the rest are yours.)
    """
    # TODO task 7c
    ### BEGIN SOLUTION
    return Sequential(nn.Conv2d(1, 32, 3, stride=1, padding=1), ReLU(), nn.MaxPool2d(2, 2),
                      nn.Conv2d(32, 64, 3, stride=1, padding=1), ReLU(), nn.MaxPool2d(2, 2),
                      Flatten(), Linear(64 * 7 * 7, 128), ReLU(), Linear(128, 10))
    ### END SOLUTION
