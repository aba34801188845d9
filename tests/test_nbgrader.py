"""nbgrader, for real: a course built by the kit, `nbgrader generate_assignment`, then
`nbgrader autograde` on a filled-in, an unfilled and a mistaken submission, with the scores
read back from nbgrader's gradebook; and the released notebook run in a kernel as a
student runs it."""
import json
import os
import random
import re
import shutil
import subprocess
import sys

import pytest
import torch

from autograder.compare import compare_values
from autograder.manifest import KIT_ROOT, apply_patches, load_manifest
from autograder.platforms.nbgrader import SETTINGS_FILE, answer_id, build_course, check_cell_id

ASSIGNMENT = "03_adam"
MISTAKE = "adam_no_bias_correction"
STUDENTS = ("full", "empty", "mistake")


def _env():
    # nbgrader runs alembic and a kernel, both installed beside this interpreter
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path)
    env.pop("NBGRADER_EXECUTION", None)
    return env


def _nbgrader(course, *args):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=_env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _filled(released, answers):
    """The released notebook with each answer cell replaced by ``answers[grade_id]``."""
    notebook = json.loads(json.dumps(released))
    for cell in notebook["cells"]:
        if _grade_id(cell) in answers:
            cell["source"] = answers[_grade_id(cell)]
    return notebook


def _outputs(notebook, prefix="test_"):
    return {_grade_id(c): c.get("outputs", []) for c in notebook["cells"]
            if _grade_id(c).startswith(prefix)}


def _text(outputs):
    return "\n".join("\n".join(o.get("traceback", [])) + "".join(o.get("text", ""))
                     for o in outputs)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    manifest = load_manifest()
    assignment = manifest.assignment(ASSIGNMENT)
    root = tmp_path_factory.mktemp("course")
    seed = random.randint(1000, 9999)
    build_course(root, [ASSIGNMENT], seed=seed)
    generated = _nbgrader(root, "generate_assignment", ASSIGNMENT)
    release = root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    released = json.loads(release.read_text())
    reference = {answer_id(name): (KIT_ROOT / "reference" / ASSIGNMENT / name).read_text()
                 for name in assignment.files}
    mistake = next(m for m in assignment.mistakes if m.id == MISTAKE)
    answers = {
        "full": {key: f"# file: {name}\n{code}"
                 for (key, code), name in zip(reference.items(), assignment.files)},
    }
    answers["mistake"] = {key: apply_patches(code, mistake) if key == answer_id(mistake.file)
                          else code for key, code in answers["full"].items()}
    for student in STUDENTS:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        notebook = released if student == "empty" else _filled(released, answers[student])
        (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(notebook))
    log = _nbgrader(root, "autograde", ASSIGNMENT)
    from nbgrader.api import Gradebook
    os.environ["PATH"] = _env()["PATH"]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {s: (gradebook.find_submission(ASSIGNMENT, s).score,
                      gradebook.find_submission(ASSIGNMENT, s).max_score) for s in STUDENTS}
    autograded = {s: json.loads((root / "autograded" / s / ASSIGNMENT /
                                 f"{ASSIGNMENT}.ipynb").read_text()) for s in STUDENTS}
    return {"root": root, "seed": seed, "released": released, "answers": answers,
            "scores": scores, "autograded": autograded, "log": generated + log,
            "assignment": assignment, "mistake": mistake}


def test_autograde_scores_full_zero_and_partial(course):
    assignment = course["assignment"]
    total = sum(c.points for c in assignment.checks if c.device != "cuda")
    scores = course["scores"]
    assert scores["full"] == (total, total)
    assert scores["empty"] == (0, total)
    mistaken, _ = scores["mistake"]
    assert 0 < mistaken < total
    # the points lost are exactly those of the checks whose cell failed
    failed = [c for c in assignment.checks if c.device != "cuda" and any(
        o["output_type"] == "error" for o in _outputs(course["autograded"]["mistake"])[check_cell_id(c.id)])]
    assert mistaken == total - sum(c.points for c in failed)


def test_a_mistaken_cell_names_the_mistake_and_shows_no_reference_value(course):
    mistake = course["mistake"]
    outputs = _outputs(course["autograded"]["mistake"])
    failing = {key: out for key, out in outputs.items()
               if any(o["output_type"] == "error" for o in out)}
    assert failing
    for key, out in failing.items():
        text = _text(out)
        if "needs 'adam_f32' to pass first" in text:
            continue
        assert mistake.title in text, (key, text)
        assert not re.search(r"expected -?\d", text), text
        assert "worst at element" not in text and "absolute error" not in text
    passing = [key for key, out in outputs.items() if key not in failing]
    assert passing and all(_text(outputs[k]).startswith("PASS") for k in passing)


def test_empty_cells_say_not_implemented(course):
    for key, out in _outputs(course["autograded"]["empty"]).items():
        assert out and out[0]["output_type"] == "error", key
        assert out[0]["evalue"].startswith("TODO"), out
        assert ("not implemented" in out[0]["evalue"]
                or "to pass first" in out[0]["evalue"]), out


def test_no_test_cell_writes_to_stderr(course):
    for student, notebook in course["autograded"].items():
        for key, out in _outputs(notebook).items():
            assert not any(o.get("name") == "stderr" for o in out), (student, key, out)


def test_hidden_seed_stays_hidden(course):
    root, seed = course["root"], course["seed"]
    settings = root / SETTINGS_FILE
    assert f"seed = {seed}" in settings.read_text()
    assert settings.stat().st_mode & 0o077 == 0    # readable by the instructor only
    for folder in ("source", "release", "autograded"):
        for path in (root / folder).rglob("*.ipynb"):
            assert not re.search(rf"\b{seed}\b", path.read_text()), path
    assert "hidden seed offset" in course["log"]


def test_the_release_holds_no_solution(course):
    released = course["released"]
    text = json.dumps(released)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    reference = (KIT_ROOT / "reference" / ASSIGNMENT / "optimizers.py").read_text()
    region = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", reference, re.S).group(1)
    solution_lines = [line.strip() for line in region.splitlines() if len(line.strip()) > 25]
    answer = next(_source(c) for c in released["cells"]
                  if _grade_id(c) == answer_id("optimizers.py"))
    assert solution_lines and not any(line in answer for line in solution_lines)
    # the teaching text is there, and no repository-only instructions
    markdown = "\n".join(_source(c) for c in released["cells"] if c["cell_type"] == "markdown")
    assert "## 4. Adam (and AMSGrad)" in markdown and "pytest assignments" not in markdown


def test_the_released_notebook_checks_itself_in_the_kernel(course, tmp_path):
    """What a student sees: the release notebook with a mistake, run top to bottom in a
    kernel: the checks it passes print PASS, the others raise with the feedback."""
    import nbformat
    from nbclient import NotebookClient
    notebook = nbformat.reads(json.dumps(_filled(course["released"],
                                                 course["answers"]["mistake"])), as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}, allow_errors=True)
    client.execute(env=_env())
    outputs = _outputs(notebook)
    autograded = _outputs(course["autograded"]["mistake"])
    for key, out in outputs.items():
        assert len(out) == 1 and out[0].get("name") != "stderr", (key, out)
        # the same verdict as nbgrader's autograde (public seeds here, hidden ones there)
        assert out[0]["output_type"] == autograded[key][0]["output_type"], key
        if out[0]["output_type"] == "stream":
            assert out[0]["name"] == "stdout" and out[0]["text"].startswith("PASS"), out
    mistaken = outputs[check_cell_id("adam_f32")]
    assert mistaken[0]["ename"] == "CheckFailed"
    assert course["mistake"].title in _text(mistaken)


def test_compare_without_revealing_values():
    expected = torch.tensor([0.25, 1.5, -3.0])
    got = torch.tensor([0.25, 1.75, -3.0])
    shown = compare_values(expected, got)
    hidden = compare_values(expected, got, reveal=False)
    assert not shown.ok and not hidden.ok
    assert "1.5" in " ".join([shown.first.summary, *shown.first.details])
    words = " ".join([hidden.first.summary, *hidden.first.details])
    assert "1.5" not in words and "1.75" in words
    scalar = compare_values(2.5, 3.5, reveal=False)
    assert "2.5" not in scalar.first.summary and "3.5" in scalar.first.summary
    nan = compare_values(torch.tensor([1.0, 2.0]), torch.tensor([1.0, float("nan")]),
                         reveal=False)
    assert "2.0" not in " ".join(nan.first.details)


def test_the_cli_writes_a_course(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograder", "nbgrader", str(tmp_path / "c"),
                           "--assignments", "01_tensors,08_training", "--seed", "5"],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    for assignment in ("01_tensors", "08_training"):
        notebook = json.loads((tmp_path / "c" / "source" / assignment /
                               f"{assignment}.ipynb").read_text())
        tests = [c for c in notebook["cells"] if _grade_id(c).startswith("test_")]
        checks = [c for c in load_manifest().assignment(assignment).checks
                  if c.device != "cuda"]
        assert [_grade_id(c) for c in tests] == [check_cell_id(c.id) for c in checks]
        assert [c["metadata"]["nbgrader"]["points"] for c in tests] == [c.points for c in checks]
    again = subprocess.run([sys.executable, "-m", "autograder", "nbgrader", str(tmp_path / "c")],
                           capture_output=True, text=True, env=_env(), timeout=300)
    assert again.returncode == 2 and "--force" in again.stderr
    shutil.rmtree(tmp_path / "c")
