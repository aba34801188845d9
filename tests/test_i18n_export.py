"""The students' repository speaks the language it is exported in: ``--lang ja export``
gives a repository whose README GitHub shows first is Japanese (with the English one beside
it), whose pytest sessions and workflow grade in Japanese by default, and whose job summary
and Classroom payload are Japanese. An English export stays English."""
import base64
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from autograder import i18n
from autograder import results as R
from autograder.manifest import load_manifest
from autograder.platforms import github
from autograder.platforms.export import export

KIT_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_tensors"
JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")   # kana and kanji
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _japanese(text):
    return bool(JAPANESE.search(text))


@pytest.fixture
def japanese():
    i18n.set_language("ja")
    yield
    i18n._chosen = None
    os.environ["AUTOGRADER_LANG"] = "en"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The same assignment exported in English (the language in use: the tests' English)
    and, through the command line's global --lang option, in Japanese."""
    root = tmp_path_factory.mktemp("i18n-export")
    english = export(root / "en", [ASSIGNMENT]).destination
    done = subprocess.run([sys.executable, "-m", "autograder", "--lang", "ja", "export",
                           str(root / "ja"), "--assignments", ASSIGNMENT],
                          cwd=KIT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return {"en": english, "ja": root / "ja"}


def _commands(readme):
    """The commands of a README's code blocks, without their comments."""
    return [line.split("#")[0].strip() for block in _FENCE.findall(readme)
            for line in block.splitlines()[1:-1]]


def _workflow(repo):
    return yaml.safe_load((repo / ".github" / "workflows" / "classroom.yml").read_text())


def test_a_japanese_export_shows_its_japanese_readme_first(exports):
    repo = exports["ja"]
    japanese, english = (repo / "README.md").read_text(), (repo / "README.en.md").read_text()
    assert not (repo / "README.ja.md").exists()
    assert japanese.splitlines()[1] == "English: [README.en.md](README.en.md)"
    assert english.splitlines()[1] == "日本語: [README.md](README.md)"
    assert _japanese(japanese) and not _japanese(english.replace("日本語: ", ""))
    assert "You learn PyTorch" not in japanese and "You learn PyTorch" in english
    # the same information: the same commands (each README's --lang line names the
    # repository's other language), the folders, the files and the points
    assert _commands(japanese) == _commands(english)
    assert f"pytest {ASSIGNMENT} --lang en" in _commands(japanese)
    assignment = load_manifest().assignment(ASSIGNMENT)
    points = f"{sum(c.points for c in assignment.checks):g}"
    row = next(line for line in japanese.splitlines() if line.startswith(f"| [`{ASSIGNMENT}/`]"))
    assert f"({ASSIGNMENT}/README.ja.md)" in row and assignment.title_ja in row
    assert row.endswith(f"| `{ASSIGNMENT}/{assignment.files[0]}` | {points} |")
    for text in (japanese, english):
        assert github.TORCH_CPU_INDEX in text and 'autograder_lang = "ja"' in text
    # every assignment folder carries both READMEs, as the kit has them
    for name in ("README.md", "README.ja.md"):
        assert (repo / ASSIGNMENT / name).read_bytes() == \
            (KIT_ROOT / "assignments" / ASSIGNMENT / name).read_bytes()


def test_a_japanese_export_grades_in_japanese_by_default(exports):
    repo = exports["ja"]
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    assert project["tool"]["pytest"]["ini_options"]["autograder_lang"] == "ja"
    workflow = _workflow(repo)
    assert workflow["jobs"]["autograding"]["env"] == {"AUTOGRADER_LANG": "ja"}
    # the same steps as in English, with their names in Japanese
    steps = workflow["jobs"]["autograding"]["steps"]
    english = _workflow(exports["en"])["jobs"]["autograding"]["steps"]
    assert [{k: v for k, v in s.items() if k != "name"} for s in steps] == \
        [{k: v for k, v in s.items() if k != "name"} for s in english]
    named = [s["name"] for s in steps if "name" in s]
    assert all(_japanese(n) for n in named if not n.startswith(ASSIGNMENT))
    grading = [s for s in steps if "autograder classroom" in s.get("run", "")]
    assert [s["name"].split()[0] for s in grading] == [ASSIGNMENT]


def test_an_english_export_stays_english(exports):
    repo = exports["en"]
    readme, japanese = (repo / "README.md").read_text(), (repo / "README.ja.md").read_text()
    assert readme.startswith("# PyTorch, piece by piece\n日本語: [README.ja.md](README.ja.md)\n")
    assert not _japanese(readme.replace("日本語: ", "")) and _japanese(japanese)
    assert japanese.splitlines()[1] == "English: [README.md](README.md)"
    assert f"pytest {ASSIGNMENT} --lang ja" in _commands(readme)
    assert _commands(readme) == _commands(japanese)
    assert "autograder_lang" not in (repo / "pyproject.toml").read_text()
    assert (repo / "pyproject.toml").read_text().endswith(
        '[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n')
    text = (repo / ".github" / "workflows" / "classroom.yml").read_text()
    assert "AUTOGRADER_LANG" not in text and not _japanese(text)
    assert "env" not in _workflow(repo)["jobs"]["autograding"]
    assert f"      - name: {ASSIGNMENT} (" in text and " points)\n" in text
    assert not (repo / "README.en.md").exists()


def _subprocess_env(repo, **extra):
    """A student's shell in ``repo``: no language chosen (the C locale), this Python."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AUTOGRADER_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return dict(env, LANG="C.UTF-8", PYTHONPATH=str(repo), PATH=path, **extra)


def test_the_ini_setting_alone_makes_the_points_table_japanese(exports):
    for lang, repo in exports.items():
        done = subprocess.run([sys.executable, "-m", "pytest", ASSIGNMENT, "-k", "creation"],
                              cwd=repo, env=_subprocess_env(repo), capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 1, done.stdout + done.stderr   # the template: TODO
        lines = done.stdout.splitlines()
        row = next(line for line in lines if line.startswith(f"{ASSIGNMENT}::creation "))
        assert "0/2" in row and "TODO" in row
        total = next(line for line in lines if re.match(r"\S+ +0/2  ", line))
        assert (_japanese(row) and not total.startswith("TOTAL")) == (lang == "ja"), lines


def test_the_japanese_workflow_steps_report_in_japanese(tmp_path, exports):
    """The grading and summary steps, run as the workflow runs them (its job env)."""
    repo = exports["ja"]
    workflow = _workflow(repo)
    steps = workflow["jobs"]["autograding"]["steps"]
    outputs, summary = tmp_path / "github_output", tmp_path / "summary.md"
    env = _subprocess_env(repo, GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(summary),
                          **workflow["jobs"]["autograding"]["env"])
    for step in steps:
        if "autograder classroom" in step.get("run", "") or \
                "autograder summary" in step.get("run", ""):
            done = subprocess.run(step["run"], shell=True, cwd=repo, env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
    payload = json.loads(base64.b64decode(outputs.read_text().split("=", 1)[1]))
    assert payload["max_score"] == 32 and payload["status"] == "fail"
    assert [t["name"].split("（")[0] for t in payload["tests"]][:2] == ["creation",
                                                                      "image_indexing"]
    assert all(_japanese(t["name"]) and "TODO" in t["name"] for t in payload["tests"])
    table = summary.read_text()
    assert _japanese(table) and "Autograding" not in table and "convenience" not in table
    assert f"| {ASSIGNMENT} | 0/32 |" in table and "**0/32**" in table
    assert "distances_speed_cuda" in table   # not evaluated without a GPU, named


def _results(folder):
    """Two assignments' results, in Gradescope's format, as `classroom` writes them."""
    def test(assignment, check, score, top, status):
        return {"name": f"{assignment}::{check} — a title", "score": score,
                "max_score": top, "status": "passed" if status == "passed" else "failed",
                "tags": [assignment, status], "extra_data": {"status": status}}
    failing = [test("03_adam", f"check_{i}", 0, 2, "failed") for i in range(8)]
    adam = failing + [test("03_adam", "gd", 2, 2, "passed"),
                      test("03_adam", "adam_speed_cuda", 0, 2, "not_evaluated")]
    training = [test("08_training", "epoch_time", 0, 3, "instructor"),
                test("08_training", "loop", 4, 4, "passed")]
    folder.mkdir()
    for name, tests in (("03_adam", adam), ("08_training", training)):
        (folder / f"{name}.json").write_text(json.dumps({
            "score": sum(t["score"] for t in tests),
            "max_score": sum(t["max_score"] for t in tests), "tests": tests}))
    return folder


def test_the_job_summary_in_english(tmp_path):
    text = github.summary_markdown(_results(tmp_path / "results"))
    assert text.splitlines()[:3] == ["## Autograding", "",
                                     "| assignment | points | checks not passed yet |"]
    assert ("| 03_adam | 2/20 | check_0, check_1, check_2, check_3, check_4, check_5 and 2 "
            "more |") in text
    assert "| 08_training | 4/7 |  |" in text and "| **total** | **6/27** | |" in text
    assert "Graded by your instructor, not here (1 checks): epoch_time." in text
    assert ("Not evaluated on this machine (no GPU, 1 checks): adam_speed_cuda. Their points "
            "stay in the maximum, the same on every machine.") in text
    assert text.endswith("This score is a convenience: your grade is your instructor's run "
                         "of the pristine grader, with hidden seeds.\n")


def test_the_job_summary_in_japanese(tmp_path, japanese):
    text = github.summary_markdown(_results(tmp_path / "results"))
    lines = text.splitlines()
    assert lines[0].startswith("## ") and lines[0] != "## Autograding"
    assert _japanese(lines[2]) and lines[3] == "|---|---:|---|"
    row = next(line for line in lines if line.startswith("| 03_adam | 2/20 | "))
    assert "check_0, check_1" in row and "check_5" in row and "check_6" not in row
    assert " and 2 more" not in row and "2" in row.split("check_5")[1]
    assert "| 08_training | 4/7 |  |" in text and "**6/27**" in text and "**total**" not in text
    total = next(i for i, line in enumerate(lines) if "**6/27**" in line)
    notes = [line for line in lines[total + 1:] if line]
    assert len(notes) == 3 and all(_japanese(n) for n in notes)
    assert "epoch_time" in notes[0] and "adam_speed_cuda" in notes[1]
    for english in ("Graded by your instructor", "Not evaluated", "convenience",
                    "checks not passed yet"):
        assert english not in text


def test_the_classroom_payload_follows_the_language(japanese):
    report = R.Report(results=[
        R.CheckResult("03_adam", "adam_f32", "Adam", 3, R.FAILED, reason="wrong"),
        R.CheckResult("03_adam", "gd", "GD", 2, R.PASSED, points=2, reason="ok"),
        R.CheckResult("03_adam", "speed_cuda", "GPU", 2, R.NOT_EVALUATED, reason="no GPU")])
    names = [t["name"] for t in github.classroom_payload(report)["tests"]]
    assert len(names) == 2 and names[0] != "adam_f32 (FAIL): wrong"
    assert [re.findall(r"\w+", n) for n in names] == [["adam_f32", "FAIL", "wrong"],
                                                      ["gd", "PASS", "ok"]]
    i18n.set_language("en")
    tests = github.classroom_payload(report)["tests"]
    assert [t["name"] for t in tests] == ["adam_f32 (FAIL): wrong", "gd (PASS): ok"]
