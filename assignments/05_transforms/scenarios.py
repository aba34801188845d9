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
    """ToImage on PIL images (RGB, L, RGBA), numpy arrays (HWC, HW) and a 2-D tensor."""
    rgb = photo("astronaut")[40:100, 160:240]
    grey = photo("camera")[60:110, 200:270]
    rgba = np.concatenate([rgb, photo("coins")[:60, :80, None]], axis=2)
    to_image = impl.transforms.ToImage()
    array = np.array(rgb)
    from_array = _outcome(lambda: _plain(to_image(array)))
    array[...] = 0  # a result sharing memory with the array would change now
    return {
        "PIL RGB": _outcome(lambda: _plain(to_image(Image.fromarray(rgb)))),
        "PIL L": _outcome(lambda: _plain(to_image(Image.fromarray(grey)))),
        "PIL RGBA": _outcome(lambda: _plain(to_image(Image.fromarray(rgba)))),
        "numpy [H, W, 3], after the array was zeroed": from_array,
        "numpy [H, W]": _outcome(lambda: _plain(to_image(np.array(grey)))),
        "tensor [H, W]": _outcome(lambda: _plain(to_image(torch.from_numpy(np.array(grey))))),
    }


def to_dtype(impl, *, seed, device):
    """ToDtype with and without scale, uint8 <-> float, float -> float; inputs untouched."""
    image = _astronaut(48, 64)
    before = image.clone()
    real = _float(image)
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
    }
    result = {name: _outcome(lambda c=call: _plain(c())) for name, call in cases.items()}
    result["uint8 input unchanged"] = bool(torch.equal(image, before))
    return result


IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def normalize(impl, *, seed, device):
    """Normalize on [3, H, W], a batch, one channel and float64; TypeError and ValueError."""
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
    }
    result["input unchanged"] = bool(torch.equal(image, before))
    return result


def flip(impl, *, seed, device):
    """RandomHorizontalFlip: 12 draws at p = 0.5, p = 0 and 1, with a mask, bad p."""
    image = torch.arange(3 * 4 * 6, dtype=torch.float32).reshape(3, 4, 6)
    mask = torch.arange(4 * 6).reshape(4, 6) % 3
    F = impl.transforms.RandomHorizontalFlip
    return {
        "p=0.5": _draws(lambda: F(0.5), image, 12, 10 + seed),
        "p=0": _draws(lambda: F(0.0), image, 3, 11 + seed),
        "p=1": _draws(lambda: F(1.0), image, 3, 12 + seed),
        "p=0.5 with a mask": _draws(lambda: F(0.5), image, 6, 13 + seed, mask),
        "p=1.5": _outcome(lambda: F(1.5) and "accepted"),
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
    """RandomCrop in 7 configurations (padding forms and modes, pad_if_needed), 3 draws each."""
    image = _astronaut()
    C = impl.transforms.RandomCrop
    result = {name: _outcome(lambda kw=kwargs, k=k: _draws(lambda: C(**kw), image, 3,
                                                          20 + 7 * seed + k))
              for k, (name, kwargs) in enumerate(CROPS.items())}
    result["larger than the image"] = _outcome(lambda: _plain(C(200)(image)))
    return result


def rotation(impl, *, seed, device, interpolation="nearest"):
    """RandomRotation: colour and grey images, two angle ranges, fill; exact right angles."""
    colour = _astronaut() if interpolation == "nearest" else _float(_astronaut())
    grey = _camera() if interpolation == "nearest" else _float(_camera())
    fill = 128 if interpolation == "nearest" else 0.5
    R = impl.transforms.RandomRotation
    square = colour[:, :64, :64]
    rotate = impl.transforms.rotate
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
    }


JITTERS = {
    "brightness 0.5": dict(brightness=0.5),
    "contrast 0.6": dict(contrast=0.6),
    "brightness (0.5, 1.8), contrast 0.9": dict(brightness=(0.5, 1.8), contrast=0.9),
    "brightness 0.4, contrast (0.2, 2.0)": dict(brightness=0.4, contrast=(0.2, 2.0)),
}


def color_jitter(impl, *, seed, device):
    """ColorJitter on a colour and a grey photo: 4 configurations, 4 draws each; the two
    adjustments on their own with fixed factors."""
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
    return result


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
    """batch_augment on 48 tiles (float32 and uint8), padding 4 and 6, and where the
    generator stands afterwards."""
    result = {}
    for label, dtype, padding, p in (("float32, padding 4", torch.float32, 4, 0.5),
                                     ("uint8, padding 6, p 0.3", torch.uint8, 6, 0.3)):
        images = _tiles(48, dtype=dtype).to(device)
        generator = torch.Generator().manual_seed(90 + seed)
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
