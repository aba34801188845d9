"""Recorded reference outputs, for grading where the reference solution is not present.

A student's repository (``python -m autograder export``) holds no reference solution. What
its agreement checks compare against is recorded here, for the public seeds:

* the reference's output of every CPU agreement check, in full, so a wrong result gets the
  same message it gets in the kit (where it first differs, the expected and actual values);
* for every known mistake that changes a check's result, that result as a *sketch*: the
  structure, every small tensor in full, and each large tensor (more than
  ``SKETCH_ABOVE`` elements) as its shape, dtype and the values at 512 fixed positions.
  A student's result is recognised as the mistake when it matches the sketch everywhere
  the sketch has values, with the check's tolerance. A mistake that raises is recorded as
  its exception message;
* the titles and explanations of the known mistakes (never their patches);
* for a speed check with a baseline (a torch built-in doing the same work), how long the
  reference takes relative to it on the machine that recorded the snapshots.

A snapshot is ``assignments/<id>/snapshots.pt.gz``: gzip around ``torch.save`` of plain
data, read back with ``torch.load(weights_only=True)``. It carries a digest of everything
its outputs depend on (the reference files, the scenarios, the known mistakes, the check
declarations, the engine's data conversion); ``python -m autograder snapshots`` writes
them, ``--check`` says which are out of date, and a test fails when one is.
"""
import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.manifest import KIT_ROOT, REFERENCE_ROOT

FORMAT = 1
FILE_NAME = "snapshots.pt.gz"
SKETCH_ABOVE = 1024   # elements: larger tensors of a mistake's output are sketched
SKETCH_POINTS = 512
SAME = "__same_as_reference__"
SKETCH = "__sketch__"


def snapshot_path(assignment):
    return assignment.folder / FILE_NAME


def digest(assignment, reference_root=REFERENCE_ROOT, kit_root=KIT_ROOT):
    """A digest of everything the recorded outputs depend on."""
    hasher = hashlib.sha256()
    folders = [assignment.id] + [other for other, _ in assignment.uses]
    for folder in folders:
        for path in sorted((Path(reference_root) / folder).glob("*.py")):
            hasher.update(f"reference/{folder}/{path.name}\0".encode() + path.read_bytes())
    for path in [assignment.scenarios_path, assignment.folder / "mistakes.toml",
                 Path(kit_root) / "autograder" / "wire.py",
                 Path(kit_root) / "autograder" / "sample_data.py"]:
        if path.is_file():
            hasher.update(path.name.encode() + b"\0" + path.read_bytes())
    declared = [(c.id, c.kind, c.scenario, json.dumps(c.params, sort_keys=True, default=str),
                 c.device, c.seed, c.baseline) for c in assignment.checks]
    hasher.update(json.dumps(declared).encode())
    return hasher.hexdigest()[:24]


# --- writing ---------------------------------------------------------------------------

def record(assignment, reference_side, speed_calibrations=None):
    """The snapshot of one assignment, as plain data, from a live ``ReferenceSide``."""
    from autograder.compare import compare_values
    from autograder.grading import split_notes
    import torch
    checks = {}
    for check in assignment.checks:
        if check.kind != "agreement" or check.device != "cpu":
            continue
        reference = reference_side.output(check)
        entry = {"reference": _outcome(reference, reference.data), "mistakes": {}}
        expected, _ = split_notes(reference.data)
        tolerance = (check.tolerance, check.rtol, check.atol, check.max_mismatch)
        for mistake, variant in reference_side.variant_outputs(check):
            if variant.status == "error":
                entry["mistakes"][mistake.id] = _outcome(variant, None)
            elif variant.ok:
                data, _ = split_notes(variant.data)
                if not compare_values(expected, data, *tolerance).ok:
                    entry["mistakes"][mistake.id] = _outcome(variant, _sketch(reference.data,
                                                                              variant.data))
        checks[check.id] = entry
    return {"format": FORMAT, "assignment": assignment.id, "digest": digest(assignment),
            "torch": str(torch.__version__), "checks": checks,
            "mistakes": [{"id": m.id, "title": m.title, "explanation": m.explanation,
                          "title_ja": m.title_ja, "explanation_ja": m.explanation_ja}
                         for m in assignment.mistakes],
            "speed": dict(speed_calibrations or {})}


def write(path, snapshot):
    import torch
    buffer = io.BytesIO()
    torch.save(snapshot, buffer)
    Path(path).write_bytes(gzip.compress(buffer.getvalue(), 9, mtime=0))


def _outcome(outcome, data):
    return {"status": outcome.status, "message": outcome.message, "data": data,
            "forbidden_calls": list(outcome.forbidden_calls),
            "seconds": outcome.scenario_seconds}


def _sketch(reference, variant, path=(0,)):
    """``variant`` with what equals ``reference`` marked as such, and large tensors sketched."""
    import torch
    if isinstance(variant, torch.Tensor):
        if isinstance(reference, torch.Tensor) and reference.dtype == variant.dtype \
                and reference.shape == variant.shape and torch.equal(reference, variant):
            return {SAME: True}
        if variant.numel() <= SKETCH_ABOVE:
            return variant
        index = _positions(variant.numel())
        return {SKETCH: {"shape": list(variant.shape), "dtype": str(variant.dtype),
                         "index": index, "values": variant.reshape(-1)[index].clone()}}
    if isinstance(variant, dict):
        other = reference if isinstance(reference, dict) else {}
        return {k: _sketch(other.get(k), v) for k, v in variant.items()}
    if isinstance(variant, (list, tuple)):
        other = reference if isinstance(reference, (list, tuple)) else []
        items = [_sketch(other[i] if i < len(other) else None, v) for i, v in enumerate(variant)]
        return items if isinstance(variant, list) else tuple(items)
    return variant


def _positions(numel):
    import torch
    generator = torch.Generator().manual_seed(numel)
    return torch.randperm(numel, generator=generator)[:SKETCH_POINTS].sort().values


# --- reading ---------------------------------------------------------------------------

def load(path):
    import torch
    return torch.load(io.BytesIO(gzip.decompress(Path(path).read_bytes())), weights_only=True)


def expand(recorded, reference, got):
    """A mistake's recorded result made comparable with ``got``: what equalled the reference
    becomes the reference's value again, and a sketch takes ``got``'s values except at its
    recorded positions, so comparing with ``got`` compares exactly those positions (and
    the structure). A sketch ``got`` cannot fill stays a marker that matches nothing."""
    import torch
    if isinstance(recorded, dict) and recorded.get(SAME) is True and len(recorded) == 1:
        return reference
    if isinstance(recorded, dict) and set(recorded) == {SKETCH}:
        sketch = recorded[SKETCH]
        if not (isinstance(got, torch.Tensor) and list(got.shape) == sketch["shape"]
                and str(got.dtype) == sketch["dtype"]):
            return {"__opaque_type__": "a recorded mistake's tensor"}
        filled = got.detach().clone().reshape(-1)
        filled[sketch["index"]] = sketch["values"].to(filled.device)
        return filled.reshape(got.shape)
    if isinstance(recorded, dict):
        ref = reference if isinstance(reference, dict) else {}
        mine = got if isinstance(got, dict) else {}
        return {k: expand(v, ref.get(k), mine.get(k)) for k, v in recorded.items()}
    if isinstance(recorded, (list, tuple)):
        ref = reference if isinstance(reference, (list, tuple)) else []
        mine = got if isinstance(got, (list, tuple)) else []
        items = [expand(v, ref[i] if i < len(ref) else None, mine[i] if i < len(mine) else None)
                 for i, v in enumerate(recorded)]
        return items if isinstance(recorded, list) else tuple(items)
    return recorded


@dataclass
class Stale:
    assignment: str
    reason: str


def stale(manifest, reference_root=REFERENCE_ROOT):
    """[Stale] for every assignment whose snapshot is missing or out of date."""
    found = []
    for assignment in manifest.assignments:
        path = snapshot_path(assignment)
        if not path.is_file():
            found.append(Stale(assignment.id, f"{path.name} is missing"))
            continue
        try:
            recorded = load(path)
        except Exception as error:  # unreadable: as good as missing
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            found.append(Stale(assignment.id, f"{path.name} cannot be read ({type(error).__name__}"
                                              f": {first[:120]})"))
            continue
        if recorded.get("digest") != digest(assignment, reference_root):
            found.append(Stale(assignment.id, "the reference, the scenarios, the known "
                                              "mistakes or the checks changed since it was "
                                              "recorded"))
    return found


@dataclass
class SnapshotSet:
    """The snapshots of one assignment, loaded."""

    assignment: object
    data: dict = field(default_factory=dict)

    @classmethod
    def of(cls, assignment):
        path = snapshot_path(assignment)
        return cls(assignment, load(path)) if path.is_file() else None

    def covers(self, check):
        return check.id in self.data.get("checks", {})

    def reference(self, check):
        return self.data["checks"][check.id]["reference"]

    def mistakes(self, check):
        return self.data["checks"][check.id]["mistakes"]

    def mistake_titles(self):
        return {m["id"]: m for m in self.data.get("mistakes", [])}

    def calibration(self, check):
        return self.data.get("speed", {}).get(check.id)


# --- building, from the kit --------------------------------------------------------------

def build(assignment, policy=None):
    """Record one assignment's snapshot with the reference (the kit only): its outputs, its
    mistakes' outputs, and the speed calibrations of its CPU speed checks with a baseline."""
    from autograder.grading import ReferenceSide, scenario_request
    from autograder.runner import WorkerRunner
    from autograder.timing import SpeedPolicy, measure_speed
    policy = policy or SpeedPolicy()
    reference = ReferenceSide(assignment)
    baseline = None
    try:
        calibrations = {}
        for check in assignment.checks:
            if check.kind != "speed" or check.baseline is None or check.device != "cpu":
                continue
            if baseline is None:
                baseline = WorkerRunner("baseline")
                baseline.load({"op": "load", "name": "baseline", "assignment": assignment.id,
                               "root": str(assignment.folder.parent), "files": [],
                               "forbidden": [], "scenarios": str(assignment.scenarios_path),
                               "patched_sources": None, "add_to_path": False, "confine": None})
            reference.load_reference_now()
            timeout = assignment.timeout_for(check)
            sides = [(reference.runner, "reference", check.scenario),
                     (baseline, "baseline", check.baseline)]
            for runner, impl, scenario in sides:
                request = scenario_request("speed_setup", impl, check, 0, check.id)
                request["scenario"] = scenario
                outcome = runner.run(request, timeout)
                if not outcome.ok:
                    raise RuntimeError(f"{assignment.id}::{check.id}: the {impl} could not be "
                                       f"set up for timing: {outcome.message}")

            def timer(runner, impl):
                def time_block(iterations):
                    outcome = runner.run({"op": "speed_run", "handle": check.id, "impl": impl,
                                          "iterations": iterations}, timeout)
                    if not outcome.ok:
                        raise RuntimeError(f"{check.id}: timing the {impl} failed: "
                                           f"{outcome.message}")
                    return outcome.seconds
                return time_block

            verdict = measure_speed(timer(reference.runner, "reference"),
                                    timer(baseline, "baseline"), 1e9, policy)
            calibrations[check.id] = {"baseline": check.baseline_title,
                                      "reference_over_baseline": float(verdict.median)}
            for runner in (reference.runner, baseline):
                runner.discard(check.id)
        return record(assignment, reference, calibrations)
    finally:
        reference.close()
        if baseline is not None:
            baseline.close()
