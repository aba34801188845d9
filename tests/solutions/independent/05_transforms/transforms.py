"""A correct 05_transforms solution written independently of the reference, the way a
careful student might: index-tensor padding for every mode (including constant), an
explicitly built rotation grid, a crop-and-flip batch augmentation that reads the
original image with a validity mask instead of padding it first. It must score full
marks on every agreement check (tests/test_selfcheck.py)."""
import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F


def _returns(image, mask):
    return image if mask is None else (image, mask)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --------------------------------------------------------------------------- task 1
class ToImage:
    """A PIL image or a numpy array -> a uint8 tensor of shape [C, H, W].

    * PIL images: modes "L" (1 channel), "RGB" (3) and "RGBA" (4).
    * numpy arrays: [H, W] -> [1, H, W]; [H, W, C] -> [C, H, W].
    * tensors: [H, W] -> [1, H, W]; anything else is returned unchanged.
    The result does not share memory with a numpy input. A mask is returned unchanged.
    """

    def __call__(self, image, mask=None):
        if isinstance(image, torch.Tensor):
            if image.dim() == 2:
                image = image.reshape(1, *image.shape)
            return _returns(image, mask)
        if not isinstance(image, np.ndarray):
            # a PIL image (or anything numpy understands as an array)
            image = np.asarray(image)
        if image.ndim not in (2, 3):
            raise ValueError(f"expected an [H, W] or [H, W, C] array, got shape {image.shape}")
        # torch.tensor always copies, so the result never shares memory with the array
        tensor = torch.tensor(np.ascontiguousarray(image))
        if tensor.dim() == 2:
            tensor = tensor.unsqueeze(0)
        else:
            tensor = tensor.permute(2, 0, 1).contiguous()
        return _returns(tensor, mask)


# --------------------------------------------------------------------------- task 2
class ToDtype:
    """Convert an image tensor to ``dtype``; with ``scale=True`` also rescale its values.

    * same dtype: returned unchanged;
    * ``scale=False``: a plain cast (``image.to(dtype)``);
    * ``scale=True``, integer -> float: 0..max of the integer type maps to 0..1,
      by ``image.to(dtype).mul_(1.0 / max)`` (max is 255 for uint8);
    * ``scale=True``, float -> float: a plain cast (both are 0..1);
    * ``scale=True``, float -> uint8: ``image.mul(255 + 1.0 - 1e-3).to(torch.uint8)``,
      so that values just under 1.0 still reach 255.
    Other conversions with ``scale=True`` (int -> int, float -> int16 ...) raise
    ``TypeError``. A mask is returned unchanged.
    """

    def __init__(self, dtype, scale=False):
        if not isinstance(dtype, torch.dtype):
            raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")
        self.dtype = dtype
        self.scale = bool(scale)

    def __call__(self, image, mask=None):
        source, target = image.dtype, self.dtype
        if source == target:
            return _returns(image, mask)
        if not self.scale:
            return _returns(image.to(target), mask)
        source_float, target_float = source.is_floating_point, target.is_floating_point
        if target_float and source_float:
            out = image.to(target)
        elif target_float:
            top = 1 if source == torch.bool else torch.iinfo(source).max
            factor = 1.0 / top
            out = image.to(target)
            out = torch.mul(out, factor)
        elif source_float and target == torch.uint8:
            out = torch.mul(image, float(torch.iinfo(torch.uint8).max) + 1.0 - 1e-3).to(target)
        else:
            raise TypeError(f"cannot convert {source} to {target} with scale=True")
        return _returns(out, mask)


# --------------------------------------------------------------------------- task 3
class Normalize:
    """Per channel c: ``out[c] = (image[c] - mean[c]) / std[c]``.

    ``image`` is a float tensor [..., C, H, W]; mean and std are sequences of C
    numbers (or of 1, shared by all channels). Raises ``TypeError`` for a
    non-float image and ``ValueError`` when some std is 0. The input is not
    modified. A mask is returned unchanged.
    """

    def __init__(self, mean, std):
        self.mean = [float(m) for m in (mean if not _is_number(mean) else [mean])]
        self.std = [float(s) for s in (std if not _is_number(std) else [std])]
        if any(s == 0.0 for s in self.std):
            raise ValueError(f"std must not contain 0, got {self.std}")

    def __call__(self, image, mask=None):
        if not image.is_floating_point():
            raise TypeError(f"Normalize needs a float image, got {image.dtype}")
        if image.dim() < 3:
            raise ValueError(f"expected an image [..., C, H, W], got shape {tuple(image.shape)}")
        options = dict(dtype=image.dtype, device=image.device)
        mean = torch.tensor(self.mean, **options).reshape(-1, 1, 1)
        std = torch.tensor(self.std, **options).reshape(-1, 1, 1)
        centred = torch.sub(image, mean)  # a new tensor: the input stays as it is
        return _returns(torch.div(centred, std), mask)


# --------------------------------------------------------------------------- task 4
def _mirror(tensor):
    """Reverse the last dim with an index tensor."""
    width = tensor.shape[-1]
    reverse = torch.arange(width - 1, -1, -1, device=tensor.device)
    return tensor.index_select(-1, reverse)


class RandomHorizontalFlip:
    """Mirror left-right (the last dim) with probability ``p``.

    v2's draw: ``if torch.rand(1) >= p: return unchanged`` (one draw per call).
    ``p`` outside [0, 1] raises ``ValueError``.
    """

    def __init__(self, p=0.5):
        if not (0.0 <= p <= 1.0):
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, image, mask=None):
        u = torch.rand(1).item()
        if not u < self.p:
            return _returns(image, mask)
        return _returns(_mirror(image), None if mask is None else _mirror(mask))


# --------------------------------------------------------------------------- task 5
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _pad_indices(size, before, after, mode, device):
    """Source positions along one dim of length ``size`` for each padded position."""
    k = torch.arange(-before, size + after, device=device)
    if mode in ("constant", "edge"):
        # constant reads the clamped position too; the caller masks it with the fill
        return k.clamp(0, size - 1)
    if mode == "reflect":
        if size == 1:
            return torch.zeros_like(k)
        period = 2 * (size - 1)
        r = torch.remainder(k, period)
        return torch.where(r < size, r, period - r)
    if mode == "symmetric":
        period = 2 * size
        r = torch.remainder(k, period)
        return torch.where(r < size, r, period - 1 - r)
    raise ValueError(f"unknown padding mode {mode!r}; use one of {_PAD_MODES}")


def pad(image, left, top, right, bottom, fill=0, mode="constant"):
    """Pad the last two dims of ``image``; ``mode`` as for ``RandomCrop``."""
    if mode not in _PAD_MODES:
        raise ValueError(f"unknown padding mode {mode!r}; use one of {_PAD_MODES}")
    height, width = image.shape[-2], image.shape[-1]
    device = image.device
    rows = _pad_indices(height, top, bottom, mode, device)
    cols = _pad_indices(width, left, right, mode, device)
    out = image[..., rows[:, None], cols[None, :]]
    if mode == "constant":
        r = torch.arange(-top, height + bottom, device=device)
        c = torch.arange(-left, width + right, device=device)
        inside = ((r >= 0) & (r < height))[:, None] & ((c >= 0) & (c < width))[None, :]
        fill_value = torch.tensor(fill, device=device).to(image.dtype)
        out = torch.where(inside, out, fill_value)
    return out


def _four_paddings(padding):
    """torchvision's padding forms -> (left, top, right, bottom)."""
    if padding is None:
        return (0, 0, 0, 0)
    if _is_number(padding):
        return (int(padding),) * 4
    if isinstance(padding, (tuple, list)):
        if len(padding) == 1:
            return (int(padding[0]),) * 4
        if len(padding) == 2:
            horizontal, vertical = int(padding[0]), int(padding[1])
            return (horizontal, vertical, horizontal, vertical)
        if len(padding) == 4:
            return tuple(int(v) for v in padding)
        raise ValueError(f"padding must have 1, 2 or 4 numbers, got {len(padding)}")
    raise TypeError(f"padding must be an int or a sequence, got {padding!r}")


def _two_sizes(size):
    if _is_number(size):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) in (1, 2):
        return int(size[0]), int(size[-1])
    raise ValueError(f"size must be an int or (height, width), got {size!r}")


class RandomCrop:
    """Crop a random ``size`` window, after optional padding.

    Args:
        size: an int (square) or (height, width).
        padding: None, an int (all sides), (left/right, top/bottom) or
            (left, top, right, bottom).
        pad_if_needed: pad further, equally on both sides, where the (padded)
            image is smaller than ``size``.
        fill: the value of constant padding for the image (a mask is padded with 0).
        padding_mode: "constant", "edge" (repeat the border pixel), "reflect"
            (mirror without repeating the border: 2 1 | 0 1 2) or "symmetric"
            (mirror repeating it: 1 0 | 0 1 2).

    v2's draws, in this order: ``top = int(torch.randint(0, H_padded - h + 1, size=()))``
    only if ``H_padded > h`` (else top = 0), then ``left`` the same way over the width.
    A window larger than the padded image raises ``ValueError``.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.height, self.width = _two_sizes(size)
        self.padding = _four_paddings(padding)
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"unknown padding mode {padding_mode!r}; use one of {_PAD_MODES}")
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, image, mask=None):
        left, top, right, bottom = self.padding
        padded_h = image.shape[-2] + top + bottom
        padded_w = image.shape[-1] + left + right
        if self.pad_if_needed:
            if padded_h < self.height:
                extra = self.height - padded_h
                top, bottom, padded_h = top + extra, bottom + extra, padded_h + 2 * extra
            if padded_w < self.width:
                extra = self.width - padded_w
                left, right, padded_w = left + extra, right + extra, padded_w + 2 * extra
        if self.height > padded_h or self.width > padded_w:
            raise ValueError(f"crop ({self.height}, {self.width}) does not fit the padded "
                             f"image ({padded_h}, {padded_w})")
        # v2's draws: top first (only when there is room), then left
        y0 = int(torch.randint(0, padded_h - self.height + 1, size=())) if padded_h > self.height else 0
        x0 = int(torch.randint(0, padded_w - self.width + 1, size=())) if padded_w > self.width else 0

        def window(tensor, fill):
            if (left, top, right, bottom) != (0, 0, 0, 0):
                tensor = pad(tensor, left, top, right, bottom, fill=fill, mode=self.padding_mode)
            return tensor[..., y0:y0 + self.height, x0:x0 + self.width]

        out = window(image, self.fill)
        return _returns(out, None if mask is None else window(mask, 0))


# --------------------------------------------------------------------------- task 6
def _interpolation_name(interpolation):
    name = getattr(interpolation, "value", interpolation)
    if name not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    return name


def rotate(image, angle, interpolation="nearest", fill=0):
    """Rotate the last two dims of ``image`` by ``angle`` degrees anticlockwise about the centre.

    Output pixel (i, j), relative to the centre (x = j - (W-1)/2, y = i - (H-1)/2),
    takes the input at x_in = cos(a) x - sin(a) y, y_in = sin(a) x + cos(a) y
    (a in radians), sampled with ``interpolation`` ("nearest" or "bilinear") by
    ``F.grid_sample(..., padding_mode="zeros", align_corners=False)``. Positions
    that fall outside the input get ``fill``, blended the way v2 does it:
    sample an extra all-ones channel the same way; with "nearest", pixels where
    it is < 0.5 become ``fill``; with "bilinear", ``out = (out - fill) * ones + fill``.
    Integer images are rotated as float32 and rounded back. Angles that are
    exact multiples of 90 (0 and 180, and 90 and 270 for square images) use
    ``torch.rot90`` instead, as v2 does.
    """
    mode = _interpolation_name(interpolation)
    height, width = image.shape[-2], image.shape[-1]
    turn = float(angle) % 360.0
    if turn == 0.0:
        return image.clone()
    if turn == 180.0:
        return image.flip(-2, -1)
    if height == width and turn == 90.0:
        return image.transpose(-2, -1).flip(-2)
    if height == width and turn == 270.0:
        return image.transpose(-2, -1).flip(-1)

    lead = image.shape[:-2]
    work_dtype = image.dtype if image.is_floating_point() else torch.float32
    flat = image.reshape(-1, 1 if image.dim() == 2 else image.shape[-3], height, width)
    flat = flat.to(work_dtype)
    batch, channels = flat.shape[0], flat.shape[1]

    # output pixel centres relative to the image centre
    theta = math.radians(float(angle))
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    xs = torch.arange(width, dtype=torch.float64) - (width - 1) / 2.0
    ys = torch.arange(height, dtype=torch.float64) - (height - 1) / 2.0
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    x_in = cos_t * x - sin_t * y
    y_in = sin_t * x + cos_t * y
    # normalised coordinates for align_corners=False: pixel centre offset x sits at x / (W / 2)
    grid = torch.stack((x_in / (width / 2.0), y_in / (height / 2.0)), dim=-1)
    grid = grid.to(dtype=work_dtype, device=image.device).unsqueeze(0).expand(batch, -1, -1, -1)

    ones = torch.ones(batch, 1, height, width, dtype=work_dtype, device=image.device)
    sampled = F.grid_sample(torch.cat([flat, ones], dim=1), grid, mode=mode,
                            padding_mode="zeros", align_corners=False)
    values, inside = sampled[:, :channels], sampled[:, channels:]
    fill_value = torch.tensor(float(fill), dtype=work_dtype, device=image.device)
    if mode == "nearest":
        values = torch.where(inside < 0.5, fill_value, values)
    else:
        values = (values - fill_value) * inside + fill_value
    if not image.is_floating_point():
        values = torch.round(values).to(image.dtype)
    return values.reshape(*lead, height, width)


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees``.

    ``degrees``: a number d >= 0 (the range [-d, d]) or a pair (min, max).
    v2's draw: ``angle = torch.empty(1).uniform_(min, max).item()``.
    The image uses ``interpolation`` and ``fill``; a mask always uses "nearest"
    and fill 0, so it keeps whole class numbers.
    """

    def __init__(self, degrees, interpolation="nearest", fill=0):
        if _is_number(degrees):
            if degrees < 0:
                raise ValueError(f"degrees must be >= 0 when a single number, got {degrees}")
            low, high = -float(degrees), float(degrees)
        elif isinstance(degrees, (tuple, list)):
            if len(degrees) != 2:
                raise ValueError(f"degrees must be a number or a (min, max) pair, got {degrees!r}")
            low, high = float(degrees[0]), float(degrees[1])
            if low > high:
                raise ValueError(f"degrees must be (min, max) with min <= max, got {degrees!r}")
        else:
            raise ValueError(f"degrees must be a number or a (min, max) pair, got {degrees!r}")
        self.degrees = (low, high)
        self.interpolation = _interpolation_name(interpolation)
        self.fill = fill

    def __call__(self, image, mask=None):
        angle = torch.empty(1).uniform_(self.degrees[0], self.degrees[1]).item()
        out = rotate(image, angle, interpolation=self.interpolation, fill=self.fill)
        if mask is None:
            return out
        return out, rotate(mask, angle, interpolation="nearest", fill=0)


# --------------------------------------------------------------------------- task 7
def _jitter_range(value, name):
    if value is None:
        return None
    if _is_number(value):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        low, high = max(0.0, 1.0 - float(value)), 1.0 + float(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = float(value[0]), float(value[1])
    else:
        raise TypeError(f"{name} must be a number or a (min, max) pair, got {value!r}")
    if not 0.0 <= low <= high:
        raise ValueError(f"{name} range must satisfy 0 <= min <= max, got ({low}, {high})")
    if low == 1.0 and high == 1.0:
        return None
    return low, high


def _top_value(dtype):
    return 1.0 if dtype.is_floating_point else float(torch.iinfo(dtype).max)


def adjust_brightness(image, factor):
    """``image * factor``, clamped to [0, 1] (float images)."""
    if factor < 0:
        raise ValueError(f"brightness factor must be non-negative, got {factor}")
    out = torch.clamp(image * float(factor), min=0.0, max=_top_value(image.dtype))
    return out if image.is_floating_point() else out.to(image.dtype)


def adjust_contrast(image, factor):
    """Blend the image with the mean of its greyscale version: ``factor * image + (1 - factor) * m``,
    clamped to [0, 1]. Grey = 0.2989 R + 0.587 G + 0.114 B for 3 channels (the image
    itself for 1); m is its mean over the last three dims, one number per image."""
    if factor < 0:
        raise ValueError(f"contrast factor must be non-negative, got {factor}")
    channels = image.shape[-3]
    work = image if image.is_floating_point() else image.to(torch.float32)
    if channels == 3:
        weights = torch.tensor([0.2989, 0.587, 0.114], dtype=work.dtype, device=work.device)
        grey = (work * weights.view(3, 1, 1)).sum(dim=-3, keepdim=True)
        if not image.is_floating_point():
            grey = grey.floor()
    elif channels == 1:
        grey = work
    else:
        raise TypeError(f"adjust_contrast needs 1 or 3 channels, got {channels}")
    m = grey.mean(dim=(-3, -2, -1), keepdim=True)
    factor = float(factor)
    out = torch.clamp(factor * image + (1.0 - factor) * m, min=0.0, max=_top_value(image.dtype))
    return out if image.is_floating_point() else out.to(image.dtype)


class ColorJitter:
    """Random brightness and contrast, applied in a random order (float images in [0, 1]).

    ``brightness`` / ``contrast``: None, a number v >= 0 (factor range
    [max(0, 1 - v), 1 + v]) or a (min, max) pair; a range of exactly (1, 1) counts as None.
    v2's draws, in this order: ``order = torch.randperm(4)``; then, if brightness is
    set, ``b = float(torch.empty(1).uniform_(min, max).item())``; then likewise for
    contrast. The adjustments run in ``order`` (0 = brightness, 1 = contrast;
    2 and 3 are saturation and hue, which this class does not have).
    """

    def __init__(self, brightness=None, contrast=None):
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")

    def __call__(self, image, mask=None):
        order = torch.randperm(4).tolist()
        factors = {}
        for key, span in ((0, self.brightness), (1, self.contrast)):
            if span is not None:
                factors[key] = float(torch.empty(1).uniform_(span[0], span[1]).item())
        steps = {0: adjust_brightness, 1: adjust_contrast}
        out = image
        for key in order:
            if key in factors:
                out = steps[key](out, factors[key])
        return _returns(out, mask)


# --------------------------------------------------------------------------- task 8
class Compose:
    """Apply ``transforms`` in order: ``t_n(... t_2(t_1(x)))``, passing a mask along."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image, mask=None):
        state = image if mask is None else (image, mask)
        for transform in self.transforms:
            state = transform(state) if mask is None else transform(*state)
        return state


def slides_pipeline(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
    """The slides' augmentation pipeline, on tensors, from your own parts:

    ToImage, ToDtype(float32, scale=True), RandomHorizontalFlip(0.5),
    RandomRotation(15, interpolation="bilinear"), Normalize(mean, std).
    """
    steps = [ToImage(),
             ToDtype(dtype=torch.float32, scale=True),
             RandomHorizontalFlip(p=0.5),
             RandomRotation(degrees=15, interpolation="bilinear"),
             Normalize(mean=mean, std=std)]
    return Compose(steps)


# --------------------------------------------------------------------------- task 9
def batch_augment(images, generator, padding=4, p=0.5):
    """Random crop (with zero padding) and horizontal flip of every image of a batch, at once.

    ``images`` is [B, C, H, W] on any device; the result has the same shape,
    dtype and device. Each image gets its own parameters, drawn from the CPU
    ``generator`` in this order:
        tops  = torch.randint(0, 2 * padding + 1, (B,), generator=generator)
        lefts = torch.randint(0, 2 * padding + 1, (B,), generator=generator)
        flips = torch.rand(B, generator=generator) < p
    Image b is padded with ``padding`` zeros on every side, cropped back to
    H x W at (tops[b], lefts[b]), then mirrored left-right if flips[b].
    No Python loop over the batch: it is graded for speed.
    """
    count, channels, height, width = images.shape
    tops = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    lefts = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    flips = torch.rand(count, generator=generator) < p
    device = images.device
    tops, lefts, flips = tops.to(device), lefts.to(device), flips.to(device)

    i = torch.arange(height, device=device)
    j = torch.arange(width, device=device)
    # positions in the *unpadded* image: padded index t + i is original index t + i - padding
    src_rows = tops[:, None] - padding + i[None, :]                          # [B, H]
    j_read = torch.where(flips[:, None], (width - 1) - j[None, :], j[None, :])
    src_cols = lefts[:, None] - padding + j_read                             # [B, W]
    rows_ok = (src_rows >= 0) & (src_rows < height)
    cols_ok = (src_cols >= 0) & (src_cols < width)
    flat_index = (src_rows.clamp(0, height - 1)[:, :, None] * width
                  + src_cols.clamp(0, width - 1)[:, None, :])                # [B, H, W]
    flat_index = flat_index.reshape(count, 1, height * width).expand(count, channels, -1)
    picked = images.reshape(count, channels, height * width).gather(2, flat_index)
    picked = picked.reshape(count, channels, height, width)
    inside = (rows_ok[:, :, None] & cols_ok[:, None, :])[:, None]           # [B, 1, H, W]
    return torch.where(inside, picked, torch.zeros((), dtype=images.dtype, device=device))
