"""Assignment 01_tensors: creating, indexing, reshaping and combining tensors.

Tasks (see assignments/01_tensors/README.md for the maths):

1. ``filled`` / ``from_values``      create tensors with a given shape, dtype and device
2. ``channel`` / ``pixel`` / ``crop`` index an image tensor [C, H, W]
3. ``hadamard``                       the elementwise product, shapes must match exactly
4. ``matmul``                         batched matrix product from broadcasting and a sum
5. ``split_heads`` / ``merge_heads``  view, transpose, reshape and contiguity
6. ``broadcast_shapes``               torch's broadcasting rule, by hand
7. ``softmax`` / ``logsumexp``        numerically stable, for any dim
8. ``pairwise_distances``             all Euclidean distances, vectorized

Rules: no ``torch.matmul``, ``@``, ``mm``, ``bmm``, ``einsum``, ``torch.softmax``,
``torch.logsumexp``, ``torch.cdist`` or ``torch.broadcast_shapes`` (the grader detects
them). Never modify an input tensor in place.
"""
import torch


def filled(shape, value, dtype, device):
    """A tensor of ``shape`` where every element is ``value``, with ``dtype`` on ``device``."""
    # TODO task 1: one call creates it; pass dtype and device explicitly.
    ### BEGIN SOLUTION
    return torch.full(tuple(shape), value, dtype=dtype, device=device)
    ### END SOLUTION


def from_values(values, like):
    """A tensor holding the (nested) Python list ``values``, with ``like``'s dtype and device.

    ``torch.tensor([0.5, 1.5])`` alone picks torch's default dtype (float32) and the
    CPU: the result must follow ``like`` instead.
    """
    # TODO task 1: torch.tensor(values, dtype=..., device=...).
    ### BEGIN SOLUTION
    return torch.tensor(values, dtype=like.dtype, device=like.device)
    ### END SOLUTION


def channel(image, c):
    """Channel ``c`` of an image ``[C, H, W]``: a tensor ``[H, W]``."""
    # TODO task 2: index the first dimension.
    ### BEGIN SOLUTION
    return image[c]
    ### END SOLUTION


def pixel(image, y, x):
    """The ``C`` values of the pixel in row ``y`` and column ``x`` of an image ``[C, H, W]``."""
    # TODO task 2: rows are dimension 1, columns dimension 2.
    ### BEGIN SOLUTION
    return image[:, y, x]
    ### END SOLUTION


def crop(image, top, left, height, width):
    """The ``[C, height, width]`` window of an image ``[C, H, W]`` whose corner is (top, left)."""
    # TODO task 2: slice rows top..top+height (end excluded) and columns likewise.
    ### BEGIN SOLUTION
    return image[:, top:top + height, left:left + width]
    ### END SOLUTION


def hadamard(a, b):
    """The elementwise product of two tensors of exactly the same shape.

    Raises ``ValueError`` when the shapes differ: ``a * b`` alone would broadcast
    ``(N,)`` and ``(N, 1)`` into an ``(N, N)`` result without a word.
    """
    # TODO task 3: check the shapes, then multiply.
    ### BEGIN SOLUTION
    if a.shape != b.shape:
        raise ValueError(f"hadamard needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a * b
    ### END SOLUTION


def matmul(a, b):
    """Matrix product of ``a [..., n, k]`` and ``b [..., k, m]`` -> ``[..., n, m]``.

    Leading (batch) dimensions broadcast. Use broadcasting and a sum:
    C[i, j] = sum_k A[i, k] * B[k, j]. No matmul, @, mm, bmm or einsum.
    """
    # TODO task 4: line up k with unsqueeze, multiply, sum over k.
    ### BEGIN SOLUTION
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(dim=-2)
    ### END SOLUTION


def split_heads(x, heads):
    """``[B, T, heads * D]`` -> ``[B, heads, T, D]``, as a view of ``x`` (no copy).

    Element (b, h, t, d) of the result is x[b, t, h * D + d].
    """
    # TODO task 5: view to [B, T, heads, D], then swap dims 1 and 2.
    ### BEGIN SOLUTION
    batch, time, width = x.shape
    return x.view(batch, time, heads, width // heads).transpose(1, 2)
    ### END SOLUTION


def merge_heads(y):
    """The inverse of ``split_heads``: ``[B, heads, T, D]`` -> a contiguous ``[B, T, heads * D]``.

    ``y`` is usually not contiguous (it came from a transpose), so ``view`` alone fails.
    """
    # TODO task 5: transpose back, then make it contiguous before viewing (or reshape).
    ### BEGIN SOLUTION
    batch, heads, time, depth = y.shape
    return y.transpose(1, 2).contiguous().view(batch, time, heads * depth)
    ### END SOLUTION


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to, as a tuple of ints.

    Align shapes on the right; in each position the sizes must be equal or one of
    them 1 (which stretches). Raise ``RuntimeError`` otherwise, as torch does.
    """
    # TODO task 6: walk the dimensions from the right.
    ### BEGIN SOLUTION
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for position in range(1, ndim + 1):
        size = 1
        for shape in shapes:
            if position > len(shape) or shape[-position] == 1:
                continue
            if size not in (1, shape[-position]):
                raise RuntimeError(f"shapes {shapes} are not broadcastable at dimension "
                                   f"{-position}: {size} vs {shape[-position]}")
            size = shape[-position]
        result.append(size)
    return tuple(reversed(result))
    ### END SOLUTION


def softmax(x, dim):
    """exp(x_i) / sum_j exp(x_j) along ``dim``, without overflow for large inputs.

    Subtracting the maximum first changes nothing mathematically and keeps exp <= 1.
    """
    # TODO task 7: shift by the max (keepdim=True), exponentiate, normalise.
    ### BEGIN SOLUTION
    if x.numel() == 0:
        return x.clone()
    shifted = x - x.amax(dim=dim, keepdim=True)
    exps = shifted.exp()
    return exps / exps.sum(dim=dim, keepdim=True)
    ### END SOLUTION


def logsumexp(x, dim):
    """log(sum_j exp(x_j)) along ``dim`` (that dim removed), stable for large inputs."""
    # TODO task 7: m + log(sum exp(x - m)), with m the max along dim.
    ### BEGIN SOLUTION
    if x.numel() == 0:
        return x.exp().sum(dim=dim).log()
    peak = x.amax(dim=dim, keepdim=True)
    return peak.squeeze(dim) + (x - peak).exp().sum(dim=dim).log()
    ### END SOLUTION


def pairwise_distances(x, y):
    """Euclidean distances between the rows of ``x [N, D]`` and ``y [M, D]`` -> ``[N, M]``.

    Vectorized: no Python loop over rows or elements.
    """
    # TODO task 8: broadcast x[:, None, :] against y[None, :, :].
    ### BEGIN SOLUTION
    differences = x.unsqueeze(1) - y.unsqueeze(0)
    return differences.pow(2).sum(dim=-1).sqrt()
    ### END SOLUTION
