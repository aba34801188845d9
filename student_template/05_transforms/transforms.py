"""Assignment 05_transforms: image transforms and data augmentation, on tensors.

Tasks (see assignments/05_transforms/README.md for the maths and the v2 recipes):

1. ``ToImage``               PIL image / numpy array -> uint8 tensor [C, H, W]
2. ``ToDtype``               change dtype, optionally rescaling 0..255 <-> 0..1
3. ``Normalize``             (x - mean) / std per channel
4. ``RandomHorizontalFlip``  flip with probability p
5. ``RandomCrop``            a random window, after optional padding (4 padding modes)
6. ``RandomRotation``        rotate by a random angle, nearest or bilinear
7. ``ColorJitter``           random brightness and contrast, in a random order
8. ``Compose`` and ``slides_pipeline``   chain transforms; the slides' pipeline
9. ``batch_augment``         random crop + flip of a whole [B, C, H, W] batch at once

Every transform is called as ``t(image)`` or ``t(image, mask)``. With a mask (a
segmentation map: integer class per pixel, [H, W] or [1, H, W]) it returns
``(image, mask)``: geometric transforms move the mask exactly like the image,
with the same random parameters; the others return the mask unchanged.

Random parameters are drawn from torch's global generator exactly as
``torchvision.transforms.v2`` draws them, so that after ``torch.manual_seed(s)``
your transforms and v2's give the same result. Do not call torchvision's
transforms or their functional forms; the grader detects it. ``torch.nn.functional``
(``pad``, ``grid_sample``) is allowed.
"""
import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F


def _returns(image, mask):
    return image if mask is None else (image, mask)


class ToImage:
    """A PIL image or a numpy array -> a uint8 tensor of shape [C, H, W].

    * PIL images: modes "L" (1 channel), "RGB" (3) and "RGBA" (4).
    * numpy arrays: [H, W] -> [1, H, W]; [H, W, C] -> [C, H, W].
    * tensors: [H, W] -> [1, H, W]; anything else is returned unchanged.
    The result does not share memory with a numpy input. A mask is returned unchanged.
    """

    def __call__(self, image, mask=None):
        # TODO task 1: np.array(pil_image) gives [H, W, C]; the kit's images are [C, H, W].
        raise NotImplementedError("Task 1: ToImage.__call__ is not implemented yet")


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
        # TODO task 2
        raise NotImplementedError("Task 2: ToDtype.__init__ is not implemented yet")

    def __call__(self, image, mask=None):
        raise NotImplementedError("ToDtype.__call__ is not implemented yet")


class Normalize:
    """Per channel c: ``out[c] = (image[c] - mean[c]) / std[c]``.

    ``image`` is a float tensor [..., C, H, W]; mean and std are sequences of C
    numbers (or of 1, shared by all channels). Raises ``TypeError`` for a
    non-float image and ``ValueError`` when some std is 0. The input is not
    modified. A mask is returned unchanged.
    """

    def __init__(self, mean, std):
        # TODO task 3
        raise NotImplementedError("Task 3: Normalize.__init__ is not implemented yet")

    def __call__(self, image, mask=None):
        raise NotImplementedError("Normalize.__call__ is not implemented yet")


class RandomHorizontalFlip:
    """Mirror left-right (the last dim) with probability ``p``.

    v2's draw: ``if torch.rand(1) >= p: return unchanged`` (one draw per call).
    ``p`` outside [0, 1] raises ``ValueError``.
    """

    def __init__(self, p=0.5):
        # TODO task 4
        raise NotImplementedError("Task 4: RandomHorizontalFlip.__init__ is not implemented yet")

    def __call__(self, image, mask=None):
        raise NotImplementedError("RandomHorizontalFlip.__call__ is not implemented yet")


def _pad_indices(size, before, after, mode, device):
    """Source positions along one dim of length ``size`` for each padded position."""
    raise NotImplementedError("_pad_indices is not implemented yet")


def pad(image, left, top, right, bottom, fill=0, mode="constant"):
    """Pad the last two dims of ``image``; ``mode`` as for ``RandomCrop``."""
    # TODO task 5a
    raise NotImplementedError("Task 5: pad is not implemented yet")


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
        # TODO task 5b
        raise NotImplementedError("Task 5: RandomCrop.__init__ is not implemented yet")

    def __call__(self, image, mask=None):
        raise NotImplementedError("RandomCrop.__call__ is not implemented yet")


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
    # TODO task 6a
    raise NotImplementedError("Task 6: rotate is not implemented yet")


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees``.

    ``degrees``: a number d >= 0 (the range [-d, d]) or a pair (min, max).
    v2's draw: ``angle = torch.empty(1).uniform_(min, max).item()``.
    The image uses ``interpolation`` and ``fill``; a mask always uses "nearest"
    and fill 0, so it keeps whole class numbers.
    """

    def __init__(self, degrees, interpolation="nearest", fill=0):
        # TODO task 6b
        raise NotImplementedError("Task 6: RandomRotation.__init__ is not implemented yet")

    def __call__(self, image, mask=None):
        raise NotImplementedError("RandomRotation.__call__ is not implemented yet")


def _jitter_range(value, name):
    raise NotImplementedError("_jitter_range is not implemented yet")


def adjust_brightness(image, factor):
    """``image * factor``, clamped to [0, 1] (float images)."""
    # TODO task 7a
    raise NotImplementedError("Task 7: adjust_brightness is not implemented yet")


def adjust_contrast(image, factor):
    """Blend the image with the mean of its greyscale version: ``factor * image + (1 - factor) * m``,
    clamped to [0, 1]. Grey = 0.2989 R + 0.587 G + 0.114 B for 3 channels (the image
    itself for 1); m is its mean over the last three dims, one number per image."""
    # TODO task 7b
    raise NotImplementedError("Task 7: adjust_contrast is not implemented yet")


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
        # TODO task 7c
        raise NotImplementedError("Task 7: ColorJitter.__init__ is not implemented yet")

    def __call__(self, image, mask=None):
        raise NotImplementedError("ColorJitter.__call__ is not implemented yet")


class Compose:
    """Apply ``transforms`` in order: ``t_n(... t_2(t_1(x)))``, passing a mask along."""

    def __init__(self, transforms):
        # TODO task 8a
        raise NotImplementedError("Task 8: Compose.__init__ is not implemented yet")

    def __call__(self, image, mask=None):
        raise NotImplementedError("Compose.__call__ is not implemented yet")


def slides_pipeline(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
    """The slides' augmentation pipeline, on tensors, from your own parts:

    ToImage, ToDtype(float32, scale=True), RandomHorizontalFlip(0.5),
    RandomRotation(15, interpolation="bilinear"), Normalize(mean, std).
    """
    # TODO task 8b
    raise NotImplementedError("Task 8: slides_pipeline is not implemented yet")


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
    # TODO task 9
    raise NotImplementedError("Task 9: batch_augment is not implemented yet")
