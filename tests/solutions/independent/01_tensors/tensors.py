"""An independently written, correct 01_tensors solution (not derived from the reference).

It deliberately uses other, equivalent formulations than the obvious ones (``empty`` +
``fill_`` on a fresh tensor, ``select``/``narrow`` instead of subscripts, a Python loop over
``k`` in ``matmul``, ``unflatten``/``movedim`` for the heads, softmax through the shifted
log-softmax, ``vector_norm`` of the broadcast differences). It must score full marks on
every agreement check.
"""
import itertools

import torch


def filled(shape, value, dtype, device):
    """A tensor of ``shape`` where every element is ``value``, with ``dtype`` on ``device``."""
    # A brand-new tensor, so filling it in place touches nobody's data.
    out = torch.empty(torch.Size(shape), dtype=dtype, device=device)
    return out.fill_(value)


def from_values(values, like):
    """A tensor holding the (nested) Python list ``values``, with ``like``'s dtype and device.

    ``torch.tensor([0.5, 1.5])`` alone picks torch's default dtype (float32) and the
    CPU: the result must follow ``like`` instead.
    """
    return torch.as_tensor(values, dtype=like.dtype, device=like.device)


def channel(image, c):
    """Channel ``c`` of an image ``[C, H, W]``: a tensor ``[H, W]``."""
    return image.select(dim=0, index=c)


def pixel(image, y, x):
    """The ``C`` values of the pixel in row ``y`` and column ``x`` of an image ``[C, H, W]``."""
    # Drop the column dimension (2) first, so the row dimension stays at index 1.
    return image.select(dim=2, index=x).select(dim=1, index=y)


def crop(image, top, left, height, width):
    """The ``[C, height, width]`` window of an image ``[C, H, W]`` whose corner is (top, left)."""
    rows = image.narrow(dim=1, start=top, length=height)
    return rows.narrow(dim=2, start=left, length=width)


def hadamard(a, b):
    """The elementwise product of two tensors of exactly the same shape.

    Raises ``ValueError`` when the shapes differ: ``a * b`` alone would broadcast
    ``(N,)`` and ``(N, 1)`` into an ``(N, N)`` result without a word.
    """
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"hadamard needs equal shapes, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return torch.mul(a, b)


def matmul(a, b):
    """Matrix product of ``a [..., n, k]`` and ``b [..., k, m]`` -> ``[..., n, m]``.

    Leading (batch) dimensions broadcast. Use broadcasting and a sum:
    C[i, j] = sum_k A[i, k] * B[k, j]. No matmul, @, mm, bmm or einsum.
    """
    if a.dim() < 2 or b.dim() < 2:
        raise ValueError("matmul needs operands with at least two dimensions")
    n, k = a.shape[-2], a.shape[-1]
    k2, m = b.shape[-2], b.shape[-1]
    if k != k2:
        raise ValueError(f"inner sizes differ: {k} and {k2}")
    batch = broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    dtype = torch.promote_types(a.dtype, b.dtype)
    # Sum of k outer products: column i of a (as [..., n, 1]) times row i of b ([..., 1, m]).
    total = torch.zeros(batch + (n, m), dtype=dtype, device=a.device)
    for i in range(k):
        total = total + a[..., :, i:i + 1] * b[..., i:i + 1, :]
    return total


def split_heads(x, heads):
    """``[B, T, heads * D]`` -> ``[B, heads, T, D]``, as a view of ``x`` (no copy).

    Element (b, h, t, d) of the result is x[b, t, h * D + d].
    """
    features = x.shape[-1]
    if features % heads:
        raise ValueError(f"{features} features do not split into {heads} heads")
    per_head = features // heads
    return x.unflatten(-1, (heads, per_head)).movedim(2, 1)


def merge_heads(y):
    """The inverse of ``split_heads``: ``[B, heads, T, D]`` -> a contiguous ``[B, T, heads * D]``.

    ``y`` is usually not contiguous (it came from a transpose), so ``view`` alone fails.
    """
    return torch.movedim(y, 1, 2).flatten(start_dim=2).contiguous()


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to, as a tuple of ints.

    Align shapes on the right; in each position the sizes must be equal or one of
    them 1 (which stretches). Raise ``RuntimeError`` otherwise, as torch does.
    """
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    reversed_result = []
    for sizes in itertools.zip_longest(*(reversed(s) for s in shapes), fillvalue=1):
        size = 1
        for s in sizes:
            s = int(s)
            if s < 0:
                raise RuntimeError(f"negative size {s} in {shapes}")
            if s == 1:
                continue
            if size == 1:
                size = s
            elif s != size:
                raise RuntimeError(f"shapes {shapes} are not broadcastable: {size} against {s}")
        reversed_result.append(size)
    return tuple(reversed(reversed_result))


def softmax(x, dim):
    """exp(x_i) / sum_j exp(x_j) along ``dim``, without overflow for large inputs.

    Subtracting the maximum first changes nothing mathematically and keeps exp <= 1.
    """
    if x.numel() == 0:
        return x.clone()
    shifted = x - x.max(dim=dim, keepdim=True).values
    # softmax = exp(log_softmax), with log_softmax = shifted - log(sum(exp(shifted))).
    log_norm = shifted.exp().sum(dim=dim, keepdim=True).log()
    return torch.exp(shifted - log_norm)


def logsumexp(x, dim):
    """log(sum_j exp(x_j)) along ``dim`` (that dim removed), stable for large inputs."""
    dim = dim % x.dim() if x.dim() else 0
    if x.dim() and x.shape[dim] == 0:
        reduced = x.shape[:dim] + x.shape[dim + 1:]
        return torch.full(reduced, float("-inf"), dtype=x.dtype, device=x.device)
    if x.numel() == 0:  # an empty tensor whose reduced dim is not empty: empty result
        return x.sum(dim=dim)
    top = x.max(dim=dim, keepdim=True).values
    # An infinite maximum would give inf - inf = nan; shift by 0 there, as torch does.
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    return (x - top).exp().sum(dim=dim).log() + top.squeeze(dim)


def pairwise_distances(x, y):
    """Euclidean distances between the rows of ``x [N, D]`` and ``y [M, D]`` -> ``[N, M]``.

    Vectorized: no Python loop over rows or elements.
    """
    differences = x.unsqueeze(1) - y.unsqueeze(0)          # [N, M, D]
    return torch.linalg.vector_norm(differences, ord=2, dim=-1)
