"""Real, bundled data for scenarios: nothing is ever downloaded.

* ``digits()``: scikit-learn's 1,797 handwritten digits (8x8, 10 classes), read
  from the CSV that scikit-learn ships, so scikit-learn itself (about 2 s to
  import) is only imported when that file is not where it usually is.
* ``photo(name)``: scikit-image's bundled photos (astronaut, camera, coins, ...).
* ``write_image(path, array)``: a uint8 array as a PNG or JPEG file, the way a
  user's own photos arrive on disk.
"""
import functools
import gzip
import importlib.util
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=1)
def digits():
    """``(images, labels)``: uint8 [1797, 8, 8] scaled to 0..255, and int64 [1797]."""
    data = None
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as handle:
                data = np.loadtxt(handle, delimiter=",")
    if data is None:  # another layout: ask scikit-learn itself
        from sklearn.datasets import load_digits
        bunch = load_digits()
        data = np.concatenate([bunch.data, bunch.target[:, None]], axis=1)
    pixels = data[:, :-1].reshape(-1, 8, 8)  # 0..16
    images = np.clip(np.round(pixels * 16.0), 0, 255).astype(np.uint8)
    return images, data[:, -1].astype(np.int64)


@functools.lru_cache(maxsize=None)
def photo(name):
    """A scikit-image bundled photo as a uint8 array ([H, W] or [H, W, 3])."""
    from skimage import data
    image = np.asarray(getattr(data, name)())
    image.setflags(write=False)
    return image


def write_image(path, array, quality=90):
    """Write a uint8 [H, W] or [H, W, 3] array as an image; the suffix picks the format."""
    from PIL import Image
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.ascontiguousarray(array))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=quality)
    else:
        image.save(path)
    return path
