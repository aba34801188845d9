"""The kit's assignments, declared as data and validated in one place.

``assignments/manifest.toml`` lists every assignment with its checks; each
assignment may keep its known mistakes in its own ``mistakes.toml``. Both are
read here, and every problem is reported with the entry it belongs to, e.g.
``manifest.toml: assignment '03_adam', check 'adam_f32': points must be > 0``.
"""
import ast
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.tolerance import TOLERANCE_CLASSES

FORMAT_VERSION = 1
KIT_ROOT = Path(__file__).resolve().parent.parent
# The kit keeps its assignments under assignments/; a student's repository made by
# `python -m autograder export` has the manifest at its root, beside one folder per
# assignment, and no reference/ or student_template/ (the student's files are the tree).
DEFAULT_MANIFEST = (KIT_ROOT / "assignments" / "manifest.toml"
                    if (KIT_ROOT / "assignments" / "manifest.toml").is_file()
                    else KIT_ROOT / "manifest.toml")
REFERENCE_ROOT = KIT_ROOT / "reference"
TEMPLATE_ROOT = KIT_ROOT / "student_template" if (KIT_ROOT / "student_template").is_dir() \
    else KIT_ROOT

SEED_CONCEPTS = (
    "PyTorch", "Tensor", "Tensor Operations", "Autograd", "CUDA Tensors",
    "Computational Graph", "torch.nn", "Gradient Descent", "Forward Method", "Module",
    "torch.optim", "Sequential", "Loss Function", "SGD", "DataLoader", "Adam",
    "Batch Processing", "Dataset", "Data Augmentation", "Custom Dataset", "Transforms",
    "Backward Method",
)
CHECK_KINDS = ("agreement", "speed")
DEVICES = ("cpu", "cuda")


class ManifestError(ValueError):
    """An invalid manifest entry; the message names the entry."""


@dataclass(frozen=True)
class Patch:
    """Replace the text ``old`` (which must occur exactly once) with ``new``."""

    old: str
    new: str


@dataclass(frozen=True)
class Mistake:
    """A known mistake: the reference with ``patches`` applied to ``file``."""

    id: str
    title: str
    explanation: str
    file: str
    patches: tuple
    title_ja: str = ""          # the same in Japanese (autograder.i18n)
    explanation_ja: str = ""


@dataclass(frozen=True)
class Check:
    """One graded check: a scenario run against an implementation."""

    id: str
    title: str
    kind: str                 # "agreement": compare data; "speed": paired timing ratio
    scenario: str             # function name in the assignment's scenarios.py
    points: float
    params: dict = field(default_factory=dict)   # keyword arguments for the scenario
    tolerance: str = "default"                   # a class from autograder.tolerance
    rtol: float = None
    atol: float = None
    max_mismatch: float = 0.0  # fraction of a tensor's elements allowed beyond tolerance
    trajectory: bool = False  # the result is a list of per-step snapshots
    device: str = "cpu"       # "cuda" checks are not evaluated without a CUDA device
    timeout: float = None     # seconds; defaults to the assignment's
    seed: int = 0
    budget: float = None      # speed only: the largest allowed time ratio to the reference
    requires: str = None      # speed only: a check that must pass for points to count
    hint: str = None          # shown when the check fails: what usually causes it
    allowed: tuple = ()       # forbidden names this check permits (its task needs them)
    baseline: str = None      # speed only: a scenario doing the same work with torch built-ins
    baseline_title: str = None  # what that baseline is, as the student reads it
    title_ja: str = None      # the title, the hint and the baseline's name in Japanese
    hint_ja: str = None       # (autograder.i18n picks them when Japanese is in use)
    baseline_title_ja: str = None


@dataclass(frozen=True)
class Assignment:
    """One assignment: its files, checks and known mistakes."""

    id: str
    title: str
    concepts: tuple
    files: tuple              # the student's files, relative to <solution tree>/<id>/
    checks: tuple
    mistakes: tuple
    folder: Path              # assignments/<id>/
    timeout: float = 60.0
    forbidden: tuple = ()     # dotted names the student's code may not call
    time_budget: float = 600.0  # seconds for all of a solution's requests together
    load_timeout: float = 60.0  # seconds to import the solution (once for all checks)
    uses: tuple = ()          # (assignment id, files) of earlier parts its scenarios load
    title_ja: str = ""        # the title in Japanese (autograder.i18n)
    timeout_factor: float = 20.0  # a check may take this many times the reference's time,
    timeout_floor: float = 5.0    # and at least this many seconds (at most its timeout)

    @property
    def scenarios_path(self):
        return self.folder / "scenarios.py"

    def check(self, check_id):
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(f"assignment {self.id!r} has no check {check_id!r}")

    def timeout_for(self, check):
        """The longest any run of ``check`` may take (seconds)."""
        return check.timeout if check.timeout is not None else self.timeout

    def timeout_given(self, check, reference_seconds):
        """How long the solution's code may run ``check``, once the reference's own time on
        it is known: ``timeout_factor`` times that, at least ``timeout_floor`` seconds, at
        most ``timeout_for(check)``. Unknown (None): ``timeout_for(check)``."""
        ceiling = self.timeout_for(check)
        if reference_seconds is None:
            return ceiling
        return min(ceiling, max(self.timeout_floor, self.timeout_factor * reference_seconds))


@dataclass(frozen=True)
class Manifest:
    path: Path
    assignments: tuple

    def assignment(self, assignment_id):
        for assignment in self.assignments:
            if assignment.id == assignment_id:
                return assignment
        known = ", ".join(a.id for a in self.assignments)
        raise ManifestError(f"{self.path.name}: no assignment {assignment_id!r} "
                            f"(known: {known})")


def resolve_solution(value):
    """``'reference'`` / ``'template'`` / a path -> an absolute solution-tree path."""
    named = {"reference": REFERENCE_ROOT, "template": TEMPLATE_ROOT}
    return named.get(str(value), Path(value).resolve())


def load_manifest(path=DEFAULT_MANIFEST, reference_root=None):
    """Read and validate the manifest; with ``reference_root``, also check mistake patches."""
    path = Path(path)
    raw = _read_toml(path, path.name)
    where = path.name
    _require(raw.get("format_version") == FORMAT_VERSION, where,
             f"format_version must be {FORMAT_VERSION}, got {raw.get('format_version')!r}")
    entries = raw.get("assignment", [])
    _require(isinstance(entries, list) and entries, where, "needs at least one [[assignment]]")
    assignments = tuple(_assignment(entry, path.parent, f"{where}: assignment #{i + 1}")
                        for i, entry in enumerate(entries))
    _require_unique([a.id for a in assignments], where, "assignment id")
    assignments = _resolve_uses(assignments, where)
    if reference_root is not None:
        for assignment in assignments:
            validate_patches(assignment, Path(reference_root))
    return Manifest(path, assignments)


def _resolve_uses(assignments, where):
    """``uses = ["03_adam"]`` becomes (("03_adam", ("optimizers.py",)),): the files of the
    earlier assignments whose parts an assignment's scenarios load."""
    from dataclasses import replace
    by_id = {a.id: a for a in assignments}
    resolved = []
    for assignment in assignments:
        unknown = [u for u in assignment.uses if u not in by_id or u == assignment.id]
        _require(not unknown, f"{where}: assignment {assignment.id!r}",
                 f"uses unknown or itself: {unknown}")
        resolved.append(replace(assignment, uses=tuple((u, by_id[u].files)
                                                       for u in assignment.uses)))
    return tuple(resolved)


def validate_patches(assignment, reference_root):
    """Each mistake's ``old`` text must occur exactly once in the reference file."""
    for mistake in assignment.mistakes:
        where = f"mistakes of {assignment.id!r}, mistake {mistake.id!r}"
        source_path = reference_root / assignment.id / mistake.file
        _require(source_path.is_file(), where, f"reference file {mistake.file} not found")
        apply_patches(source_path.read_text(), mistake, where)


def apply_patches(source, mistake, where=None):
    """Return ``source`` with the mistake's patches applied, or raise ManifestError."""
    where = where or f"mistake {mistake.id!r}"
    for number, patch in enumerate(mistake.patches, 1):
        count = source.count(patch.old)
        _require(count == 1, where, f"patch {number}: its 'old' text occurs {count} times "
                                    f"in {mistake.file}; it must occur exactly once")
        source = source.replace(patch.old, patch.new)
    return source


def _assignment(entry, manifest_dir, where):
    _require(isinstance(entry, dict), where, "must be a table")
    assignment_id = _field(entry, "id", str, where)
    where = where.split(": ")[0] + f": assignment {assignment_id!r}"
    _known_keys(entry, {"id", "title", "concepts", "files", "timeout", "forbidden", "check",
                        "mistakes", "time_budget", "load_timeout", "uses", "timeout_factor",
                        "timeout_floor", "title_ja"}, where)
    folder = manifest_dir / assignment_id
    _require(folder.is_dir(), where, f"folder {folder.name}/ not found beside the manifest")
    _require((folder / "scenarios.py").is_file(), where, "scenarios.py not found in its folder")
    concepts = tuple(_field(entry, "concepts", list, where))
    unknown = [c for c in concepts if c not in SEED_CONCEPTS]
    _require(concepts and not unknown, where,
             f"concepts must be seed concepts; unknown: {unknown}" if unknown
             else "concepts must not be empty")
    timeout = float(_field(entry, "timeout", (int, float), where, 60.0))
    _require(timeout > 0, where, f"timeout must be > 0, got {timeout}")
    time_budget = float(_field(entry, "time_budget", (int, float), where, 600.0))
    _require(time_budget >= timeout, where,
             f"time_budget ({time_budget:g} s) must be at least the timeout ({timeout:g} s)")
    load_timeout = float(_field(entry, "load_timeout", (int, float), where, 60.0))
    _require(load_timeout > 0, where, f"load_timeout must be > 0, got {load_timeout}")
    timeout_factor = float(_field(entry, "timeout_factor", (int, float), where, 20.0))
    _require(timeout_factor >= 2, where, f"timeout_factor must be >= 2, got {timeout_factor}")
    timeout_floor = float(_field(entry, "timeout_floor", (int, float), where,
                                 min(5.0, timeout)))
    _require(0 < timeout_floor <= timeout, where,
             f"timeout_floor must be > 0 and at most the timeout ({timeout:g} s), "
             f"got {timeout_floor}")
    uses = _field(entry, "uses", list, where, [])
    _require(all(isinstance(u, str) for u in uses), where, "uses must list assignment ids")
    scenario_names = _function_names(folder / "scenarios.py")
    checks = tuple(_check(c, f"{where}, check #{i + 1}", scenario_names)
                   for i, c in enumerate(_field(entry, "check", list, where)))
    _require(checks, where, "needs at least one [[assignment.check]]")
    _require_unique([c.id for c in checks], where, "check id")
    ids = {c.id for c in checks}
    for check in checks:
        _require(check.requires is None or check.requires in ids, where,
                 f"check {check.id!r} requires unknown check {check.requires!r}")
    mistakes_file = _field(entry, "mistakes", str, where, None)
    mistakes = _mistakes(folder / mistakes_file, assignment_id) if mistakes_file else ()
    return Assignment(
        id=assignment_id, title=_field(entry, "title", str, where), concepts=concepts,
        files=tuple(_field(entry, "files", list, where)), checks=checks, mistakes=mistakes,
        folder=folder, timeout=timeout, forbidden=tuple(_field(entry, "forbidden", list,
                                                               where, [])),
        time_budget=time_budget, load_timeout=load_timeout, uses=tuple(uses),
        timeout_factor=timeout_factor, timeout_floor=timeout_floor,
        title_ja=_field(entry, "title_ja", str, where, ""))


def _check(entry, where, scenario_names):
    _require(isinstance(entry, dict), where, "must be a table")
    check_id = _field(entry, "id", str, where)
    where = where.rsplit(", check", 1)[0] + f", check {check_id!r}"
    _known_keys(entry, {f for f in Check.__dataclass_fields__}, where)
    for name, kind in (("title", str), ("kind", str), ("scenario", str),
                       ("points", (int, float)), ("params", dict), ("tolerance", str),
                       ("trajectory", bool), ("device", str), ("seed", int),
                       ("timeout", (int, float)), ("budget", (int, float)),
                       ("rtol", float), ("atol", float), ("max_mismatch", float), ("requires", str), ("hint", str),
                       ("allowed", list), ("baseline", str), ("baseline_title", str),
                       ("title_ja", str), ("hint_ja", str), ("baseline_title_ja", str)):
        _field(entry, name, kind, where, None)
    values = {name: entry[name] for name in Check.__dataclass_fields__ if name in entry}
    check = Check(**{**values, "params": dict(values.get("params", {})),
                     "allowed": tuple(values.get("allowed", ()))})
    _require(check.kind in CHECK_KINDS, where, f"kind must be one of {CHECK_KINDS}")
    _require(check.scenario in scenario_names, where,
             f"scenario {check.scenario!r} is not a function in scenarios.py")
    _require(isinstance(check.points, (int, float)) and check.points > 0, where,
             f"points must be > 0, got {check.points!r}")
    _require(check.tolerance in TOLERANCE_CLASSES, where,
             f"tolerance must be one of {TOLERANCE_CLASSES}, got {check.tolerance!r}")
    _require(check.device in DEVICES, where, f"device must be one of {DEVICES}")
    _require(0.0 <= check.max_mismatch < 0.05, where,
             f"max_mismatch is a fraction of elements in [0, 0.05), got {check.max_mismatch!r}")
    _require(check.timeout is None or check.timeout > 0, where, "timeout must be > 0")
    if check.kind == "speed":
        _require(isinstance(check.budget, (int, float)) and check.budget >= 1, where,
                 "a speed check needs budget >= 1 (the allowed time ratio to the reference)")
        _require((check.baseline is None) == (check.baseline_title is None), where,
                 "baseline and baseline_title go together")
        _require(check.baseline is None or check.baseline in scenario_names, where,
                 f"baseline {check.baseline!r} is not a function in scenarios.py")
    else:
        _require(check.budget is None and check.requires is None and check.baseline is None,
                 where, "budget, requires and baseline are for speed checks only")
    return check


def _mistakes(path, assignment_id):
    where = f"{path.name} of {assignment_id!r}"
    raw = _read_toml(path, where)
    entries = raw.get("mistake", [])
    _require(isinstance(entries, list), where, "[[mistake]] entries expected")
    mistakes = []
    for i, entry in enumerate(entries):
        mistake_id = _field(entry, "id", str, f"{where}, mistake #{i + 1}")
        here = f"{where}, mistake {mistake_id!r}"
        _known_keys(entry, {"id", "title", "explanation", "file", "patch", "title_ja",
                            "explanation_ja"}, here)
        patches = tuple(Patch(_field(p, "old", str, here), _field(p, "new", str, here))
                        for p in _field(entry, "patch", list, here))
        _require(patches, here, "needs at least one [[mistake.patch]]")
        mistakes.append(Mistake(mistake_id, _field(entry, "title", str, here),
                                _field(entry, "explanation", str, here).strip(),
                                _field(entry, "file", str, here), patches,
                                _field(entry, "title_ja", str, here, ""),
                                _field(entry, "explanation_ja", str, here, "").strip()))
    _require_unique([m.id for m in mistakes], where, "mistake id")
    return tuple(mistakes)


def _read_toml(path, where):
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ManifestError(f"{where}: file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{where}: invalid TOML: {error}") from None


def _function_names(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


_MISSING = object()
_REQUIRED = {"title", "kind", "scenario", "points"}


def _field(entry, name, kind, where, default=_MISSING):
    if name not in entry:
        _require(default is not _MISSING and (default is not None or name not in _REQUIRED),
                 where, f"missing required field {name!r}")
        return default
    value = entry[name]
    is_bool = isinstance(value, bool)
    ok = is_bool if kind is bool else isinstance(value, kind) and not is_bool
    _require(ok, where, f"field {name!r} has the wrong type ({type(value).__name__})")
    return value


def _known_keys(entry, allowed, where):
    unknown = sorted(set(entry) - set(allowed))
    _require(not unknown, where, f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")


def _require_unique(values, where, what):
    duplicates = sorted({v for v in values if values.count(v) > 1})
    _require(not duplicates, where, f"duplicate {what}(s): {duplicates}")


def _require(condition, where, message):
    if not condition:
        raise ManifestError(f"{where}: {message}")
