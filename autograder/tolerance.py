"""Dtype-aware tolerances, in named classes.

``default`` is exactly what ``torch.testing.assert_close`` uses for each dtype.
Looser classes exist for results whose rounding legitimately depends on the
order of operations: ``reduction`` (sums, means, matrix products) and
``trajectory`` (many dependent steps, such as an optimizer run). A check names
its class in the manifest, or overrides rtol/atol outright.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    """Elementwise closeness: |got - expected| <= atol + rtol * |expected|."""

    rtol: float
    atol: float

    def describe(self):
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


_EXACT = Tolerance(0.0, 0.0)

# (rtol, atol) per dtype name and class; integers and bool are always exact.
# Keyed by name so that reading the manifest does not need to import torch.
_TABLE = {
    "default": {
        "float16": (1e-3, 1e-5),
        "bfloat16": (1.6e-2, 1e-5),
        "float32": (1.3e-6, 1e-5),
        "float64": (1e-7, 1e-7),
        "complex64": (1.3e-6, 1e-5),
        "complex128": (1e-7, 1e-7),
    },
    "reduction": {
        "float16": (5e-3, 1e-4),
        "bfloat16": (3e-2, 1e-4),
        "float32": (1e-5, 1e-5),
        "float64": (1e-7, 1e-7),
        "complex64": (1e-5, 1e-5),
        "complex128": (1e-7, 1e-7),
    },
    "trajectory": {
        "float16": (1e-2, 1e-3),
        "bfloat16": (5e-2, 1e-3),
        "float32": (1e-4, 1e-5),
        "float64": (1e-6, 1e-7),
        "complex64": (1e-4, 1e-5),
        "complex128": (1e-6, 1e-7),
    },
}

TOLERANCE_CLASSES = tuple(_TABLE)

# Python floats are compared as float64 values.
_PYTHON_FLOAT = "float64"


def tolerance_for(dtype, tolerance_class="default", rtol=None, atol=None):
    """The tolerance for ``dtype`` in ``tolerance_class``; rtol/atol override it."""
    if tolerance_class not in _TABLE:
        raise ValueError(f"unknown tolerance class {tolerance_class!r}; "
                         f"choose one of {', '.join(TOLERANCE_CLASSES)}")
    base = _TABLE[tolerance_class].get(str(dtype).replace("torch.", ""))
    if base is None:
        base = (_EXACT.rtol, _EXACT.atol)
    return Tolerance(base[0] if rtol is None else rtol, base[1] if atol is None else atol)


def tolerance_for_python_float(tolerance_class="default", rtol=None, atol=None):
    return tolerance_for(_PYTHON_FLOAT, tolerance_class, rtol, atol)
