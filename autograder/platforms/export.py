"""The repository students get: their files, the teaching, the grader, no solutions.

``python -m autograder export DEST`` writes:

* one folder per assignment, ``03_adam/``, holding what a student reads (``README.md``),
  the file they edit (``optimizers.py``, from ``student_template/``), the checks
  (``scenarios.py``) and the recorded reference outputs they are graded against
  (``snapshots.pt.gz``);
* ``manifest.toml`` (the checks, without the known mistakes' patches), the ``autograder``
  package, ``pyproject.toml``, ``conftest.py``;
* a ``README.md`` for students, and the GitHub workflow (``autograder.platforms.github``).

It never writes ``reference/``, a solution region, a known mistake's patch, the kit's
tests or benchmarks, the example class, or hidden seeds (there are none to write: a grade
seed is only ever given to a grading run). The export refuses to run when the snapshots
are out of date with the reference.
"""
import json
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.manifest import KIT_ROOT, ManifestError, load_manifest
from autograder.platforms import github
from autograder.snapshots import FILE_NAME, stale

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass
class Exported:
    destination: Path
    files: list = field(default_factory=list)   # relative paths, sorted

    @property
    def size(self):
        return sum((self.destination / f).stat().st_size for f in self.files)


def export(destination, assignments=None, manifest=None, kit_root=KIT_ROOT, force=False):
    """Write a student repository into ``destination``; return what was written."""
    manifest = manifest or load_manifest()
    chosen = [manifest.assignment(a) for a in assignments] if assignments \
        else list(manifest.assignments)
    out_of_date = [s for s in stale(manifest) if s.assignment in {a.id for a in chosen}]
    if out_of_date:
        raise ManifestError("snapshots out of date: " + "; ".join(
            f"{s.assignment}: {s.reason}" for s in out_of_date)
            + ". Run `python -m autograder snapshots` first.")
    destination = Path(destination).resolve()
    if destination.exists() and any(destination.iterdir()):
        if not force:
            raise FileExistsError(f"{destination} is not empty (use --force to replace it)")
        shutil.rmtree(destination)
    destination.mkdir(parents=True, exist_ok=True)
    kit_root = Path(kit_root)
    shutil.copytree(kit_root / "autograder", destination / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    ids = {a.id for a in chosen}
    for assignment in chosen:
        folder = destination / assignment.id
        folder.mkdir()
        for name in ("README.md", "README.ja.md", "scenarios.py", FILE_NAME):
            shutil.copy2(assignment.folder / name, folder / name)
        for name in assignment.files:
            source = kit_root / "student_template" / assignment.id / name
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    (destination / "manifest.toml").write_text(manifest_text(manifest, ids))
    (destination / "pyproject.toml").write_text(_pyproject(kit_root))
    (destination / "conftest.py").write_text(
        '"""Loads the grader\'s pytest plugin: `pytest 03_adam` grades that assignment."""\n'
        'pytest_plugins = ["autograder.pytest_plugin"]\n')
    (destination / ".gitignore").write_text("__pycache__/\n*.pyc\n.venv/\nresults/\n"
                                            "results.json\n*.egg-info/\nautograder-repro/\n")
    (destination / "README.md").write_text(student_readme(chosen))
    workflow = destination / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(github.workflow(chosen))
    files = sorted(str(p.relative_to(destination)) for p in destination.rglob("*") if p.is_file())
    leaked = solution_leaks(destination)
    if leaked:
        raise RuntimeError(f"the export would hold solution code: {leaked}")
    return Exported(destination, files)


def solution_leaks(folder):
    """Files outside the grader's own code that hold a solution region marker."""
    found = []
    for path in Path(folder).rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and relative.parts[0] != "autograder" \
                and path.suffix in (".py", ".md", ".toml", ".txt", ".yml", ".json"):
            text = path.read_text(errors="replace")
            if any(marker in text for marker in SOLUTION_MARKERS):
                found.append(str(relative))
    return found


def manifest_text(manifest, ids):
    """The kit's manifest for the chosen assignments, without the known mistakes (their
    titles and explanations travel with the snapshots, their patches never)."""
    raw = tomllib.loads(Path(manifest.path).read_text())
    lines = ["# The checks of each assignment, generated from the course's manifest by",
             "# `python -m autograder export`. Graded with the recorded reference outputs in",
             "# <assignment>/snapshots.pt.gz.", f"format_version = {raw['format_version']}"]
    for entry in raw["assignment"]:
        if entry["id"] not in ids:
            continue
        entry = {k: v for k, v in entry.items() if k != "mistakes"}
        if "uses" in entry:
            entry["uses"] = [u for u in entry["uses"] if u in ids]
        checks = entry.pop("check")
        lines += ["", "[[assignment]]"]
        lines += [f"{key} = {_toml(value)}" for key, value in entry.items()]
        for check in checks:
            lines += ["", "[[assignment.check]]"]
            lines += [f"{key} = {_toml(value)}" for key, value in check.items()]
    return "\n".join(lines) + "\n"


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _pyproject(kit_root):
    """The kit's project file, as the students' project: its dependencies (what grading
    needs), without the extras (the instructor's tools)."""
    raw = tomllib.loads((Path(kit_root) / "pyproject.toml").read_text())
    dependencies = "\n".join(f"    {_toml(d)}," for d in raw["project"]["dependencies"])
    return f'''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "pytorch-exercises"
version = "{raw["project"]["version"]}"
description = "PyTorch exercises that grade themselves"
requires-python = ">=3.11"
dependencies = [
{dependencies}
]

[tool.setuptools]
packages = ["autograder", "autograder.batch", "autograder.platforms"]

[tool.setuptools.package-data]
autograder = ["locale/*/LC_MESSAGES/*.mo", "locale/*/LC_MESSAGES/*.po"]

[tool.pytest.ini_options]
addopts = "-p no:cacheprovider"
'''


def student_readme(assignments):
    rows = "\n".join(f"| `{a.id}/` | {a.title} | `{a.id}/{a.files[0]}` | "
                     f"{sum(c.points for c in a.checks):g} |" for a in assignments)
    first = assignments[0]
    return f"""# PyTorch, piece by piece

You learn PyTorch here by writing its pieces yourself. Each assignment is a folder: read its
`README.md` (the concepts, with the maths, a plain explanation, a real use and code, then
your tasks), write your code in the file it names, and run its checks. The checks compare
your results with the reference solution's and tell you exactly what differs, and when your
result looks like a known mistake, they name it.

| folder | what you build | the file you edit | points |
|---|---|---|---:|
{rows}

## Set up (two commands, Python 3.11 or newer; Linux, macOS or Windows)

```bash
python3.11 -m venv .venv && source .venv/bin/activate    # Windows: .venv\\Scripts\\activate
pip install -e .
```

(`pip install -e .` installs PyTorch, a large download the first time. On a machine without
an NVIDIA GPU, `pip install torch torchvision --index-url {github.TORCH_CPU_INDEX}` first
gives you the much smaller CPU-only build; with a CUDA GPU keep the default one, and the GPU
checks run on your machine too. Every system grades the same checks with the same points;
only Linux also sandboxes your code.)

## Run the checks

```bash
pytest {first.id}               # one assignment
pytest                          # all of them
pytest {first.id} -k some_name  # only the checks whose names contain some_name
pytest {first.id} -s            # also show what your code printed in passing checks
pytest {first.id} --in-process --pdb   # debug: your code runs inside pytest
```

A run of some checks ends with "partial: N of M checks run, not a grade". A check that hangs
is stopped after a few seconds (a multiple of the reference's own time), and the message
shows the line it was running and its variables. With `--in-process`, a wrong value also
writes `autograder-repro/<check>.py`, a script that reproduces the check in one process for
your debugger.

At the end you get a points table:

- `PASS`: your result matches the reference's;
- `FAIL`: it does not; the message above the table says where it first differs, with the
  expected and actual values, and names the known mistake it looks like;
- `ERROR`: your code raised an exception (the message shows your line), `TIMEOUT`: it did
  not finish, `TODO`: not implemented yet, `NO IMPORT`: the file does not import;
- `FORBIDDEN`: you used the torch function or class the task asks you to write yourself;
- `N/A`: cannot run on this machine (a GPU check without a GPU): it scores nothing here
  and stays in the maximum, which is the same on every machine;
- `LATER`: graded by your instructor, not here (checks timed against the reference
  solution, which this repository does not hold): in the maximum, not graded here.

Speed checks time your code against a torch built-in doing the same work, and the message
says which: for example "the reference Adam step takes 1.03x `torch.optim.Adam(foreach=True)`,
so yours may take at most 5x the reference".

Your code runs in a separate process with limits (and, on Linux, in a sandbox). Write only
in the file each task names; leave `scenarios.py`, `snapshots.pt.gz`, `manifest.toml` and
`autograder/` as they are.

## On GitHub

Every push runs `.github/workflows/classroom.yml`: each assignment in a step of its own,
the points table in the run's summary, the results files as an artifact, and, in GitHub
Classroom, your points.

## What this score is

You control this repository, its checks and the recorded results it compares with: the
score here is a convenience that tells you where you stand, not your grade. Your grade comes
from your instructor, who grades your files with the pristine grader, the reference
solution and hidden seeds. Code that passes here for the right reasons passes there too.
"""
