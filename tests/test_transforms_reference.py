"""The 05_transforms reference agrees with torchvision.transforms.v2: after the same
``torch.manual_seed(s)`` it draws the same random parameters, gives the same pixels
(exactly) and leaves the global generator in the same state, so the checks that
compare students with the reference compare them with v2."""
import importlib.util
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2 as v2
from PIL import Image
from torchvision import tv_tensors

from autograder.sample_data import photo

SEEDS = [0, 1, 7, 2024]


@pytest.fixture(scope="module")
def ref(kit_root):
    return _load(kit_root / "reference" / "05_transforms" / "transforms.py", "_ref_transforms")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- images

def _chw(array):
    """uint8 [H, W] or [H, W, C] numpy -> uint8 [C, H, W] tensor (a copy)."""
    array = np.array(array, copy=True)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


@pytest.fixture(scope="module")
def photos():
    return {name: photo(name) for name in ("astronaut", "camera", "coins")}


@pytest.fixture(scope="module")
def images(photos):
    """Small uint8 [C, H, W] crops of the real photos, square and not."""
    astronaut, camera, coins = photos["astronaut"], photos["camera"], photos["coins"]
    return {
        "rgb_square": _chw(astronaut[::4, ::4]),              # [3, 128, 128]
        "rgb_wide": _chw(astronaut[100:420:4, 40:500:4]),     # [3, 80, 115]
        "grey_square": _chw(camera[::4, ::4]),                # [1, 128, 128]
        "grey_wide": _chw(coins[::3, ::3]),                   # [1, 101, 128]
    }


def _float(image):
    return image.to(torch.float32) / 255


def _plain(out):
    return out.as_subclass(torch.Tensor)


def _same(ref_out, v2_out):
    torch.testing.assert_close(ref_out, _plain(v2_out), rtol=0, atol=0)


def _both(seed, ref_fn, v2_fn):
    """Run each side after manual_seed(seed); check the global RNG ends in the same state."""
    torch.manual_seed(seed)
    ref_out = ref_fn()
    ref_after = torch.rand(3)
    torch.manual_seed(seed)
    v2_out = v2_fn()
    v2_after = torch.rand(3)
    torch.testing.assert_close(ref_after, v2_after, rtol=0, atol=0,
                               msg="the global RNG state differs afterwards")
    return ref_out, v2_out


# ---------------------------------------------------------------- 1. ToImage

def test_to_image_matches_v2_on_pil_and_numpy(ref, photos):
    astronaut, camera, coins = photos["astronaut"], photos["camera"], photos["coins"]
    inputs = {
        "PIL RGB": Image.fromarray(np.ascontiguousarray(astronaut)),
        "PIL L": Image.fromarray(np.ascontiguousarray(camera)),
        "PIL RGBA": Image.fromarray(np.ascontiguousarray(np.dstack([astronaut, camera]))),
        "numpy HWC": np.array(astronaut, copy=True),
        "numpy HW": np.array(coins, copy=True),
    }
    expected_channels = {"PIL RGB": 3, "PIL L": 1, "PIL RGBA": 4, "numpy HWC": 3, "numpy HW": 1}
    for label, image in inputs.items():
        ref_out = ref.ToImage()(image)
        v2_out = v2.ToImage()(image)
        assert isinstance(v2_out, tv_tensors.Image), label
        assert ref_out.shape[0] == expected_channels[label], label
        assert ref_out.dtype == torch.uint8, label
        torch.testing.assert_close(ref_out, _plain(v2_out), rtol=0, atol=0, msg=label)


def test_to_image_of_numpy_does_not_share_memory(ref, photos):
    array = np.array(photos["astronaut"], copy=True)
    out = ref.ToImage()(array)
    array[0, 0, 0] ^= 0xFF
    assert out[0, 0, 0] != int(array[0, 0, 0])


# ---------------------------------------------------------------- 2. ToDtype

def _float_source(images, dtype):
    base = images["rgb_square"].to(dtype) / 255
    # values at and just under the ends of [0, 1], and on bucket edges of 1/255
    base[0, 0, :8] = torch.tensor([0.0, 1.0, 0.9999, 1e-4, 0.5, 254.5 / 255, 1 / 255, 0.99],
                                  dtype=dtype)
    return base


@pytest.mark.parametrize("source, dtype, scale", [
    ("uint8", torch.float32, True),
    ("uint8", torch.float64, True),
    ("float32", torch.uint8, True),
    ("float64", torch.uint8, True),
    ("float32", torch.float64, True),
    ("float64", torch.float32, True),
    ("uint8", torch.uint8, True),
    ("uint8", torch.float32, False),
    ("uint8", torch.float64, False),
    ("uint8", torch.int64, False),
    ("float32x255", torch.uint8, False),
    ("float32", torch.float64, False),
    ("float32", torch.float32, False),
])
def test_to_dtype_matches_v2(ref, images, source, dtype, scale):
    for key in ("rgb_square", "grey_wide"):
        if source == "uint8":
            image = images[key]
        elif source == "float32x255":
            image = _float_source(images, torch.float32) * 255.9
        else:
            image = _float_source(images, getattr(torch, source))
        ref_out = ref.ToDtype(dtype, scale=scale)(image.clone())
        v2_out = v2.ToDtype(dtype, scale=scale)(tv_tensors.Image(image.clone()))
        assert ref_out.dtype == dtype
        _same(ref_out, v2_out)


# ---------------------------------------------------------------- 3. Normalize

@pytest.mark.parametrize("mean, std", [
    ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ((0.1, -0.2, 0.7), (2.0, 0.3, 1.5)),
])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_normalize_matches_v2_single_and_batch(ref, images, mean, std, dtype):
    single = images["rgb_square"].to(dtype) / 255
    batch = torch.stack([single, single.flip(-1), single.flip(-2), 1 - single])  # [4, 3, H, W]
    for image in (single, batch):
        before = image.clone()
        ref_out = ref.Normalize(mean, std)(image)
        v2_out = v2.Normalize(mean, std)(tv_tensors.Image(image.clone()))
        assert ref_out.shape == image.shape
        _same(ref_out, v2_out)
        torch.testing.assert_close(image, before, rtol=0, atol=0, msg="the input was modified")


def test_normalize_one_channel_matches_v2(ref, images):
    image = _float(images["grey_wide"])
    _same(ref.Normalize((0.45,), (0.27,))(image),
          v2.Normalize((0.45,), (0.27,))(tv_tensors.Image(image)))


def test_normalize_raises_type_error_on_uint8_like_v2(ref, images):
    image = images["rgb_square"]
    with pytest.raises(TypeError):
        v2.Normalize((0.5,) * 3, (0.5,) * 3)(tv_tensors.Image(image))
    with pytest.raises(TypeError):
        ref.Normalize((0.5,) * 3, (0.5,) * 3)(image)


# ---------------------------------------------------------------- 4. RandomHorizontalFlip

@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_horizontal_flip_matches_v2(ref, images, p, seed):
    image = images["rgb_wide"]
    calls = 8
    ref_t, v2_t = ref.RandomHorizontalFlip(p), v2.RandomHorizontalFlip(p)
    ref_outs, v2_outs = _both(seed,
                              lambda: [ref_t(image) for _ in range(calls)],
                              lambda: [v2_t(tv_tensors.Image(image)) for _ in range(calls)])
    for r, v in zip(ref_outs, v2_outs):
        _same(r, v)
    if p == 0.0:
        assert all(torch.equal(r, image) for r in ref_outs)
    if p == 1.0:
        assert all(torch.equal(r, image.flip(-1)) for r in ref_outs)


# ---------------------------------------------------------------- 5. RandomCrop

CROP_CASES = {
    "int size": dict(size=64),
    "(h, w), int padding": dict(size=(48, 72), padding=5),
    "2 numbers, reflect": dict(size=(100, 60), padding=(3, 7), padding_mode="reflect"),
    "4 numbers, edge": dict(size=(90, 110), padding=(2, 4, 6, 8), padding_mode="edge"),
    "4 numbers, symmetric": dict(size=(90, 110), padding=(2, 4, 6, 8), padding_mode="symmetric"),
    "4 numbers, reflect": dict(size=(85, 120), padding=(9, 1, 0, 5), padding_mode="reflect"),
    "pad_if_needed, fill": dict(size=(140, 150), pad_if_needed=True, fill="FILL"),
    "pad_if_needed + padding, fill": dict(size=(110, 131), padding=2, pad_if_needed=True,
                                          fill="FILL"),
    "pad_if_needed, one side only": dict(size=(60, 140), pad_if_needed=True, fill="FILL"),
    "whole image": dict(size=(101, 128)),
}


@pytest.mark.parametrize("case", list(CROP_CASES))
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("key", ["rgb_square", "grey_wide"])
def test_random_crop_matches_v2(ref, images, case, dtype, key):
    image = images[key] if dtype == "uint8" else _float(images[key])
    kwargs = dict(CROP_CASES[case])
    if kwargs.get("fill") == "FILL":
        kwargs["fill"] = 77 if dtype == "uint8" else 0.3
    if case == "whole image" and key != "grey_wide":
        kwargs["size"] = tuple(image.shape[-2:])
    ref_t, v2_t = ref.RandomCrop(**kwargs), v2.RandomCrop(**kwargs)
    for seed in SEEDS:
        ref_outs, v2_outs = _both(seed,
                                  lambda: [ref_t(image) for _ in range(3)],
                                  lambda: [v2_t(tv_tensors.Image(image)) for _ in range(3)])
        for r, v in zip(ref_outs, v2_outs):
            size = kwargs["size"]
            assert r.shape[-2:] == ((size, size) if isinstance(size, int) else tuple(size))
            _same(r, v)


# ---------------------------------------------------------------- 6. rotation

ROTATION_MODES = {"nearest": v2.InterpolationMode.NEAREST,
                  "bilinear": v2.InterpolationMode.BILINEAR}


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("key", ["rgb_wide", "grey_wide", "rgb_square"])
@pytest.mark.parametrize("fill", ["zero", "non-zero"])
@pytest.mark.parametrize("degrees", [30, (-170, 65)], ids=["number", "pair"])
def test_random_rotation_matches_v2(ref, images, interpolation, dtype, key, fill, degrees):
    image = images[key] if dtype == "uint8" else _float(images[key])
    fill_value = 0 if fill == "zero" else (100 if dtype == "uint8" else 0.6)
    ref_t = ref.RandomRotation(degrees, interpolation=interpolation, fill=fill_value)
    v2_t = v2.RandomRotation(degrees, interpolation=ROTATION_MODES[interpolation], fill=fill_value)
    for seed in SEEDS[:3]:
        ref_outs, v2_outs = _both(seed,
                                  lambda: [ref_t(image) for _ in range(2)],
                                  lambda: [v2_t(tv_tensors.Image(image)) for _ in range(2)])
        for r, v in zip(ref_outs, v2_outs):
            assert r.shape == image.shape and r.dtype == image.dtype
            _same(r, v)


@pytest.mark.parametrize("angle, key", [
    (0, "rgb_square"), (0, "rgb_wide"),
    (90, "rgb_square"), (90, "grey_square"),
    (180, "rgb_square"), (180, "rgb_wide"), (180, "grey_wide"),
    (270, "rgb_square"), (-90, "grey_square"),
    (-90, "rgb_wide"), (-90, "grey_wide"), (90, "rgb_wide"), (270, "grey_wide"),
    (450, "rgb_square"), (37.5, "rgb_wide"), (-123.25, "grey_square"),
])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_functional_rotate_matches_v2(ref, images, angle, key, dtype):
    image = images[key] if dtype == "uint8" else _float(images[key])
    ref_out = ref.rotate(image, angle)
    v2_out = v2.functional.rotate(tv_tensors.Image(image), angle)
    assert ref_out.shape == image.shape
    _same(ref_out, v2_out)


def test_functional_rotate_multiples_of_90_are_exact_permutations(ref, images):
    square = images["rgb_square"]
    torch.testing.assert_close(ref.rotate(square, 90), torch.rot90(square, 1, (-2, -1)),
                               rtol=0, atol=0)
    torch.testing.assert_close(ref.rotate(square, 0), square, rtol=0, atol=0)


# ---------------------------------------------------------------- 7. ColorJitter

@pytest.mark.parametrize("kwargs", [
    dict(brightness=0.4),
    dict(contrast=0.5),
    dict(brightness=0.4, contrast=0.5),
    dict(brightness=(0.5, 1.5)),
    dict(contrast=(0.2, 1.8)),
    dict(brightness=(0.6, 1.3), contrast=(0.3, 1.9)),
    dict(brightness=1.5, contrast=(0.0, 2.0)),
    dict(brightness=(1.0, 1.0), contrast=0.3),
], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
@pytest.mark.parametrize("key", ["rgb_square", "grey_wide"])
def test_color_jitter_matches_v2(ref, images, kwargs, key):
    image = _float(images[key])
    ref_t, v2_t = ref.ColorJitter(**kwargs), v2.ColorJitter(**kwargs)
    for seed in SEEDS:
        ref_outs, v2_outs = _both(seed,
                                  lambda: [ref_t(image) for _ in range(3)],
                                  lambda: [v2_t(tv_tensors.Image(image)) for _ in range(3)])
        for r, v in zip(ref_outs, v2_outs):
            _same(r, v)


# ---------------------------------------------------------------- 8. joint image + mask

@pytest.fixture(scope="module")
def coins_pair(photos):
    coins = photos["coins"]
    mask = torch.from_numpy((coins > 90).astype(np.int64) + (coins > 150).astype(np.int64))
    assert set(mask.unique().tolist()) == {0, 1, 2}
    grey = _float(_chw(coins))
    rgb = _float(_chw(photos["astronaut"][:coins.shape[0], :coins.shape[1]]))
    return {"grey": grey, "rgb": rgb}, mask


@pytest.mark.parametrize("kind", ["grey", "rgb"])
@pytest.mark.parametrize("seed", SEEDS + [3, 11])
def test_joint_image_and_mask_compose_matches_v2(ref, coins_pair, kind, seed):
    images_, mask = coins_pair
    image = images_[kind]
    ref_pipe = ref.Compose([ref.RandomHorizontalFlip(0.5),
                            ref.RandomCrop(80, padding=8, fill=0.25),
                            ref.RandomRotation(25, interpolation="bilinear")])
    v2_pipe = v2.Compose([v2.RandomHorizontalFlip(0.5),
                          v2.RandomCrop(80, padding=8,
                                        fill={tv_tensors.Image: 0.25, tv_tensors.Mask: 0}),
                          v2.RandomRotation(25, interpolation=v2.InterpolationMode.BILINEAR)])
    (ref_image, ref_mask), (v2_image, v2_mask) = _both(
        seed,
        lambda: ref_pipe(image, mask),
        lambda: v2_pipe(tv_tensors.Image(image), tv_tensors.Mask(mask)))
    assert isinstance(v2_mask, tv_tensors.Mask)
    assert ref_image.shape == (image.shape[0], 80, 80) and ref_mask.shape == (80, 80)
    assert ref_mask.dtype == torch.int64
    _same(ref_image, v2_image)
    _same(ref_mask, v2_mask)


# ---------------------------------------------------------------- 9. slides_pipeline

@pytest.mark.parametrize("source, mean, std", [
    ("rgb", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ("rgb", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ("rgb_wide", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ("grey", (0.45,), (0.25,)),
])
def test_slides_pipeline_matches_v2_on_pil(ref, photos, source, mean, std):
    if source == "rgb":
        pil = Image.fromarray(np.ascontiguousarray(photos["astronaut"][::3, ::3]))
    elif source == "rgb_wide":
        pil = Image.fromarray(np.ascontiguousarray(photos["astronaut"][40:400:2, ::3]))
    else:
        pil = Image.fromarray(np.ascontiguousarray(photos["coins"][::2, ::2]))
    ref_pipe = ref.slides_pipeline(mean, std)
    v2_pipe = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                          v2.RandomHorizontalFlip(0.5),
                          v2.RandomRotation(15, interpolation=v2.InterpolationMode.BILINEAR),
                          v2.Normalize(mean, std)])
    for seed in SEEDS:
        ref_outs, v2_outs = _both(seed,
                                  lambda: [ref_pipe(pil) for _ in range(2)],
                                  lambda: [v2_pipe(pil) for _ in range(2)])
        for r, v in zip(ref_outs, v2_outs):
            assert r.dtype == torch.float32
            _same(r, v)


# ---------------------------------------------------------------- 10. batch_augment

def _batch_augment_loop(images, generator, padding, p):
    """The docstring's recipe, one image at a time."""
    count, _, height, width = images.shape
    tops = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    lefts = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    flips = torch.rand(count, generator=generator) < p
    out = []
    for b in range(count):
        padded = F.pad(images[b], (padding, padding, padding, padding))
        top, left = int(tops[b]), int(lefts[b])
        crop = padded[:, top:top + height, left:left + width]
        out.append(crop.flip(-1) if flips[b] else crop)
    return torch.stack(out)


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
@pytest.mark.parametrize("padding", [4, 6])
@pytest.mark.parametrize("p", [0.5, 0.2])
@pytest.mark.parametrize("seed", SEEDS)
def test_batch_augment_matches_per_image_recipe(ref, photos, dtype, padding, p, seed):
    astronaut = photos["astronaut"]
    batch = torch.stack([_chw(astronaut[i:i + 96:3, j:j + 120:3])
                         for i in range(0, 400, 50) for j in (0, 200)])  # [16, 3, 32, 40]
    batch = batch if dtype == torch.uint8 else _float(batch)
    ref_gen = torch.Generator().manual_seed(seed)
    loop_gen = torch.Generator().manual_seed(seed)
    global_before = torch.get_rng_state()
    ref_out = ref.batch_augment(batch, ref_gen, padding=padding, p=p)
    assert torch.equal(torch.get_rng_state(), global_before), "the global RNG was used"
    expected = _batch_augment_loop(batch, loop_gen, padding, p)
    assert ref_out.shape == batch.shape and ref_out.dtype == batch.dtype
    torch.testing.assert_close(ref_out, expected, rtol=0, atol=0)
    assert torch.equal(ref_gen.get_state(), loop_gen.get_state())
    torch.testing.assert_close(torch.rand(3, generator=ref_gen),
                               torch.rand(3, generator=loop_gen), rtol=0, atol=0)
