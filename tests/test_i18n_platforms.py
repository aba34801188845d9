"""Gradescope and nbgrader in Japanese: the language chosen when the zip or the course is
built is written into it, and what students read there (results.json, the notebooks'
markdown, the test cells' output) speaks it, while check ids, numbers and code stay as
they are."""
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

from autograder import i18n
from autograder import results as R
from autograder.platforms import gradescope

KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")   # kana or kanji
ASSIGNMENT = "08_training"      # the fewest checks: the quickest zip and run


@pytest.fixture
def japanese(monkeypatch):
    """Japanese for this test; the language before it afterwards (``set_language`` writes the
    environment, which monkeypatch puts back)."""
    monkeypatch.setattr(i18n, "_chosen", None)
    monkeypatch.setenv(i18n.ENVIRONMENT, "en")
    i18n.set_language("ja")
    yield


def kana(text):
    return bool(KANA.search(text))


# --------------------------------------------------------------------------- Gradescope


def test_the_zip_is_english_unless_a_language_is_chosen(monkeypatch):
    """The build machine's locale does not choose what students read; --lang and
    AUTOGRADER_LANG do."""
    monkeypatch.setattr(i18n, "_chosen", None)
    for variable in (i18n.ENVIRONMENT, "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert i18n.language() == "ja" and gradescope.chosen_language() == "en"
    monkeypatch.setenv(i18n.ENVIRONMENT, "ja")
    assert gradescope.chosen_language() == "ja"


def test_a_japanese_zip_writes_japanese_results(japanese, tmp_path, capsys, manifest):
    """``build --lang ja`` writes lang = "ja" into gradescope.toml; the zip's own
    run_autograder, in an environment that names no language, then writes results.json in
    Japanese (an empty submission: nothing to grade, so it is quick)."""
    out = tmp_path / "autograder.zip"
    assert gradescope.main(["build", str(out), "--assignments", ASSIGNMENT, "--seed", "7",
                            "--lang", "ja"]) == 0
    printed = capsys.readouterr().out
    assert kana(printed) and "7" in printed and "hidden seed offset" not in printed
    with zipfile.ZipFile(out) as archive:
        config = archive.read(gradescope.CONFIG_NAME).decode()
        archive.extractall(tmp_path / "root" / "source")
    assert 'lang = "ja"' in config.splitlines()
    assert gradescope.read_config(tmp_path / "root" / "source" / gradescope.CONFIG_NAME).lang \
        == "ja"

    root = tmp_path / "root"
    (root / "submission").mkdir()
    (root / "results").mkdir()
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    env.update(LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8", PATH=os.pathsep.join(
        [os.path.dirname(sys.executable), env.get("PATH", "/usr/bin:/bin")]))
    env[gradescope.ROOT_ENV] = str(root)
    done = subprocess.run([str(script)], env=env, cwd=root, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())

    assignment = manifest.assignment(ASSIGNMENT)
    assert results["score"] == 0
    assert kana(results["output"])
    for english in ("Your submission is empty", "is missing from your submission",
                    "How this is graded", "public seeds"):
        assert english not in results["output"]
    assert f"{ASSIGNMENT}/" in results["output"] and "training.py" in results["output"]
    tests = results["tests"]
    assert len(tests) == 2 * len(assignment.checks)
    assert sum(t["max_score"] for t in tests if gradescope.HIDDEN_TAG in t["tags"]) == \
        sum(c.points for c in assignment.checks)
    for test, check in zip(tests, [*assignment.checks, *assignment.checks]):
        assert test["name"].startswith(f"{ASSIGNMENT}::{check.id} — ")
        assert kana(test["name"]) and "seeds" not in test["name"]
        assert kana(test["output"]) and "training.py" in test["output"]
        assert "not graded" not in test["output"] and "missing" not in test["output"]


def _result(assignment, check, status, reason, **fields):
    return R.CheckResult(assignment=assignment.id, check=check.id, title=check.title_ja,
                         max_points=check.points, status=status, reason=reason,
                         points=check.points if status == R.PASSED else 0, **fields)


def test_graded_results_speak_japanese(japanese, manifest, tmp_path):
    """Every sentence the Gradescope run adds around the engine's results: the summary, the
    tests' names, the GPU note, the leaderboard."""
    adam = manifest.assignment("03_adam")
    speed = next(c for c in adam.checks if c.kind == "speed" and c.device == "cpu")
    gpu = next(c for c in adam.checks if c.device == "cuda")
    passed, failed, broken = [c for c in adam.checks if c not in (speed, gpu)][:3]

    def report():
        found = R.Report()
        found.add(_result(adam, passed, R.PASSED, "ok"))
        found.add(_result(adam, failed, R.FAILED, "1.5 != 2.5"))
        found.add(_result(adam, broken, R.GRADER_ERROR, "boom"))
        found.add(_result(adam, speed, R.PASSED, "ok", ratio=1.25))
        found.add(_result(adam, gpu, R.NOT_EVALUATED, i18n._("not evaluated (no CUDA device)")))
        return found

    staged = gradescope.Staged(tmp_path / "tree", {"03_adam/optimizers.py": "optimizers.py"})
    config = gradescope.Config(("03_adam",), 5, lang="ja")
    data = gradescope.render([gradescope.Graded(adam, report(), report())], staged, config, 3)
    output = data["output"]
    assert kana(output)
    for english in ("on the public seeds", "not passing yet", "the grader itself failed",
                    "need a GPU", "How this is graded"):
        assert english not in output
    maximum = sum(c.points for c in (passed, failed, broken, speed, gpu))
    assert f"{passed.points + speed.points:g}/{maximum:g}" in output
    for check in (failed, broken, gpu):
        assert check.id in output
    names = [t["name"] for t in data["tests"]]
    assert all(kana(name) and "seeds" not in name for name in names)
    not_run = [t for t in data["tests"] if t["extra_data"]["status"] == R.NOT_EVALUATED]
    assert not_run and all(kana(t["output"]) and "CUDA" in t["output"]
                           and "needs CUDA" not in t["output"] for t in not_run)
    (entry,) = data["leaderboard"]
    assert entry["name"].startswith(f"03_adam {speed.id}") and kana(entry["name"])
    assert entry["value"] == 1.25


# --------------------------------------------------------------------------- nbgrader


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_a_japanese_course_has_japanese_markdown_and_the_same_code(japanese, tmp_path,
                                                                   manifest):
    """build_course without ``lang`` follows the language in use (the CLI's --lang): the
    markdown the kit writes and the teaching text (README.ja.md) are Japanese; every code
    cell is the English build's, character for character; the settings file records the
    language for the autograding."""
    from autograder.platforms.nbgrader import SETTINGS_FILE, build_course, notebook_for
    (path,) = build_course(tmp_path / "course", ["03_adam"], seed=4321)
    settings = (tmp_path / "course" / SETTINGS_FILE).read_text()
    assert 'lang = "ja"' in settings.splitlines() and "seed = 4321" in settings
    japanese_notebook = json.loads(path.read_text())
    assert japanese_notebook["metadata"]["autograder"] == {"assignment": "03_adam", "lang": "ja"}
    assert "4321" not in path.read_text()
    english = notebook_for(manifest.assignment("03_adam"), lang="en")
    assert english["metadata"]["autograder"]["lang"] == "en"

    def cells(notebook, kind):
        return [c for c in notebook["cells"] if c["cell_type"] == kind]

    assert cells(japanese_notebook, "code") == cells(english, "code")
    assert [c["id"] for c in japanese_notebook["cells"]] == [c["id"] for c in english["cells"]]
    markdown = [_source(c) for c in cells(japanese_notebook, "markdown")]
    assert all(kana(text) for text in markdown)
    text = "\n".join(markdown)
    for word in ("How this notebook works", "Your code:", "## Checks", "its answer cell below",
                 "## Tasks", "## How you are graded", "English: [README.md]", "pytest"):
        assert word not in text
    assert "## 採点方法" not in text   # the repository-only section, as in English
    assert "`optimizers.py`" in text and "`adam_f32`" in text and "$$" in text
    english_text = "\n".join(_source(c) for c in cells(english, "markdown"))
    assert not kana(english_text)     # no link to README.ja.md left in the English one
    assert "## How this notebook works" in english_text and "## 4. Adam" in english_text


def test_the_autograding_speaks_the_courses_language(tmp_path, manifest, monkeypatch,
                                                    kit_root):
    """KitGrades writes the test cells' output in the language of the course's settings
    file, whatever the language of nbgrader's process, and leaves that one as it was."""
    import nbformat
    from autograder.platforms.nbgrader import KitGrades, answer_id, notebook_for
    monkeypatch.setattr(i18n, "_chosen", None)
    monkeypatch.setenv(i18n.ENVIRONMENT, "en")
    tensors = manifest.assignment("01_tensors")
    notebook = nbformat.from_dict(notebook_for(tensors, lang="ja"))
    keep = {"test_creation", "test_hadamard"}   # two checks: one quick grading run

    def grade_id(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id", "")

    notebook.cells = [c for c in notebook.cells
                      if not grade_id(c).startswith("test_") or grade_id(c) in keep]
    template = (kit_root / "student_template" / "01_tensors" / "tensors.py").read_text()
    unknown = nbformat.from_dict(json.loads(json.dumps(notebook.cells[-1])))
    unknown.metadata["nbgrader"]["grade_id"] = "test_no_such_check"
    notebook.cells.append(unknown)
    for cell in notebook.cells:
        if grade_id(cell) == answer_id("tensors.py"):
            cell.source = f"# file: tensors.py\n{template}"
    settings = tmp_path / "autograder_course.toml"
    settings.write_text('seed = 3\ncuda = false\nlang = "ja"\n')
    graded, _ = KitGrades(settings=str(settings)).preprocess(
        notebook, {"nbgrader": {"assignment": "01_tensors"}})
    outputs = {grade_id(c): c.outputs for c in graded.cells if grade_id(c).startswith("test_")}
    assert set(outputs) == keep | {"test_no_such_check"}
    for grade_id, out in outputs.items():
        (error,) = out
        assert error["output_type"] == "error" and error["ename"] == "CheckFailed"
        assert kana(error["evalue"]), error
    assert "no_such_check" in outputs["test_no_such_check"][0]["evalue"]
    assert all(outputs[k][0]["evalue"].startswith("TODO") for k in keep)
    assert i18n.language() == "en" and os.environ[i18n.ENVIRONMENT] == "en"


def test_in_jupyter_the_checks_speak_the_notebooks_language(tmp_path, manifest, monkeypatch):
    """A student's kernel that names no language speaks the notebook's (Jupyter gives the
    kernel its path); AUTOGRADER_LANG, when set, still wins."""
    from autograder.platforms import notebook as kernel
    from autograder.platforms.nbgrader import notebook_for
    path = tmp_path / "03_adam.ipynb"
    path.write_text(json.dumps(notebook_for(manifest.assignment("03_adam"), lang="ja")))
    monkeypatch.setattr(i18n, "_chosen", None)
    monkeypatch.setenv(i18n.ENVIRONMENT, "en")
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert kernel.notebook_language(path) == "ja"
    with pytest.raises(kernel.CheckFailed) as english:
        kernel.check("03_adam", "adam_f32")     # no answer cell run: nothing to grade
    assert not kana(str(english.value)) and "optimizers.py" in str(english.value)
    monkeypatch.delenv(i18n.ENVIRONMENT)
    with pytest.raises(kernel.CheckFailed) as japanese:
        kernel.check("03_adam", "adam_f32")
    assert kana(str(japanese.value)) and "optimizers.py" in str(japanese.value)
    assert kana(japanese.value.text) and "# file: optimizers.py" in japanese.value.text
    assert i18n.language() == "ja"


def test_the_global_lang_option_reaches_the_gradescope_build(tmp_path, monkeypatch, capsys):
    """``python -m autograder --lang ja gradescope build`` (the option every other command
    takes, before the command) records Japanese in the zip as ``build --lang ja`` does."""
    from autograder.__main__ import main
    monkeypatch.setattr(i18n, "_chosen", None)
    monkeypatch.setenv(i18n.ENVIRONMENT, "en")
    out = tmp_path / "autograder.zip"
    assert main(["--lang", "ja", "gradescope", "build", str(out), "--assignments",
                 ASSIGNMENT]) == 0
    with zipfile.ZipFile(out) as archive:
        assert 'lang = "ja"' in archive.read(gradescope.CONFIG_NAME).decode().splitlines()
    assert kana(capsys.readouterr().out)
    assert main(["--lang=xx", "gradescope", "build", str(out)]) == 2
