"""Compare a result with the expected one: structure first, then values.

Results are plain data: tensors, numbers, strings, None, and lists, tuples or
dicts of them. ``compare_values`` walks both structures in step and reports
every place they differ, in traversal order, so the first mismatch of a
trajectory (a list of per-step snapshots) is the first step that diverged.

For each leaf the order is: type, then (for tensors) exact shape, dtype,
device and finiteness, and only then the values, with a dtype-aware tolerance.
"""
import math
import re
from dataclasses import dataclass, field

import torch

from autograder.i18n import _, language, tr
from autograder.tolerance import tolerance_for, tolerance_for_python_float
from autograder.wire import OPAQUE_KEY

MAX_MISMATCHES = 20


@dataclass
class Mismatch:
    """One place where the result differs: where, what kind, and the evidence."""

    path: tuple
    kind: str
    summary: str
    details: list = field(default_factory=list)

    @property
    def where(self):
        return format_path(self.path)


@dataclass
class Comparison:
    """The outcome of comparing a whole result; ``ok`` when nothing differs."""

    mismatches: list
    leaves: int
    truncated: bool = False

    @property
    def ok(self):
        return not self.mismatches

    @property
    def first(self):
        return self.mismatches[0] if self.mismatches else None


def format_path(path, steps=False):
    """A place in a result as a student reads it, one convention everywhere: the names of
    its entries joined by " › ", positions in a list counted from 1 ("item 2"), and with
    ``steps`` (a result with one entry per step) the first position as "step 3":
    ``(2, 'state', 'bias', 'exp_avg')`` -> ``step 3 › state › bias › exp_avg``. The root is
    "the result". (An element of a tensor is given as its Python index, from 0: [1, 2].)"""
    if not path:
        return _("the result")
    parts = []
    for position, key in enumerate(path):
        if isinstance(key, int) and not isinstance(key, bool):
            parts.append(tr("step {step}", step=key + 1) if steps and position == 0
                         else tr("item {item}", item=key + 1))
        else:
            parts.append(str(key))
    return " › ".join(parts)


def format_index(index):
    """A tensor element's Python index: ``(1, 2)`` -> ``[1, 2]``; a 0-dim tensor's ``[()]``."""
    return "[" + ", ".join(str(i) for i in index) + "]" if index else "[()]"


def describe_type(value):
    """A short, student-readable name of a result's type."""
    if isinstance(value, dict) and set(value) == {OPAQUE_KEY}:
        return tr("an object of type {kind}", kind=value[OPAQUE_KEY])
    if value is None:
        return "None"
    if isinstance(value, torch.Tensor):
        return _("a Tensor")
    name = type(value).__name__
    if language() != "en":
        return tr("a {kind}", kind=name)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def describe_tensor(t):
    return tr("shape {shape}, {dtype}, on {device}", shape=tuple(t.shape),
              dtype=str(t.dtype).replace("torch.", ""), device=t.device)


def compare_values(expected, got, tolerance_class="default", rtol=None, atol=None,
                   max_mismatch=0.0, reveal=True):
    """Compare ``got`` with ``expected``; return a ``Comparison`` listing every difference.

    ``max_mismatch`` is the fraction of a tensor's elements that may lie beyond the
    tolerance (0 by default). Only a check whose result legitimately flips at ties,
    such as nearest-neighbour resampling, states a nonzero fraction.

    With ``reveal=False`` the messages never show an expected value, nor an error size
    from which one could be worked out: they say where the result differs, what the
    student's value is there, and the tolerance (a notebook's test cell, whose output the
    student reads, must not print the reference's values). Structure (type, shape, dtype,
    device, keys, lengths) is the contract, and is said either way.
    """
    state = _Walk(tolerance_class, rtol, atol, max_mismatch, reveal)
    state.visit((), expected, got)
    return Comparison(state.mismatches, state.leaves, state.truncated)


class _Walk:
    def __init__(self, tolerance_class, rtol, atol, max_mismatch=0.0, reveal=True):
        self.tolerance = (tolerance_class, rtol, atol)
        self.reveal = reveal
        self.max_mismatch = max_mismatch or 0.0
        self.mismatches = []
        self.leaves = 0
        self.truncated = False

    def add(self, path, kind, summary, details=()):
        if len(self.mismatches) >= MAX_MISMATCHES:
            self.truncated = True
            return
        self.mismatches.append(Mismatch(path, kind, summary, list(details)))

    def visit(self, path, expected, got):
        raised, wanted = _raised(got), _raised(expected)
        if raised and raised != wanted:
            # the student's own exception, caught by the scenario: that is the cause
            self.leaves += 1
            self.add(path, "raised", tr("your code raised {error} here, where {wanted} was "
                                        "expected", error=raised, wanted=wanted) if wanted else
                     tr("your code raised {error} here, where it should have returned {what}",
                        error=raised, what=describe_type(expected)))
            return
        if wanted and not raised:
            self.leaves += 1
            what = got[len("returned "):] if isinstance(got, str) and got.startswith(
                "returned ") else describe_type(got)
            self.add(path, "raised", tr("expected your code to raise {wanted} here, but it "
                                        "returned {what}", wanted=wanted, what=what))
            return
        if not _same_kind(expected, got):
            self.add(path, "type", tr("expected {expected}, got {got}",
                                      expected=describe_type(expected), got=describe_type(got)))
            return
        if isinstance(expected, dict):
            self.visit_dict(path, expected, got)
        elif isinstance(expected, (list, tuple)):
            self.visit_sequence(path, expected, got)
        elif isinstance(expected, torch.Tensor):
            self.leaves += 1
            self.visit_tensor(path, expected, got)
        else:
            self.leaves += 1
            self.visit_scalar(path, expected, got)

    def visit_dict(self, path, expected, got):
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append(tr("missing {keys}", keys=", ".join(repr(k) for k in missing)))
            if extra:
                parts.append(tr("unexpected {keys}", keys=", ".join(repr(k) for k in extra)))
            self.add(path, "keys", tr("keys differ: {differences}",
                                      differences="; ".join(parts)),
                     [tr("expected keys: {keys}", keys=sorted(map(str, expected))),
                      tr("got keys:      {keys}", keys=sorted(map(str, got)))])
        for key in expected:
            if key in got:
                self.visit(path + (key,), expected[key], got[key])

    def visit_sequence(self, path, expected, got):
        if len(expected) != len(got):
            self.add(path, "length", tr("expected {expected} items, got {got}",
                                        expected=len(expected), got=len(got)))
        for index, (e, g) in enumerate(zip(expected, got)):
            self.visit(path + (index,), e, g)

    def visit_scalar(self, path, expected, got):
        if isinstance(expected, float):
            tol = tolerance_for_python_float(*self.tolerance)
            if not (math.isfinite(expected) and math.isfinite(got)):
                # NaN matches only NaN, an infinity only the same infinity
                if not (got == expected or (math.isnan(expected) and math.isnan(got))):
                    self.add(path, "value", self.value_summary(expected, got))
            elif not abs(got - expected) <= tol.atol + tol.rtol * abs(expected):
                detail = (tr("absolute error {error}", error=f"{abs(got - expected):.3g}")
                          if self.reveal else _("beyond tolerance"))
                self.add(path, "value", self.value_summary(expected, got),
                         [f"{detail} ({tol.describe()})"])
        elif expected != got:
            self.add(path, "value", self.value_summary(expected, got))

    def value_summary(self, expected, got):
        if self.reveal:
            return tr("expected {expected}, got {got}", expected=repr(expected), got=repr(got))
        return tr("got {got}, which is not the expected value", got=repr(got))

    def visit_tensor(self, path, expected, got):
        if tuple(expected.shape) != tuple(got.shape):
            self.add(path, "shape", tr("expected shape {expected}, got {got}",
                                       expected=tuple(expected.shape), got=tuple(got.shape)),
                     _shape_hint(expected, got))
            return
        if expected.dtype != got.dtype:
            self.add(path, "dtype", tr("expected dtype {expected}, got {got}",
                                       expected=expected.dtype, got=got.dtype),
                     _dtype_hint(expected, got))
            return
        if expected.device.type != got.device.type:
            self.add(path, "device", tr("expected a tensor on {expected}, got one on {got}",
                                        expected=expected.device, got=got.device))
            return
        expected, got = expected.detach().cpu(), got.detach().cpu()
        if self.check_finite(path, expected, got):
            self.check_close(path, expected, got)

    def check_finite(self, path, expected, got):
        if not (expected.is_floating_point() or expected.is_complex()):
            return True
        bad = ~torch.isfinite(got) & torch.isfinite(expected)
        if not bad.any():
            return True
        count = int(bad.sum())
        first = _index_of(bad, int(bad.flatten().nonzero()[0]))
        self.add(path, "nonfinite",
                 tr("{count} of {total} elements are NaN or Inf where a finite value was "
                    "expected", count=count, total=got.numel()),
                 [(tr("first at element {index}: expected {expected}, got {got}",
                      index=format_index(first), expected=_item(expected, first),
                      got=_item(got, first)) if self.reveal else
                   tr("first at element {index}: got {got}", index=format_index(first),
                      got=_item(got, first))),
                  _("look for a division by zero, log of 0, sqrt of a negative number, or exp "
                    "of a large value")])
        return False

    def check_close(self, path, expected, got):
        if expected.numel() == 0:
            return
        tol = tolerance_for(expected.dtype, *self.tolerance)
        if expected.dtype == torch.bool or not (expected.is_floating_point()
                                                or expected.is_complex()):
            bad = got != expected
            diff = (got.to(torch.float64) - expected.to(torch.float64)).abs()
            scale = expected.to(torch.float64).abs()
        else:
            wide = torch.complex128 if expected.is_complex() else torch.float64
            e, g = expected.to(wide), got.to(wide)
            diff = (g - e).abs()
            scale = e.abs()
            # NaN matches only NaN, an infinity only the same infinity
            special = ~torch.isfinite(e)
            same_special = special & ((g == e) | (torch.isnan(e) & torch.isnan(g)))
            diff = torch.where(same_special, torch.zeros_like(diff), diff)
            diff = torch.where(torch.isnan(diff) | (special & ~same_special),
                               torch.full_like(diff, math.inf), diff)
            scale = torch.where(special, torch.zeros_like(scale), scale)
            bad = diff > tol.atol + tol.rtol * scale
        if not bad.any():
            return
        count = int(bad.sum())
        if count <= self.max_mismatch * bad.numel():
            return
        summary, details = _value_report(expected, got, diff, scale, bad, tol, self.reveal)
        if self.max_mismatch:
            details.append(tr("up to {allowed} of the elements may differ (ties in "
                              "rounding); {share} do", allowed=f"{100.0 * self.max_mismatch:g}%",
                              share=f"{100.0 * count / bad.numel():.2f}%"))
        self.add(path, "values", summary, details)


# A wrong result "looks like" a known mistake that it does not match within tolerance when
# it lies this much closer to the mistake's result than to the reference's, and on the same
# side: the student's deviation from the reference points the way the mistake's does.
LOOKS_LIKE_RATIO = 0.1      # distance to the mistake <= 0.1 x distance to the reference
LOOKS_LIKE_COSINE = 0.9     # cosine between (got - reference) and (mistake - reference)


def looks_like(variant, reference, got):
    """Whether ``got`` deviates from ``reference`` the way ``variant`` (a known mistake's
    result) does, by the criterion above, over all their floating-point values. Structures
    that differ in any way other than values never look alike."""
    triples = []
    if not _float_leaves(variant, reference, got, triples) or not triples:
        return False
    total_ref = total_var = dot = norm_got = norm_var = 0.0
    for v, r, g in triples:
        off_ref, off_var = (g - r), (v - r)
        total_ref += float((g - r).pow(2).sum())
        total_var += float((g - v).pow(2).sum())
        dot += float((off_ref * off_var).sum())
        norm_got += float(off_ref.pow(2).sum())
        norm_var += float(off_var.pow(2).sum())
    if not all(map(math.isfinite, (total_ref, total_var, dot, norm_got, norm_var))):
        return False
    if total_ref == 0.0 or norm_var == 0.0:
        return False
    cosine = dot / math.sqrt(norm_got * norm_var)
    return (math.sqrt(total_var) <= LOOKS_LIKE_RATIO * math.sqrt(total_ref)
            and cosine >= LOOKS_LIKE_COSINE)


def _float_leaves(variant, reference, got, out):
    """Collect (variant, reference, got) float64 tensors leaf by leaf; False when the three
    structures differ (keys, lengths, types, shapes) or a leaf is not a number."""
    if isinstance(reference, dict):
        if not (isinstance(variant, dict) and isinstance(got, dict)
                and list(variant) == list(reference) == list(got)):
            return False
        return all(_float_leaves(variant[k], reference[k], got[k], out) for k in reference)
    if isinstance(reference, (list, tuple)):
        if not (isinstance(variant, (list, tuple)) and isinstance(got, (list, tuple))
                and len(variant) == len(reference) == len(got)):
            return False
        return all(_float_leaves(v, r, g, out) for v, r, g in zip(variant, reference, got))
    if isinstance(reference, torch.Tensor):
        if not (isinstance(variant, torch.Tensor) and isinstance(got, torch.Tensor)
                and variant.shape == reference.shape == got.shape):
            return False
        if reference.is_floating_point():
            out.append(tuple(t.detach().to("cpu", torch.float64)
                             for t in (variant, reference, got)))
            return True
        return torch.equal(variant.cpu(), got.cpu())   # as for other exact leaves, below
    if isinstance(reference, float) and isinstance(variant, float) and isinstance(got, float):
        out.append(tuple(torch.tensor([x], dtype=torch.float64)
                         for x in (variant, reference, got)))
        return True
    # A leaf that is not a float (a count, a flag, an exception's name) must equal the
    # mistake's: where the mistake changes it and got does not, that is evidence against
    # the mistake; where the mistake leaves it as the reference has it, so must got.
    return bool(variant == got)


_RAISED = re.compile(r"raise[sd]? ([A-Za-z_][\w.]*)")


def _raised(value):
    """The exception a scenario recorded instead of a result ("raises ValueError"), or ''."""
    if isinstance(value, str):
        match = _RAISED.fullmatch(value.strip())
        if match:
            return match.group(1)
    return ""


def _same_kind(expected, got):
    if isinstance(expected, torch.Tensor) or isinstance(got, torch.Tensor):
        return isinstance(expected, torch.Tensor) and isinstance(got, torch.Tensor)
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got)
    return type(expected) is type(got)


def _index_of(mask_or_tensor, flat_index):
    shape = tuple(mask_or_tensor.shape)
    if not shape:
        return ()
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat_index), shape))


def _item(t, index):
    value = t[index] if index else t
    return value.item()


def _value_report(expected, got, diff, scale, bad, tol, reveal=True):
    count, total = int(bad.sum()), bad.numel()
    worst = _index_of(diff, int(torch.where(bad, diff, torch.zeros_like(diff)).flatten().argmax()))
    rel = torch.where(scale == 0, torch.where(diff == 0, 0.0, math.inf), diff / scale)
    summary = tr("{count} of {total} elements ({share}%) differ beyond tolerance", count=count,
                 total=total, share=f"{100.0 * count / total:.1f}")
    if not reveal:
        first = _index_of(bad, int(bad.flatten().nonzero()[0]))
        return summary, [f"{describe_tensor(expected)}",
                         tr("tolerance: {tolerance}", tolerance=tol.describe()),
                         tr("first at element {index}, where yours is {got}",
                            index=format_index(first), got=repr(_item(got, first)))]
    details = [
        f"{describe_tensor(expected)}",
        tr("max absolute error {absolute}, max relative error {relative} ({tolerance})",
           absolute=f"{float(diff.max()):.3g}", relative=f"{float(rel.max()):.3g}",
           tolerance=tol.describe()),
        tr("worst at element {index}: expected {expected}, got {got}",
           index=format_index(worst), expected=repr(_item(expected, worst)),
           got=repr(_item(got, worst))),
    ]
    return summary, details


def _shape_hint(expected, got):
    try:
        broadcast = tuple(torch.broadcast_shapes(expected.shape, got.shape))
    except RuntimeError:
        return []
    if broadcast != tuple(got.shape) or broadcast != tuple(expected.shape):
        return [tr("the two shapes would broadcast silently (to {broadcast}), which hides the "
                   "bug in arithmetic; make the shape exactly {shape}", broadcast=broadcast,
                   shape=tuple(expected.shape))]
    return []


def _dtype_hint(expected, got):
    if expected.dtype == torch.float32 and got.dtype == torch.float64:
        return [_("float64 crept in: a tensor built from Python floats with "
                  "dtype=torch.float64, or numpy's default float64; keep the input's dtype")]
    if expected.is_floating_point() and not got.is_floating_point():
        return [_("an integer or bool result where a float was expected: check integer "
                  "division and comparisons")]
    return []
