"""Trusted scenarios of 05_transforms. Each takes an implementation and returns plain data.

``impl.transforms`` is the solution's module. The images are scikit-image's bundled
photos (astronaut, camera, coins); the segmentation mask is the coins photo cut
into three classes by brightness. Random transforms run right after
``torch.manual_seed``, so the reference (which draws exactly as
torchvision.transforms.v2 does) and the student see the same random stream;
each scenario also returns a few numbers drawn afterwards, which shows whether
the transform drew as many random numbers as v2 does.
"""
import numpy as np
import torch
from PIL import Image

from autograder.sample_data import digits, photo
from autograder.worker import StudentLoadError


def _outcome(call):
    """The result of ``call()``, or the name of the exception it raised."""
    try:
        return call()
    except (NotImplementedError, StudentLoadError):
        raise
    except Exception as error:  # the contract names which exception
        return f"raises {type(error).__name__}"


def _astronaut(height=96, width=128, top=40, left=160):
    """A crop of the astronaut photo as uint8 [3, H, W]."""
    crop = photo("astronaut")[top:top + height, left:left + width]
    return torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).contiguous()


def _camera(height=80, width=96):
    crop = photo("camera")[60:60 + height, 200:200 + width]
    return torch.from_numpy(np.ascontiguousarray(crop)).unsqueeze(0)


def _coins_and_mask(height=96, width=128):
    """A grey coins crop [1, H, W] uint8 and its 3-class mask [H, W] int64."""
    crop = np.ascontiguousarray(photo("coins")[20:20 + height, 10:10 + width])
    mask = (crop > 110).astype(np.int64) + (crop > 170).astype(np.int64)
    return torch.from_numpy(crop).unsqueeze(0), torch.from_numpy(mask)


def _float(image):
    return image.to(torch.float32) / 255


def _plain(value):
    """A transform's output as data: tensors (detached), tuples as lists."""
    if isinstance(value, torch.Tensor):
        return value.detach().as_subclass(torch.Tensor)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _draws(make, image, calls, seed, mask=None):
    """``calls`` applications of ``make()`` after ``torch.manual_seed(seed)``, and the
    global generator's next numbers afterwards."""
    torch.manual_seed(seed)
    transform = make()
    outputs = []
    for _ in range(calls):
        outputs.append(_plain(transform(image) if mask is None else transform(image, mask)))
    return {"outputs": outputs, "random numbers afterwards": torch.rand(3)}


def to_image(impl, *, seed, device):
    """ToImage on PIL images (RGB, L, RGBA), numpy arrays (HWC, HW, HW1) and a 2-D tensor;
    the results of numpy [H, W, 3] and [H, W] must not change when the array does."""
    rgb = photo("astronaut")[40:100, 160:240]
    grey = photo("camera")[60:110, 200:270]
    rgba = np.concatenate([rgb, photo("coins")[:60, :80, None]], axis=2)
    to_image = impl.transforms.ToImage()
    array = np.array(rgb)
    from_array = _outcome(lambda: _plain(to_image(array)))
    array[...] = 0  # a result sharing memory with the array would change now
    grey_array = np.array(grey)
    from_grey = _outcome(lambda: _plain(to_image(grey_array)))
    grey_array[...] = 0  # [H, W] -> [1, H, W] can be a view without any copy
    return {
        "PIL RGB": _outcome(lambda: _plain(to_image(Image.fromarray(rgb)))),
        "PIL L": _outcome(lambda: _plain(to_image(Image.fromarray(grey)))),
        "PIL RGBA": _outcome(lambda: _plain(to_image(Image.fromarray(rgba)))),
        "numpy [H, W, 3], after the array was zeroed": from_array,
        "numpy [H, W]": _outcome(lambda: _plain(to_image(np.array(grey)))),
        "tensor [H, W]": _outcome(lambda: _plain(to_image(torch.from_numpy(np.array(grey))))),
        "numpy [H, W], after the array was zeroed": from_grey,
        "numpy [H, W, 1]": _outcome(lambda: _plain(to_image(np.array(grey)[:, :, None]))),
    }


def to_dtype(impl, *, seed, device):
    """ToDtype with and without scale, uint8 <-> float, float -> float; inputs untouched;
    float -> uint8 on every level of 0..1, int16/int32 -> float, TypeError for the
    conversions scale=True does not support."""
    image = _astronaut(48, 64)
    before = image.clone()
    real = _float(image)
    ramp = torch.linspace(0.0, 1.0, 1001).view(1, 7, 143)
    levels = (torch.arange(256, dtype=torch.float32) / 255).view(1, 16, 16)
    short = torch.tensor([[[0, 1, 1000, 16384, 32766, 32767]]], dtype=torch.int16)
    T = impl.transforms.ToDtype
    cases = {
        "uint8 -> float32, scale": lambda: T(torch.float32, scale=True)(image),
        "uint8 -> float64, scale": lambda: T(torch.float64, scale=True)(image),
        "uint8 -> float32, no scale": lambda: T(torch.float32)(image),
        "float32 -> float64, scale": lambda: T(torch.float64, scale=True)(real),
        "float32 -> uint8, scale": lambda: T(torch.uint8, scale=True)(real),
        "float32 -> uint8, no scale": lambda: T(torch.uint8)(real * 255),
        "uint8 -> uint8, scale": lambda: T(torch.uint8, scale=True)(image),
        "with a mask": lambda: T(torch.float32, scale=True)(image, image[0].long()),
        # every level of 0..1 (1.0 and values just under it included): floor((256 - 1e-3) x)
        "float32 -> uint8, scale, 0..1 in 1001 steps": lambda: T(torch.uint8, scale=True)(ramp),
        "float64 -> uint8, scale, 0..1 in 1001 steps": lambda: T(torch.uint8, scale=True)(
            ramp.double()),
        "float32 -> uint8, scale, u / 255 for every u": lambda: T(torch.uint8, scale=True)(levels),
        "int16 -> float32, scale (max 32767)": lambda: T(torch.float32, scale=True)(short),
        "int32 -> float64, scale": lambda: T(torch.float64, scale=True)(
            torch.tensor([[[0, 1, 2 ** 20, 2 ** 31 - 1]]], dtype=torch.int32)),
        "uint8 -> int32, scale (int -> int)": lambda: T(torch.int32, scale=True)(image),
        "int16 -> uint8, scale (int -> int)": lambda: T(torch.uint8, scale=True)(short),
        "float32 -> int16, scale": lambda: T(torch.int16, scale=True)(real),
        "uint8 -> int16, no scale": lambda: T(torch.int16)(image),
    }
    result = {name: _outcome(lambda c=call: _plain(c())) for name, call in cases.items()}
    result["uint8 input unchanged"] = bool(torch.equal(image, before))
    return result


IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def normalize(impl, *, seed, device):
    """Normalize on [3, H, W], batches, one channel and float64, one mean/std for three
    channels; TypeError and ValueError."""
    image = _float(_astronaut(48, 64))
    before = image.clone()
    batch = torch.stack([image, image.flip(-1), image * 0.5])
    grey = _float(_camera(40, 50))
    N = impl.transforms.Normalize
    result = {
        "ImageNet mean/std": _outcome(lambda: _plain(N(*IMAGENET)(image))),
        "a batch [3, 3, H, W]": _outcome(lambda: _plain(N(*IMAGENET)(batch))),
        "one channel, mean 0.5 std 0.25": _outcome(lambda: _plain(N([0.5], [0.25])(grey))),
        "float64, mean/std 0.5": _outcome(lambda: _plain(N([0.5] * 3, [0.5] * 3)(image.double()))),
        "uint8 input": _outcome(lambda: _plain(N(*IMAGENET)(_astronaut(8, 8)))),
        "a std of 0": _outcome(lambda: _plain(N([0.5] * 3, [0.5, 0.0, 0.5])(image))),
        "colour, one mean 0.4 and std 0.2 for every channel": _outcome(
            lambda: _plain(N([0.4], [0.2])(image))),
        "a batch [2, 1, H, W], mean 0.5 std 0.25": _outcome(
            lambda: _plain(N([0.5], [0.25])(torch.stack([grey, 1 - grey])))),
    }
    result["input unchanged"] = bool(torch.equal(image, before))
    return result


def flip(impl, *, seed, device):
    """RandomHorizontalFlip: 12 draws at p = 0.5, p = 0 and 1, p equal to the draw, with
    [H, W] and [1, H, W] masks, 2-D and batched images; p outside [0, 1]."""
    image = torch.arange(3 * 4 * 6, dtype=torch.float32).reshape(3, 4, 6)
    mask = torch.arange(4 * 6).reshape(4, 6) % 3
    F = impl.transforms.RandomHorizontalFlip
    torch.manual_seed(14 + seed)
    boundary = torch.rand(1).item()  # exactly the float32 value the first call draws
    return {
        "p=0.5": _draws(lambda: F(0.5), image, 12, 10 + seed),
        "p=0": _draws(lambda: F(0.0), image, 3, 11 + seed),
        "p=1": _draws(lambda: F(1.0), image, 3, 12 + seed),
        "p=0.5 with a mask": _draws(lambda: F(0.5), image, 6, 13 + seed, mask),
        "p=1.5": _outcome(lambda: F(1.5) and "accepted"),
        "p=-0.5": _outcome(lambda: F(-0.5) and "accepted"),
        # no flip when the draw equals p (v2: no flip if torch.rand(1) >= p)
        "p equal to the first draw": _draws(lambda: F(boundary), image, 3, 14 + seed),
        "p=0.5 with a [1, H, W] mask": _draws(lambda: F(0.5), image, 6, 15 + seed, mask[None]),
        "p=0.5, a 2-D [H, W] image": _draws(lambda: F(0.5), image[0], 6, 16 + seed),
        "p=0.5, a batch [2, 3, H, W]": _draws(lambda: F(0.5), torch.stack([image, -image]), 6,
                                              17 + seed),
    }


CROPS = {
    "size 64": dict(size=64),
    "(72, 100), padding 8": dict(size=(72, 100), padding=8),
    "size 96, padding (4, 10), reflect": dict(size=96, padding=(4, 10), padding_mode="reflect"),
    "(112, 140), pad_if_needed, fill 7": dict(size=(112, 140), pad_if_needed=True, fill=7),
    "size 60, padding (1, 2, 3, 4), edge": dict(size=60, padding=(1, 2, 3, 4), padding_mode="edge"),
    "size 60, padding (5, 2, 3, 9), symmetric": dict(size=60, padding=(5, 2, 3, 9),
                                                    padding_mode="symmetric"),
    "(96, 30), padding (0, 6)": dict(size=(96, 30), padding=(0, 6)),
}


def crop(impl, *, seed, device):
    """RandomCrop in 7 configurations (padding forms and modes, pad_if_needed), 3 draws each;
    windows that fit exactly, one-sided padding, pad_if_needed with padding, masks, 2-D and
    batched images, ValueError cases; pad on its own in every mode."""
    image = _astronaut()
    C = impl.transforms.RandomCrop
    result = {name: _outcome(lambda kw=kwargs, k=k: _draws(lambda: C(**kw), image, 3,
                                                          20 + 7 * seed + k))
              for k, (name, kwargs) in enumerate(CROPS.items())}
    result["larger than the image"] = _outcome(lambda: _plain(C(200)(image)))
    small = _astronaut(48, 64)
    for k, (name, kwargs) in enumerate(CROP_EDGES.items()):
        result[f"[3, 48, 64], {name}"] = _outcome(
            lambda kw=kwargs, k=k: _draws(lambda: C(**kw), small, 3, 200 + 17 * seed + k))
    for name, kwargs in CROP_ERRORS.items():
        result[f"[3, 48, 64], {name}"] = _outcome(lambda kw=kwargs: _plain(C(**kw)(small)))
    coins, mask = _coins_and_mask(40, 56)
    for k, (name, kwargs) in enumerate(CROP_MASKS.items()):
        for label, m in (("[H, W]", mask), ("[1, H, W]", mask[None])):
            result[f"coins [1, 40, 56] with a {label} mask, {name}"] = _outcome(
                lambda kw=kwargs, k=k, m=m: _draws(lambda: C(**kw), coins, 3,
                                                   240 + 17 * seed + k, m))
    batch = torch.stack([small, small.flip(-2)])
    result["a batch [2, 3, 48, 64], (40, 50), padding (2, 5), symmetric"] = _outcome(
        lambda: _draws(lambda: C((40, 50), padding=(2, 5), padding_mode="symmetric"), batch, 3,
                       260 + seed))
    result["a 2-D [48, 64] image, size 40, padding 3, fill 9"] = _outcome(
        lambda: _draws(lambda: C(40, padding=3, fill=9), small[0], 3, 261 + seed))
    result.update(_pads(impl))
    return result


# on a [3, 48, 64] image: windows that fit exactly (no draw on that axis), padding on one
# side only, and pad_if_needed on top of explicit padding
CROP_EDGES = {
    "(48, 50): the window is as high as the image": dict(size=(48, 50)),
    "(40, 64): the window is as wide as the image": dict(size=(40, 64)),
    "(48, 64): the window is the whole image": dict(size=(48, 64)),
    "(48, 70), pad_if_needed, fill 7: as high as the image": dict(size=(48, 70),
                                                                  pad_if_needed=True, fill=7),
    "(56, 68), padding (2, 4), pad_if_needed: fits the padded image": dict(
        size=(56, 68), padding=(2, 4), pad_if_needed=True),
    "(62, 81), padding (2, 3, 4, 5), pad_if_needed, fill 7": dict(
        size=(62, 81), padding=(2, 3, 4, 5), pad_if_needed=True, fill=7),
    "(62, 81), padding (2, 3, 4, 5), pad_if_needed, reflect": dict(
        size=(62, 81), padding=(2, 3, 4, 5), pad_if_needed=True, padding_mode="reflect"),
    "(40, 66), padding (6, 0, 0, 0): left only": dict(size=(40, 66), padding=(6, 0, 0, 0)),
    "(52, 60), padding (0, 5, 0, 0): top only": dict(size=(52, 60), padding=(0, 5, 0, 0)),
    "(40, 67), padding (0, 0, 4, 0), edge: right only": dict(
        size=(40, 67), padding=(0, 0, 4, 0), padding_mode="edge"),
    "(53, 50), padding (0, 0, 0, 7), fill 5: bottom only": dict(
        size=(53, 50), padding=(0, 0, 0, 7), fill=5),
}

CROP_ERRORS = {
    "(60, 32): higher than the image": dict(size=(60, 32)),
    "(32, 80): wider than the image": dict(size=(32, 80)),
    "(62, 32), padding (0, 6): higher than the padded image": dict(size=(62, 32),
                                                                   padding=(0, 6)),
    "padding of 3 numbers": dict(size=32, padding=(1, 2, 3)),
    "padding_mode 'wrap'": dict(size=32, padding=2, padding_mode="wrap"),
}

# a mask is padded with 0 whatever the image's fill; other modes apply to it as they are
CROP_MASKS = {
    "size 44, padding 6, fill 7": dict(size=44, padding=6, fill=7),
    "(44, 62), pad_if_needed, fill 200": dict(size=(44, 62), pad_if_needed=True, fill=200),
    "size 44, padding (3, 5), edge": dict(size=44, padding=(3, 5), padding_mode="edge"),
}


def _pads(impl):
    """pad on its own: the README's strip, a small 2-D image and a batch, every mode."""
    pad = impl.transforms.pad
    strip = torch.tensor([[[10, 20, 30, 40]]])
    small = torch.arange(30).reshape(5, 6)
    batch = torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).reshape(2, 3, 5, 6)
    result = {}
    for mode in ("constant", "edge", "reflect", "symmetric"):
        result[f"pad [10 20 30 40] by 2, {mode}"] = _outcome(
            lambda mode=mode: _plain(pad(strip, 2, 0, 2, 0, mode=mode)))
        result[f"pad a [5, 6] image by (1, 3, 4, 2), fill 9, {mode}"] = _outcome(
            lambda mode=mode: _plain(pad(small, 1, 3, 4, 2, fill=9, mode=mode)))
        result[f"pad a batch [2, 3, 5, 6] by (2, 0, 0, 4), fill 0.5, {mode}"] = _outcome(
            lambda mode=mode: _plain(pad(batch, 2, 0, 0, 4, fill=0.5, mode=mode)))
    # the index rules hold for any width: reflect has period 2(n - 1), symmetric 2n
    for mode in ("edge", "reflect", "symmetric"):
        result[f"pad [10 20 30 40] by 7 on the left, 5 on the right, {mode}"] = _outcome(
            lambda mode=mode: _plain(pad(strip, 7, 0, 5, 0, mode=mode)))
    result["pad with mode 'wrap'"] = _outcome(lambda: _plain(pad(small, 1, 1, 1, 1,
                                                                 mode="wrap")))
    return result


def rotation(impl, *, seed, device, interpolation="nearest"):
    """RandomRotation: colour and grey images, angle ranges, fill; exact right angles and
    angles near them, angles outside [0, 360), 2-D and batched images; ValueError cases."""
    colour = _astronaut() if interpolation == "nearest" else _float(_astronaut())
    grey = _camera() if interpolation == "nearest" else _float(_camera())
    fill = 128 if interpolation == "nearest" else 0.5
    R = impl.transforms.RandomRotation
    square = colour[:, :64, :64]
    rotate = impl.transforms.rotate
    small = colour[:, 16:64, 32:96]                  # [3, 48, 64]
    small_square = colour[:, 40:80, 60:100]          # [3, 40, 40]
    batch = torch.stack([small, small.flip(-2)])      # [2, 3, 48, 64]
    return {
        "colour, degrees 30": _draws(lambda: R(30, interpolation=interpolation), colour, 3,
                                     30 + seed),
        "colour, degrees (-10, 60), fill": _draws(
            lambda: R((-10, 60), interpolation=interpolation, fill=fill), colour, 3, 31 + seed),
        "grey, degrees 45": _draws(lambda: R(45, interpolation=interpolation), grey, 3, 32 + seed),
        "rotate by 90, square": _outcome(lambda: _plain(rotate(square, 90.0, interpolation))),
        "rotate by -90, not square": _outcome(lambda: _plain(rotate(colour, -90.0,
                                                                    interpolation))),
        "rotate by 180": _outcome(lambda: _plain(rotate(colour, 180.0, interpolation))),
        "rotate by 0": _outcome(lambda: _plain(rotate(grey, 0.0, interpolation))),
        "negative degrees": _outcome(lambda: R(-5) and "accepted"),
        "negative degrees -0.5": _outcome(lambda: R(-0.5) and "accepted"),
        "degrees of 3 numbers": _outcome(lambda: R((1, 2, 3)) and "accepted"),
        "interpolation 'bicubic'": _outcome(lambda: R(10, interpolation="bicubic")
                                            and "accepted"),
        "[3, 48, 64], degrees 0": _outcome(lambda: _draws(
            lambda: R(0, interpolation=interpolation, fill=fill), small, 2, 33 + seed)),
        "grey, degrees (300, 420)": _outcome(lambda: _draws(
            lambda: R((300, 420), interpolation=interpolation), grey, 2, 34 + seed)),
        # a right angle one degree (or half a degree) off takes the general path
        "rotate by near right angles, square [3, 40, 40]": [
            _outcome(lambda a=a: _plain(rotate(small_square, a, interpolation, fill)))
            for a in (1.0, 89.0, 90.5, 91.0, 179.0, 181.0, 269.0, 271.0, 359.0)],
        "rotate [3, 48, 64] by 37.5, fill": _outcome(lambda: _plain(rotate(
            small, 37.5, interpolation, fill))),
        # outside [0, 360): the same turn as the angle modulo 360
        "rotate by angles outside [0, 360), square [3, 40, 40]": [
            _outcome(lambda a=a: _plain(rotate(small_square, a, interpolation)))
            for a in (-90.0, 450.0, -180.0, 360.0, -37.5, 397.5, -720.0)],
        "rotate [3, 48, 64] by -180": _outcome(lambda: _plain(rotate(small, -180.0,
                                                                     interpolation))),
        "rotate a 2-D [H, W] image by 90, not square": _outcome(
            lambda: _plain(rotate(grey[0], 90.0, interpolation))),
        "rotate a 2-D [H, W] image by 30, fill": _outcome(
            lambda: _plain(rotate(grey[0], 30.0, interpolation, fill))),
        "rotate a 2-D [H, W] image by 90, square": _outcome(
            lambda: _plain(rotate(grey[0, :64, :64], 90.0, interpolation))),
        "rotate a batch [2, 3, 48, 64] by 30, fill": _outcome(
            lambda: _plain(rotate(batch, 30.0, interpolation, fill))),
        "rotate a batch [2, 3, 48, 48] by 270": _outcome(
            lambda: _plain(rotate(batch[..., :48], 270.0, interpolation))),
        "rotate a batch [2, 1, H, W] by -20": _outcome(
            lambda: _plain(rotate(torch.stack([grey, grey.flip(-1)]), -20.0, interpolation))),
    }


JITTERS = {
    "brightness 0.5": dict(brightness=0.5),
    "contrast 0.6": dict(contrast=0.6),
    "brightness (0.5, 1.8), contrast 0.9": dict(brightness=(0.5, 1.8), contrast=0.9),
    "brightness 0.4, contrast (0.2, 2.0)": dict(brightness=0.4, contrast=(0.2, 2.0)),
}


def color_jitter(impl, *, seed, device):
    """ColorJitter on a colour and a grey photo: 4 configurations, 4 draws each; the two
    adjustments on their own with fixed factors; ranges from one value above 1, ranges not
    set ((1, 1) or 0), pairs; ValueError and TypeError; batches."""
    colour, grey = _float(_astronaut()), _float(_camera())
    J = impl.transforms.ColorJitter
    result = {}
    for k, (name, kwargs) in enumerate(JITTERS.items()):
        result[f"colour, {name}"] = _outcome(
            lambda kw=kwargs, k=k: _draws(lambda: J(**kw), colour, 4, 40 + 5 * seed + k))
        result[f"grey, {name}"] = _outcome(
            lambda kw=kwargs, k=k: _draws(lambda: J(**kw), grey, 4, 60 + 5 * seed + k))
    adjust_b, adjust_c = impl.transforms.adjust_brightness, impl.transforms.adjust_contrast
    result["adjust_brightness 1.7"] = _outcome(lambda: _plain(adjust_b(colour, 1.7)))
    result["adjust_contrast 0.3, colour"] = _outcome(lambda: _plain(adjust_c(colour, 0.3)))
    result["adjust_contrast 2.5, colour"] = _outcome(lambda: _plain(adjust_c(colour, 2.5)))
    result["adjust_contrast 1.6, grey"] = _outcome(lambda: _plain(adjust_c(grey, 1.6)))
    result["brightness -1"] = _outcome(lambda: J(brightness=-1) and "accepted")
    small = _float(_astronaut(40, 48, top=150, left=200))
    for k, (name, kwargs) in enumerate(JITTER_EDGES.items()):
        result[f"colour [3, 40, 48], {name}"] = _outcome(
            lambda kw=kwargs, k=k: _draws(lambda: J(**kw), small, 3, 100 + 13 * seed + k))
    for name, kwargs in JITTER_ERRORS.items():
        result[name] = _outcome(lambda kw=kwargs: J(**kw) and "accepted")
    batch = torch.stack([small, small.flip(-1) * 0.5, small.flip(-2) * 0.8 + 0.2])
    grey_batch = torch.stack([grey[:, :40, :48], grey[:, 40:, 48:] * 0.3])
    result["adjust_contrast 0.4, a batch [3, 3, 40, 48]"] = _outcome(
        lambda: _plain(adjust_c(batch, 0.4)))
    result["adjust_contrast 1.8, a grey batch [2, 1, 40, 48]"] = _outcome(
        lambda: _plain(adjust_c(grey_batch, 1.8)))
    result["adjust_brightness 0.6, a batch [3, 3, 40, 48]"] = _outcome(
        lambda: _plain(adjust_b(batch, 0.6)))
    result["a batch [3, 3, 40, 48], brightness 0.5, contrast 0.7"] = _outcome(
        lambda: _draws(lambda: J(brightness=0.5, contrast=0.7), batch, 3, 99 + seed))
    return result


# a single value above 1 (the range starts at 0), ranges that are not set, ranges from pairs
JITTER_EDGES = {
    "brightness 1.5: range (0, 2.5)": dict(brightness=1.5),
    "contrast 2: range (0, 3)": dict(contrast=2.0),
    "brightness 0 (not set), contrast 0.5": dict(brightness=0, contrast=0.5),
    "brightness (1, 1) (not set), contrast 0.5": dict(brightness=(1, 1), contrast=0.5),
    "brightness 0.3, contrast (1.0, 1.0) (not set)": dict(brightness=0.3, contrast=(1.0, 1.0)),
    "brightness (0, 1.5), contrast (0.7, 0.7)": dict(brightness=(0, 1.5), contrast=(0.7, 0.7)),
    "brightness [0.5, 2.0] (a list), contrast (0.0, 0.4)": dict(brightness=[0.5, 2.0],
                                                                contrast=(0.0, 0.4)),
    "brightness 1, contrast 1: ranges (0, 2)": dict(brightness=1, contrast=1.0),
}

JITTER_ERRORS = {
    "contrast -0.5": dict(contrast=-0.5),
    "contrast (-0.5, 1.5)": dict(contrast=(-0.5, 1.5)),
    "brightness (1.5, 0.5)": dict(brightness=(1.5, 0.5)),
    "brightness of 3 numbers": dict(brightness=(0.5, 1.0, 1.5)),
    "contrast 'high'": dict(contrast="high"),
}


def pipeline(impl, *, seed, device):
    """The slides' pipeline on PIL photos: 3 colour images, 2 draws each, two mean/std."""
    photos = [Image.fromarray(np.ascontiguousarray(photo("astronaut")[t:t + 72, l:l + 88]))
              for t, l in ((0, 0), (150, 200), (300, 380))]
    result = {}
    for label, (mean, std) in {"mean/std 0.5": ((0.5,) * 3, (0.5,) * 3),
                               "ImageNet mean/std": IMAGENET}.items():
        torch.manual_seed(70 + seed)
        transform = impl.transforms.slides_pipeline(mean, std)
        result[label] = [_plain(transform(p)) for p in photos for _ in range(2)]
        result[f"{label}: random numbers afterwards"] = torch.rand(3)
    return result


def joint(impl, *, seed, device):
    """Compose(flip, crop with padding, rotation) on an image and its segmentation mask."""
    image, mask = _coins_and_mask()
    image = _float(image)
    T = impl.transforms

    def make():
        return T.Compose([T.RandomHorizontalFlip(0.5), T.RandomCrop(80, padding=8, fill=0.25),
                          T.RandomRotation(25, interpolation="bilinear")])

    result = _draws(make, image, 6, 80 + seed, mask)
    labels = set(mask.unique().tolist())
    result["mask holds only its class numbers"] = all(
        isinstance(out, list) and len(out) == 2 and isinstance(out[1], torch.Tensor)
        and set(out[1].unique().tolist()) <= labels for out in result["outputs"])
    return result


def _tiles(count, size=32, dtype=torch.float32):
    """``count`` tiles of the astronaut photo as a [count, 3, size, size] batch."""
    image = photo("astronaut")
    per_row = image.shape[1] // size
    tiles = [image[(k // per_row) * size % 480:(k // per_row) * size % 480 + size,
                   (k % per_row) * size:(k % per_row) * size + size] for k in range(count)]
    batch = torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).contiguous()
    return batch if dtype == torch.uint8 else _float(batch)


def batched(impl, *, seed, device):
    """batch_augment on 48 tiles (float32 and uint8), padding 4 and 6, non-square images,
    p equal to a draw, p 0 and 1, padding 0; and where the generator stands afterwards."""
    result = {}
    for label, dtype, padding, p in (("float32, padding 4", torch.float32, 4, 0.5),
                                     ("uint8, padding 6, p 0.3", torch.uint8, 6, 0.3)):
        images = _tiles(48, dtype=dtype).to(device)
        generator = torch.Generator().manual_seed(90 + seed)
        out = _outcome(lambda: _plain(impl.transforms.batch_augment(images, generator,
                                                                    padding=padding, p=p)))
        result[label] = {"output": out.cpu() if isinstance(out, torch.Tensor) else out,
                         "generator afterwards": torch.rand(3, generator=generator)}
    # non-square images, p exactly equal to one image's flip draw (no flip: rand < p is
    # False), p 0 and 1, padding 0
    wide = _tiles(20, size=40)[..., 8:32, :]
    count = 12
    replay = torch.Generator().manual_seed(190 + seed)
    torch.randint(0, 2 * 3 + 1, (count,), generator=replay)
    torch.randint(0, 2 * 3 + 1, (count,), generator=replay)
    boundary = torch.rand(count, generator=replay).sort().values[count // 2].item()
    for k, (label, images, padding, p) in enumerate((
            ("float32 [20, 3, 24, 40], padding 3", wide, 3, 0.5),
            ("uint8 [12, 3, 40, 24], padding 3, p equal to a draw",
             _tiles(count, size=40, dtype=torch.uint8)[..., 8:32], 3, boundary),
            ("float32 [8, 3, 32, 32], padding 2, p 0", _tiles(8), 2, 0.0),
            ("float32 [8, 3, 32, 32], padding 2, p 1", _tiles(8), 2, 1.0),
            ("float32 [8, 1, 32, 32], padding 0", _tiles(8)[:, 1:2], 0, 0.5))):
        images = images.to(device)
        generator = torch.Generator().manual_seed(190 + seed if k == 1 else 180 + k + seed)
        out = _outcome(lambda: _plain(impl.transforms.batch_augment(images, generator,
                                                                    padding=padding, p=p)))
        result[label] = {"output": out.cpu() if isinstance(out, torch.Tensor) else out,
                         "generator afterwards": torch.rand(3, generator=generator)}
    return result


def _digit_batch(device):
    images, _ = digits()
    return _float(torch.from_numpy(images).unsqueeze(1)).to(device)


def batched_speed(impl, *, seed, device):
    """A timed callable: batch_augment of all 1,797 digits [1797, 1, 8, 8] on ``device``,
    padding 2. Small images make the per-image cost of a Python loop stand out."""
    batch = _digit_batch(device)
    generator = torch.Generator().manual_seed(95 + seed)
    return lambda: impl.transforms.batch_augment(batch, generator, padding=2)


def batched_speed_torchvision(impl, *, seed, device):
    """The speed baseline where there is no reference: torchvision's v2 RandomCrop (padding
    2) and RandomHorizontalFlip over the same batch (one draw for the whole batch)."""
    from torchvision.transforms import v2
    batch = _digit_batch(device)
    torch.manual_seed(95 + seed)
    augment = v2.Compose([v2.RandomCrop(8, padding=2), v2.RandomHorizontalFlip()])
    return lambda: augment(batch)
