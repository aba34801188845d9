"""The command line: docs tables in sync, listing, validation, and grading one tree."""
import json
import subprocess
import sys

import pytest

from autograder.__main__ import main, readme_with_table


def test_every_assignment_readme_shows_the_current_checks_table(manifest):
    for assignment in manifest.assignments:
        text = (assignment.folder / "README.md").read_text()
        assert readme_with_table(text, assignment) == text, (
            f"{assignment.id}/README.md: run `python -m autograder docs`")
        for check in assignment.checks:
            assert f"`{check.id}`" in text


def test_list_and_validate(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "03_adam:" in out and "adam_speed_cuda" in out and "[cuda]" in out
    assert main(["validate"]) == 0
    assert "valid" in capsys.readouterr().out


def test_template_check_passes_on_the_committed_tree(capsys):
    assert main(["template", "--check"]) == 0
    assert "in sync" in capsys.readouterr().out


@pytest.mark.slow
def test_grade_command_writes_a_results_file(tmp_path, kit_root):
    results = tmp_path / "out" / "results.json"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "03_adam", "--solution",
                           "template", "--checks", "gd_quadratic,adam_speed_cuda",
                           "--results", str(results), "-v"],
                          cwd=kit_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Task 1: gradient_descent is not implemented yet" in done.stdout
    assert "TOTAL" in done.stdout
    data = json.loads(results.read_text())
    assert data["score"] == 0
    names = [t["name"] for t in data["tests"]]
    assert any(n.startswith("03_adam::gd_quadratic") for n in names)
