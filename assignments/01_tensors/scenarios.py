"""Trusted scenarios of 01_tensors. Each takes an implementation and returns plain data.

Every scenario runs its function on several cases: contiguous and non-contiguous
inputs with the same values, empty tensors, and the dtype the check names; each
case also reports whether the function left its inputs exactly as they were.
"""
import torch

UNCHANGED = "inputs left unchanged"


def _dtype(name):
    return {"float32": torch.float32, "float64": torch.float64}[name]


def _generator(seed):
    return torch.Generator().manual_seed(2000 + seed)


def _randn(g, shape, dtype, device):
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)


def _noncontiguous(t):
    """The same values in memory with a stride of 2 in the last dimension."""
    wide = torch.zeros(tuple(t.shape) + (2,), dtype=t.dtype, device=t.device)
    wide[..., 0] = t
    view = wide[..., 0]
    assert t.numel() <= 1 or not view.is_contiguous()
    return view


def _call(fn, *inputs, **kwargs):
    """Run ``fn`` on ``inputs`` and report its result and whether the inputs survived."""
    tensors = [x for x in inputs if isinstance(x, torch.Tensor)]
    before = [x.clone() for x in tensors]
    result = fn(*inputs, **kwargs)
    same = all(torch.equal(x, b) for x, b in zip(tensors, before))
    return {"result": result, UNCHANGED: same}


def _outcome(fn, *args):
    """A string saying what ``fn`` did: the shape it returned or the exception it raised."""
    try:
        result = fn(*args)
    except NotImplementedError:
        raise  # an unfinished task, not an answer
    except Exception as error:  # the contract names which exception is right
        return f"raised {type(error).__name__}"
    if isinstance(result, torch.Tensor):
        return f"returned a tensor of shape {tuple(result.shape)}"
    if isinstance(result, torch.Size):  # a tuple of ints: what torch.broadcast_shapes returns
        result = tuple(result)
    return f"returned {result!r}"


def _both_layouts(make):
    """Cases 'contiguous' and 'non-contiguous' of the same inputs."""
    inputs = make()
    return {"contiguous": inputs, "non-contiguous": tuple(_noncontiguous(t) for t in inputs)}


def creation(impl, *, seed, device):
    """``filled`` and ``from_values`` across shapes and dtypes, incl. empty and 0-dim."""
    t = impl.tensors
    out = {}
    for dtype in (torch.float32, torch.float64, torch.int64):
        value = 7 if dtype == torch.int64 else 2.5
        for shape in ((2, 3), (0, 4), ()):
            out[f"filled {shape} {dtype}"] = t.filled(shape, value, dtype, device)
    # a float value in an integer dtype is truncated, as torch.full does; a value that
    # float32 cannot hold must survive in float64
    out["filled (3,) int64 with 2.7"] = t.filled((3,), 2.7, torch.int64, device)
    out["filled (2,) float64 with 0.1 + 1e-12"] = t.filled((2,), 0.1 + 1e-12, torch.float64,
                                                          device)
    for dtype in (torch.float32, torch.float64, torch.int64):
        like = torch.zeros(1, dtype=dtype, device=device)
        values = [[1, 2], [3, 4]] if dtype == torch.int64 else [[0.1, 0.2], [0.3, 1e-9]]
        out[f"from_values like {dtype}"] = t.from_values(values, like)
    out["from_values empty"] = t.from_values([], torch.zeros(1, dtype=torch.float64,
                                                                device=device))
    out["from_values like float64, digits float32 cannot hold"] = t.from_values(
        [1.0 + 1e-12, 16777217.0], torch.zeros(1, dtype=torch.float64, device=device))
    return out


def _astronaut(dtype, device):
    from skimage import data
    hwc = torch.from_numpy(data.astronaut())            # [512, 512, 3] uint8, a real photo
    chw = hwc.permute(2, 0, 1)                          # [3, 512, 512], not contiguous
    return chw.to(device=device, dtype=dtype) / 255.0 if dtype.is_floating_point else chw


def image_indexing(impl, *, seed, device, dtype="float32"):
    """Channel, pixel and crops of scikit-image's astronaut as [C, H, W], in two layouts."""
    t = impl.tensors
    base = _astronaut(_dtype(dtype), device)
    out = {}
    for layout, image in (("permuted from HWC", base), ("contiguous", base.contiguous()),
                          ("uint8", _astronaut(torch.uint8, device)),
                          ("float64", _astronaut(torch.float64, device))):
        out[layout] = {
            "green channel": _call(t.channel, image, 1),
            "pixel at row 100, column 300": _call(t.pixel, image, 100, 300),
            "crop top=50 left=200 64x32": _call(t.crop, image, 50, 200, 64, 32),
            "crop of height 0": _call(t.crop, image, 10, 10, 0, 5),
        }
    return out


def hadamard_products(impl, *, seed, device):
    """Equal shapes multiply; (N,) with (N, 1) must raise ValueError, not broadcast."""
    g = _generator(seed)
    fn = impl.tensors.hadamard
    out = {}
    for dtype in (torch.float32, torch.float64):
        for shape in ((4, 5), (2, 0, 3)):
            make = lambda: (_randn(g, shape, dtype, device),  # noqa: E731
                            _randn(g, shape, dtype, device))
            for layout, (a, b) in _both_layouts(make).items():
                out[f"{shape} {dtype} {layout}"] = _call(fn, a, b)
        column, row = _randn(g, (4, 1), dtype, device), _randn(g, (4,), dtype, device)
        out[f"(4,) with (4, 1) {dtype}"] = _outcome(fn, row, column)
        out[f"(2, 3) with (3, 2) {dtype}"] = _outcome(fn, _randn(g, (2, 3), dtype, device),
                                                      _randn(g, (3, 2), dtype, device))
    return out


def matmul_products(impl, *, seed, device, dtype="float32"):
    """2-D, batched, broadcast batches, transposed (non-contiguous) and empty operands."""
    g = _generator(seed)
    fn = impl.tensors.matmul
    shapes = {"(3, 4) x (4, 5)": ((3, 4), (4, 5)),
              "batched (2, 3, 4) x (2, 4, 5)": ((2, 3, 4), (2, 4, 5)),
              "broadcast batch (2, 1, 3, 4) x (5, 4, 2)": ((2, 1, 3, 4), (5, 4, 2)),
              "k = 0: (3, 0) x (0, 5)": ((3, 0), (0, 5)),
              "n = 0: (0, 4) x (4, 2)": ((0, 4), (4, 2))}
    out = {}
    for label, (sa, sb) in shapes.items():
        make = lambda: (_randn(g, sa, _dtype(dtype), device),  # noqa: E731
                        _randn(g, sb, _dtype(dtype), device))
        for layout, (a, b) in _both_layouts(make).items():
            out[f"{label} {layout}"] = _call(fn, a, b)
    a = _randn(g, (4, 3), _dtype(dtype), device).T          # a transposed view
    b = _randn(g, (5, 4), _dtype(dtype), device).T
    out["transposed views (3, 4) x (4, 5)"] = _call(fn, a, b)
    return out


def _shares_storage(a, b):
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def attention_heads(impl, *, seed, device):
    """split_heads is a view with the right element order; merge_heads undoes it."""
    g = _generator(seed)
    t = impl.tensors
    out = {}
    for label, shape, heads, dtype in (("B=2 T=5 3 heads of 4", (2, 5, 12), 3, torch.float32),
                                       ("B=2 T=5 3 heads of 4", (2, 5, 12), 3, torch.float64),
                                       ("B=0", (0, 5, 12), 3, torch.float32),
                                       ("1 head", (2, 3, 6), 1, torch.float64)):
        label = f"{label} {dtype}"
        x = _randn(g, shape, dtype, device)
        split = _call(t.split_heads, x, heads)
        view = split["result"]
        merged = _call(t.merge_heads, view)
        out[label] = {"split": split, "split is a view of the input": _shares_storage(view, x),
                      "merged": merged,
                      "merged is contiguous": merged["result"].is_contiguous()}
    # merge_heads on heads that did not come from split_heads: a fresh contiguous tensor
    # (transposing it makes it non-contiguous, so view alone raises) and a permuted one
    fresh = _randn(g, (2, 3, 5, 4), torch.float32, device)
    out["merge_heads of a fresh [2, 3, 5, 4] tensor"] = _call(t.merge_heads, fresh)
    permuted = _randn(g, (2, 4, 3, 5), torch.float32, device).permute(0, 2, 3, 1)
    out["merge_heads of a permuted [2, 3, 5, 4] view"] = _call(t.merge_heads, permuted)
    return out


BROADCAST_CASES = [((3, 1), (1, 4)), ((5,), (2, 1)), ((2, 3), (3,)), ((), (4,)),
                   ((0,), (1,)), ((1, 0), (3, 1)), ((8, 1, 6, 1), (7, 1, 5)),
                   ((2, 1), (1, 3), (4, 1, 1)), ((6,),), (),
                   ((2, 3), (3, 2)), ((4,), (5,)), ((0,), (3,)), ((2, 1), (8, 4, 3))]


def broadcasting_rules(impl, *, seed, device):
    """The broadcast shape, or the exception, for compatible and incompatible shapes."""
    fn = impl.tensors.broadcast_shapes
    out = {}
    for shapes in BROADCAST_CASES:
        label = " and ".join(str(s) for s in shapes) or "no shapes"
        out[label] = _outcome(fn, *shapes)
    return out


def _scaled_inputs(g, dtype, device):
    return {"(4, 6)": _randn(g, (4, 6), dtype, device),
            "(4, 6) scaled x1000": 1000.0 * _randn(g, (4, 6), dtype, device),
            "(2, 3, 5) scaled x1000": 1000.0 * _randn(g, (2, 3, 5), dtype, device),
            "empty (0, 5)": _randn(g, (0, 5), dtype, device),
            "empty (3, 0)": _randn(g, (3, 0), dtype, device)}


def softmax_cases(impl, *, seed, device, dtype="float32"):
    """softmax along the last and the first dim, on large, non-contiguous and empty inputs."""
    return _along_both_dims(impl.tensors.softmax, seed, device, dtype)


def logsumexp_cases(impl, *, seed, device, dtype="float32"):
    """logsumexp along the last and the first dim, on the same inputs as softmax."""
    return _along_both_dims(impl.tensors.logsumexp, seed, device, dtype)


def _along_both_dims(fn, seed, device, dtype):
    g = _generator(seed)
    out = {}
    for label, x in _scaled_inputs(g, _dtype(dtype), device).items():
        for layout, xx in (("contiguous", x), ("non-contiguous", _noncontiguous(x))):
            for dim in (-1, 0, 1) if x.dim() == 3 else (-1, 0):
                out[f"{label} {layout} dim={dim}"] = _call(fn, xx, dim=dim)
    return out


def distance_cases(impl, *, seed, device, dtype="float32"):
    """Distances between point sets, incl. empty sets and zero-dimensional points."""
    g = _generator(seed)
    out = {}
    for label, (n, m, d) in {"7 x 5 points in 3-D": (7, 5, 3), "N = 0": (0, 5, 3),
                             "M = 0": (4, 0, 3), "D = 0": (3, 2, 0),
                             "40 x 30 points in 16-D": (40, 30, 16)}.items():
        make = lambda: (_randn(g, (n, d), _dtype(dtype), device),  # noqa: E731
                        _randn(g, (m, d), _dtype(dtype), device))
        for layout, (x, y) in _both_layouts(make).items():
            out[f"{label} {layout}"] = _call(impl.tensors.pairwise_distances, x, y)
    # close pairs far from the origin: ||x||^2 + ||y||^2 - 2 x.y cancels terms of 8e4 to
    # leave 1e-4, below float32's rounding of them (noise, or the root of a negative: NaN);
    # the differences themselves are exact
    x = 100.0 + _randn(g, (6, 8), _dtype(dtype), device)
    y = torch.cat([x[1:4] + 1e-2 * _randn(g, (3, 8), _dtype(dtype), device),
                   100.0 + _randn(g, (2, 8), _dtype(dtype), device)])
    out["close pairs far from the origin"] = _call(impl.tensors.pairwise_distances, x, y)
    return out


def _distance_points(seed, device, n, m, d):
    g = _generator(seed)
    return _randn(g, (n, d), torch.float32, device), _randn(g, (m, d), torch.float32, device)


def distance_speed(impl, *, seed, device, n=400, m=300, d=32):
    """A timed callable: all distances between 400 and 300 points in 32-D."""
    x, y = _distance_points(seed, device, n, m, d)
    fn = impl.tensors.pairwise_distances
    return lambda: fn(x, y)


def distance_speed_cdist(impl, *, seed, device, n=400, m=300, d=32):
    """The speed baseline where there is no reference: torch.cdist on the same points."""
    x, y = _distance_points(seed, device, n, m, d)
    return lambda: torch.cdist(x, y)
