"""A correct 06_modules solution written independently of the reference, the way a
careful student might: torch.nn.init for the uniform draws, matmul with a transposed
weight, a ReLU by torch.where, Dropout from a uniform draw compared with p, a
cross-entropy with an explicit max shift and a one-hot pick, and a Sequential that
walks self._modules. It must score full marks on every agreement check
(tests/test_selfcheck.py)."""
import math
import numbers
from collections import OrderedDict

import torch
from torch import nn

REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- task 1
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
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = nn.Parameter(torch.empty(self.out_features, self.in_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(self.out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        # nn.init.uniform_ draws with Tensor.uniform_ under no_grad: weight first, then bias
        nn.init.uniform_(self.weight, a=-bound, b=bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, a=-bound, b=bound)

    def forward(self, x):
        y = torch.matmul(x, self.weight.transpose(0, 1))
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


# --------------------------------------------------------------------------- task 2
class ReLU(nn.Module):
    """max(x, 0), elementwise; the gradient at exactly 0 is 0, as torch's."""

    def forward(self, x):
        # where(x > 0, ...) routes the gradient only through strictly positive entries
        return torch.where(x > 0, x, torch.zeros_like(x))


class Flatten(nn.Module):
    """Merge dims ``start_dim`` .. ``end_dim`` into one: [N, C, H, W] -> [N, C*H*W] by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        rank = x.dim()
        start = self.start_dim % rank if rank else 0
        end = self.end_dim % rank if rank else 0
        if start > end:
            raise ValueError(f"start_dim {self.start_dim} comes after end_dim {self.end_dim}")
        merged = 1
        for size in x.shape[start:end + 1]:
            merged *= size
        new_shape = tuple(x.shape[:start]) + (merged,) + tuple(x.shape[end + 1:])
        return x.reshape(new_shape)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# --------------------------------------------------------------------------- task 3
class Dropout(nn.Module):
    """In train mode, zero each element with probability ``p`` and scale the rest by
    1 / (1 - p), so the expected value is unchanged; in eval mode, return x as it is.
    p = 1 gives all zeros. ``p`` outside [0, 1] raises ``ValueError``."""

    def __init__(self, p=0.5):
        super().__init__()
        if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        # an element survives when its uniform draw lands at or above p: probability 1 - p
        keep = torch.rand(x.shape, dtype=torch.float32, device=x.device) >= self.p
        return x * keep.to(x.dtype) / (1.0 - self.p)

    def extra_repr(self):
        return f"p={self.p}"


def _reduce(values, reduction):
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    return total / values.numel()


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


# --------------------------------------------------------------------------- task 4
class MSELoss(nn.Module):
    """``(prediction - target) ** 2``, reduced by ``reduction``: "mean" (over every
    element), "sum", or "none" (the elementwise losses). The shapes must be equal:
    a mismatch raises ``ValueError`` (no silent broadcasting)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction

    def forward(self, prediction, target):
        if prediction.shape != target.shape:
            raise ValueError(f"prediction {tuple(prediction.shape)} and target "
                             f"{tuple(target.shape)} must have the same shape")
        error = prediction - target
        return _reduce(error * error, self.reduction)


# --------------------------------------------------------------------------- task 5
class CrossEntropyLoss(nn.Module):
    """Cross-entropy of raw scores (logits) [N, C] against class indices [N] (int64).

    loss_i = logsumexp_j(logits[i, j]) - logits[i, target_i], computed stably (shift
    each row by its max) so logits of 1e4 give finite losses and gradients.
    Reduced by ``reduction``: "mean" over N, "sum", or "none" ([N]).
    """

    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction

    def forward(self, logits, target):
        if logits.dim() != 2 or target.dim() != 1 or target.shape[0] != logits.shape[0]:
            raise ValueError(f"expected logits [N, C] and target [N], got "
                             f"{tuple(logits.shape)} and {tuple(target.shape)}")
        # the shift is a constant for autograd: its gradient would cancel anyway
        row_max = logits.detach().amax(dim=1, keepdim=True)
        shifted = logits - row_max
        log_total = torch.log(torch.exp(shifted).sum(dim=1))              # [N]
        one_hot = torch.zeros_like(logits, dtype=torch.bool)
        one_hot[torch.arange(logits.shape[0], device=logits.device), target] = True
        picked = torch.where(one_hot, shifted, torch.zeros_like(shifted)).sum(dim=1)
        losses = log_total - picked                                        # max cancels out
        if self.reduction == "mean":
            return losses.sum() / logits.shape[0]
        return _reduce(losses, self.reduction)


# --------------------------------------------------------------------------- task 6
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
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            position = 0
            while position < len(modules):
                self.add_module(str(position), modules[position])
                position += 1

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))

    def __getitem__(self, index):
        entries = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(entries[index]))
        index = int(index)
        count = len(entries)
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for a Sequential of {count}")
        return entries[index + count if index < 0 else index][1]

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


# --------------------------------------------------------------------------- task 7
class SimpleNN(nn.Module):
    """The slides' SimpleNN: fc1 = Linear(input, hidden), relu = ReLU(), fc2 = Linear(hidden,
    output); forward: fc2(relu(fc1(x))). Attribute names fix the state_dict keys."""

    def __init__(self, input_size=784, hidden_size=500, output_size=10):
        super().__init__()
        self.fc1 = Linear(in_features=input_size, out_features=hidden_size)
        self.relu = ReLU()
        self.fc2 = Linear(in_features=hidden_size, out_features=output_size)

    def forward(self, x):
        hidden = self.relu(self.fc1(x))
        return self.fc2(hidden)


class SimpleNet(nn.Module):
    """The slides' SimpleNet: fc1 = Linear(784, 128), fc2 = Linear(128, 64),
    fc3 = Linear(64, 10); ReLU after fc1 and fc2, none after fc3 (logits)."""

    def __init__(self):
        super().__init__()
        self.fc1 = Linear(784, 128)
        self.fc2 = Linear(128, 64)
        self.fc3 = Linear(64, 10)
        self.act = ReLU()  # parameter-free, so the state_dict keys stay fc1/fc2/fc3

    def forward(self, x):
        for layer in (self.fc1, self.fc2):
            x = self.act(layer(x))
        return self.fc3(x)


def slides_cnn():
    """The slides' CNN for 1 x 28 x 28 images, as your Sequential:

    0 Conv2d(1, 32, 3, padding=1), 1 ReLU, 2 MaxPool2d(2), 3 Conv2d(32, 64, 3, padding=1),
    4 ReLU, 5 MaxPool2d(2), 6 Flatten, 7 Linear(64 * 7 * 7, 128), 8 ReLU, 9 Linear(128, 10).
    (nn.Conv2d and nn.MaxPool2d are torch's; the rest are yours.)
    """
    layers = []
    channels = 1
    for width in (32, 64):
        layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), ReLU(),
                   nn.MaxPool2d(kernel_size=2)]
        channels = width
    layers += [Flatten(), Linear(channels * 7 * 7, 128), ReLU(), Linear(128, 10)]
    return Sequential(*layers)
