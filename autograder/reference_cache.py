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
        return self.folder / entry_key(assignment, impl, check, seed_offset)

    def get(self, assignment, impl, check, seed_offset):
        """The stored outcome (as a runner ``Outcome``), or None."""
        path = self._path(assignment, impl, check, seed_offset)
        try:
            outcome = decode(path.read_bytes())
        except Exception:  # missing, or unreadable: compute it again
            self.misses += 1
            return None
        self.hits += 1
        return outcome

    def put(self, assignment, impl, check, seed_offset, outcome):
        if outcome.status not in CACHEABLE:
            return
        self.write(entry_key(assignment, impl, check, seed_offset), encode(outcome))

    def keys(self, assignment_ids):
        """The key of every stored entry of these assignments."""
        return [path.relative_to(self.folder).as_posix() for assignment_id in assignment_ids
                for path in sorted((self.folder / assignment_id).rglob("*.pt"))]

    def entries(self, assignment_ids):
        """(key, bytes) of every stored entry of these assignments."""
        for key in self.keys(assignment_ids):
            try:
                yield key, (self.folder / key).read_bytes()
            except OSError:
                continue

    def write(self, key, data):
        """Store an encoded entry under ``key`` (atomically)."""
        path = self.folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)


def entry_key(assignment, impl, check, seed_offset):
    """An entry's name inside a version's folder (also its name in a cluster's shared store:
    ``autograder.batch.ray_backend``)."""
    spec = json.dumps([check.scenario, check.params, check.device, check.seed + seed_offset],
                      sort_keys=True, default=str)
    name = hashlib.sha256(spec.encode()).hexdigest()[:16]
    safe_impl = impl.replace(":", "-").replace("/", "-")
    return f"{assignment.id}/{safe_impl}/{check.id}-{name}.pt"


def encode(outcome):
    """An outcome as the bytes of a cache entry."""
    import torch
    buffer = io.BytesIO()
    torch.save({"status": outcome.status, "data": outcome.data, "message": outcome.message,
                "forbidden_calls": list(outcome.forbidden_calls),
                "seconds": outcome.scenario_seconds}, buffer)
    return buffer.getvalue()


def decode(data):
    """The outcome a cache entry holds (read data-only); raises on anything unreadable."""
    import torch

    from autograder.runner import Outcome
    entry = torch.load(io.BytesIO(data), weights_only=True)
    return Outcome(status=entry["status"], data=entry["data"], message=entry["message"],
                   forbidden_calls=list(entry["forbidden_calls"]),
                   scenario_seconds=entry.get("seconds"))
