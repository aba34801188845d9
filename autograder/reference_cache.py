"""Reference outputs on disk, so a batch computes each once and the next batch not at all.

An entry is what the reference (or a known-mistake variant) returned for one check on one
seed: its status, message and data. It is keyed by the kit's version (a digest of the
reference, the scenarios, the known mistakes, the manifest, the engine and the versions of
torch and torchvision), the assignment, the implementation, the check and its exact
parameters, and the seed offset. Any edit to any of those is a new version, so an entry
is never stale. Entries are written atomically and read back with
``torch.load(weights_only=True)``; an unreadable entry counts as missing.

Only settled outcomes are stored: a timeout, a crash or a fault of the kit is computed
again next time.
"""
import hashlib
import importlib.metadata
import io
import json
import os
import tempfile
from pathlib import Path

from autograder.manifest import KIT_ROOT

CACHEABLE = ("ok", "error", "not_implemented")


def default_folder():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytorch-exercise-kit" / "reference"


def kit_version(kit_root=KIT_ROOT):
    """A digest of everything a reference output depends on."""
    digest = hashlib.sha256()
    for folder in ("reference", "assignments", "autograder"):
        for path in sorted(Path(kit_root, folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(kit_root)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    for package in ("torch", "torchvision", "numpy"):
        try:
            digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{package} missing".encode())
    return digest.hexdigest()[:24]


class ReferenceCache:
    """A folder of reference outputs for one kit version."""

    def __init__(self, folder=None, version=None):
        self.version = version or kit_version()
        self.folder = Path(folder or default_folder()) / self.version
        self.hits = self.misses = 0

    def _path(self, assignment, impl, check, seed_offset):
        spec = json.dumps([check.scenario, check.params, check.device, check.seed + seed_offset],
                          sort_keys=True, default=str)
        name = hashlib.sha256(spec.encode()).hexdigest()[:16]
        safe_impl = impl.replace(":", "-").replace("/", "-")
        return self.folder / assignment.id / safe_impl / f"{check.id}-{name}.pt"

    def get(self, assignment, impl, check, seed_offset):
        """The stored outcome (as a runner ``Outcome``), or None."""
        import torch

        from autograder.runner import Outcome
        path = self._path(assignment, impl, check, seed_offset)
        try:
            entry = torch.load(io.BytesIO(path.read_bytes()), weights_only=True)
        except Exception:  # missing, or unreadable: compute it again
            self.misses += 1
            return None
        self.hits += 1
        return Outcome(status=entry["status"], data=entry["data"], message=entry["message"],
                       forbidden_calls=list(entry["forbidden_calls"]),
                       scenario_seconds=entry.get("seconds"))

    def put(self, assignment, impl, check, seed_offset, outcome):
        if outcome.status not in CACHEABLE:
            return
        import torch
        path = self._path(assignment, impl, check, seed_offset)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save({"status": outcome.status, "data": outcome.data, "message": outcome.message,
                    "forbidden_calls": list(outcome.forbidden_calls),
                    "seconds": outcome.scenario_seconds}, buffer)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry-")
        with os.fdopen(handle, "wb") as out:
            out.write(buffer.getvalue())
        os.replace(temporary, path)
