"""The repository students get: no solution in it, the same grades and messages as the kit
where its recorded outputs reach, and a workflow whose steps report the right points."""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autograder.grading import grade
from autograder.manifest import apply_patches, load_manifest
from autograder.platforms.export import export
from autograder.snapshots import stale

pytestmark = pytest.mark.slow

KIT_ROOT = Path(__file__).resolve().parent.parent
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export(tmp_path_factory.mktemp("export") / "student-repo")


def _solution_lines(kit_root):
    """Every distinctive line of every solution region of the reference, except lines the
    students are given anyway: in their template's scaffolding, or in the assignment's
    README (the teaching shows code)."""
    found = []
    for path in sorted((kit_root / "reference").rglob("*.py")):
        relative = path.relative_to(kit_root / "reference")
        public = ((kit_root / "student_template" / relative).read_text()
                  + (kit_root / "assignments" / relative.parts[0] / "README.md").read_text())
        inside = False
        for line in path.read_text().splitlines():
            text = line.strip()
            if text == MARKERS[0]:
                inside = True
            elif text == MARKERS[1]:
                inside = False
            elif inside and len(text) >= 24 and not text.startswith("#") and text not in public:
                found.append((path.relative_to(kit_root), text))
    return found


def test_the_export_holds_no_reference_no_solution_and_no_mistake(exported):
    files = exported.files
    assert not [f for f in files if f.startswith(("reference/", "tests/", "examples/",
                                                  "benchmarks/", "student_template/",
                                                  "assignments/"))]
    assert not [f for f in files if f.endswith("mistakes.toml")]
    for folder in ("01_tensors", "03_adam", "08_training"):
        assert f"{folder}/README.md" in files and f"{folder}/snapshots.pt.gz" in files
    assert {"README.md", "manifest.toml", "pyproject.toml", "conftest.py",
            ".github/workflows/classroom.yml"} <= set(files)
    texts = {f: (exported.destination / f).read_text(errors="replace") for f in files
             if not f.endswith(".gz")}
    lines = _solution_lines(KIT_ROOT)
    assert len(lines) > 150  # the regions are really there to look for
    leaks = [(str(source), line, name) for source, line in lines
             for name, text in texts.items() if line in text]
    assert leaks == []
    for assignment in load_manifest().assignments:
        for mistake in assignment.mistakes:
            for patch in mistake.patches:
                new = patch.new.strip()
                if len(new) >= 24:
                    assert not [n for n, t in texts.items() if new in t], (assignment.id,
                                                                            mistake.id)


def test_the_snapshots_are_in_sync_with_the_reference():
    assert stale(load_manifest()) == []


def _grade_in_export(export_root, assignment_id, tree, results):
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", assignment_id, "--solution", str(tree),
         "--results", str(results)], cwd=export_root, capture_output=True, text=True,
        timeout=600, env=dict(os.environ, PYTHONPATH=str(export_root)))
    assert done.returncode == 0, done.stdout + done.stderr
    return {t["name"].split(" — ")[0].split("::")[1]: t for t in json.loads(results.read_text())["tests"]}


TREES = {"03_adam": ["adam_no_bias_correction", "adam_eps_inside_sqrt", "sgd_momentum_buffer_zero_init"],
         "05_transforms": ["normalize_mean_std_swapped", "flip_vertical"],
         "06_modules": ["weight_not_parameter", "dropout_not_rescaled"]}


@pytest.mark.parametrize("assignment_id", sorted(TREES))
def test_the_export_grades_as_the_kit_does(tmp_path, exported, assignment_id):
    """The reference, the untouched template and known mistakes: the same points, statuses
    and messages in a fresh export as in the kit, for every check the snapshots cover."""
    manifest = load_manifest()
    assignment = manifest.assignment(assignment_id)
    trees = {"reference": KIT_ROOT / "reference", "template": KIT_ROOT / "student_template"}
    for mistake_id in TREES[assignment_id]:
        mistake = next(m for m in assignment.mistakes if m.id == mistake_id)
        tree = tmp_path / mistake_id
        shutil.copytree(KIT_ROOT / "reference" / assignment_id, tree / assignment_id)
        path = tree / assignment_id / mistake.file
        path.write_text(apply_patches(path.read_text(), mistake))
        trees[mistake_id] = tree
    compared = [c.id for c in assignment.checks if c.kind == "agreement" and c.device == "cpu"]
    for name, tree in trees.items():
        kit = {r.check: r for r in grade(assignment_id, tree, cuda=False, checks=compared).results}
        there = _grade_in_export(exported.destination, assignment_id, tree,
                                 tmp_path / f"{name}.json")
        for check in compared:
            mine, theirs = kit[check], there[check]
            assert theirs["score"] == mine.points, (name, check, theirs["output"][:300])
            assert theirs["output"].startswith(f"[{mine.label}] {mine.reason}"), (name, check)
            if mine.diagnosis:
                assert "Diagnosis:" in theirs["output"], (name, check)
        ran = [t for t in there.values()
               if t["extra_data"]["status"] not in ("not_evaluated", "instructor")]
        if name == "template":
            assert all(t["score"] == 0 and "[TODO]" in t["output"] for t in ran)
        if name == "reference":
            assert all(t["score"] == t["max_score"] for t in ran)


def _workflow_steps(path):
    workflow = yaml.safe_load(path.read_text())
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "push" in on and "workflow_dispatch" in on
    steps = workflow["jobs"]["autograding"]["steps"]
    return workflow, steps


def test_the_workflow_is_valid_and_its_steps_report_the_points(tmp_path, exported):
    manifest = load_manifest()
    workflow, steps = _workflow_steps(exported.destination / ".github" / "workflows" /
                                      "classroom.yml")
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    install = next(s for s in steps if s.get("name", "").startswith("Install"))
    assert "--index-url https://download.pytorch.org/whl/cpu" in install["run"]
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"
    grading = [s for s in steps if "autograder classroom" in s.get("run", "")]
    assert [s["name"].split()[0] for s in grading] == [a.id for a in manifest.assignments]
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    runners = reporter["with"]["runners"].split(",")
    assert runners == [s["id"] for s in grading]
    assert all(re.fullmatch(r"[a-zA-Z0-9]+", r) for r in runners)
    assert set(reporter["env"]) == {f"{r.upper()}_RESULTS" for r in runners}
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)

    # the steps, run here in a copy of the export with every solution filled in
    repo = tmp_path / "repo"
    shutil.copytree(exported.destination, repo)
    for assignment in manifest.assignments:
        for name in assignment.files:
            shutil.copy(KIT_ROOT / "reference" / assignment.id / name, repo / assignment.id / name)
    outputs, summary = tmp_path / "github_output", tmp_path / "summary.md"
    # the steps call `python`: this interpreter's, as in the workflow's set-up Python
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = dict(os.environ, PYTHONPATH=str(repo), GITHUB_OUTPUT=str(outputs),
               GITHUB_STEP_SUMMARY=str(summary), PATH=path)
    for step in grading:
        done = subprocess.run(step["run"], shell=True, cwd=repo, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    lines = outputs.read_text().splitlines()
    assert len(lines) == len(grading) and all(line.startswith("result=") for line in lines)
    payloads = [json.loads(base64.b64decode(line.split("=", 1)[1]))
                for line in outputs.read_text().splitlines()]
    for assignment, payload in zip(manifest.assignments, payloads):
        assert payload["status"] == "pass", (assignment.id, payload)
        # every test that ran passed; the maximum is every check's, as on every machine
        assert sum(t["score"] for t in payload["tests"]) == \
            sum(t["max_score"] for t in payload["tests"]) > 0
        assert payload["max_score"] == sum(c.points for c in assignment.checks)
    summary_step = next(s for s in steps if "autograder summary" in s.get("run", ""))
    done = subprocess.run(summary_step["run"], shell=True, cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    table = summary.read_text()
    total = sum(p["max_score"] for p in payloads)
    scored = sum(t["score"] for p in payloads for t in p["tests"])
    assert f"| **total** | **{scored:g}/{total:g}** | |" in table
    for assignment in manifest.assignments:
        assert f"| {assignment.id} |" in table
    assert "convenience" in table and "instructor" in table
