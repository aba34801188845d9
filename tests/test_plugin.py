"""The pytest plugin, through real pytest sessions (each starts its own workers)."""
import json

import pytest

from helpers import solution_tree

pytestmark = pytest.mark.slow


@pytest.fixture
def adam(kit_root):
    return str(kit_root / "assignments" / "03_adam")


def test_reference_gets_full_marks_and_a_results_file(pytester, adam, tmp_path):
    results = tmp_path / "results.json"
    run = pytester.runpytest_subprocess(adam, "--solution", "reference", "--results",
                                        str(results), "-p", "no:cacheprovider")
    assert run.ret == 0
    run.stdout.fnmatch_lines([
        "autograder: solution *reference, seed offset 0, solution code runs in a worker process, confined by limits*",
        "*= points =*",
        "03_adam::adam_f32 * 3/3 * PASS *matches the reference*",
        "03_adam::adam_speed_cpu * 2/2 * PASS *x the reference time (budget 5x)*",
        "03_adam::adam_speed_cuda * -/2 * N/A *not evaluated (no CUDA device)*",
        "TOTAL * 35/38 * (3 points not evaluated here)",
        "Not evaluated here (2 check(s), 3 points)*They stay in the maximum, which is the same "
        "on every machine*",
    ])
    data = json.loads(results.read_text())
    # one maximum everywhere: the GPU checks' points are in it, graded where CUDA is
    assert (data["score"], data["max_score"]) == (35, 38)
    assert len(data["tests"]) == 17
    # every check that ran passed; the two CUDA checks did not run, so they are not "passed"
    ran = [t for t in data["tests"] if t["extra_data"]["status"] != "not_evaluated"]
    assert len(ran) == 15 and {t["status"] for t in ran} == {"passed"}
    skipped = [t for t in data["tests"] if t["extra_data"]["status"] == "not_evaluated"]
    assert [(t["status"], t["score"], t["max_score"]) for t in skipped] == [("failed", 0, 2),
                                                                           ("failed", 0, 1)]


def test_template_scores_zero_with_not_implemented(pytester, adam):
    run = pytester.runpytest_subprocess(adam, "-p", "no:cacheprovider")
    assert run.ret == 1
    run.stdout.fnmatch_lines([
        "*[[]TODO[]] 0/2 points — not implemented: Task 1: gradient_descent is not implemented*",
        '*raised at File "*student_template/03_adam/optimizers.py", line *, in gradient_descent*',
        "TOTAL * 0/38 * (3 points not evaluated here)",
    ])
    assert "Traceback" not in run.stdout.str()
    assert "autograder/worker.py" not in run.stdout.str()


def test_settings_come_from_environment_and_ini(pytester, adam, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SOLUTION", "reference")
    run = pytester.runpytest_subprocess(adam, "-k", "gd_quadratic", "--grade-seed", "3")
    assert run.ret == 0
    run.stdout.fnmatch_lines(["autograder: solution *reference, seed offset 3*",
                              "TOTAL * 2/2 * partial: 1 of 17 checks run, not a grade"])
    monkeypatch.delenv("AUTOGRADER_SOLUTION")
    run = pytester.runpytest_subprocess(adam, "-k", "gd_quadratic", "-o",
                                        "autograder_solution=reference")
    assert run.ret == 0


def test_bad_settings_name_their_source(pytester, adam, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SEED", "many")
    run = pytester.runpytest_subprocess(adam, "--co")
    assert run.ret != 0
    run.stderr.fnmatch_lines(["*environment variable AUTOGRADER_SEED: seed must be an integer*"])
    monkeypatch.delenv("AUTOGRADER_SEED")
    run = pytester.runpytest_subprocess(adam, "--co", "--solution", "/no/such/tree")
    run.stderr.fnmatch_lines(["*--solution: solution tree '/no/such/tree' is not a folder*"])


def test_in_process_debug_mode_grades_the_reference(pytester, adam):
    run = pytester.runpytest_subprocess(adam, "--solution", "reference", "--in-process",
                                        "-k", "adam_f32 or manual_step")
    assert run.ret == 0
    run.stdout.fnmatch_lines(["*solution code runs in this process (debug: no sandbox)*",
                              "TOTAL * 5/5 * partial: 2 of 17 checks run, not a grade"])


def test_a_results_file_is_written_even_when_nothing_could_be_graded(pytester, adam, tmp_path):
    results = tmp_path / "results.json"
    run = pytester.runpytest_subprocess(adam, "--results", str(results), "-k", "no_such_check")
    assert run.ret == 5  # pytest: no tests ran
    data = json.loads(results.read_text())
    assert data["score"] == 0 and data["tests"] == []
    assert "The grader itself failed" in data["output"]


def test_junit_xml_has_a_test_case_per_check_with_the_feedback(pytester, adam, kit_root,
                                                                 tmp_path):
    """Any CI can show the results: --junitxml gives one test case per check, a failure's
    message is the kit's feedback (naming the mistake), a GPU check without CUDA a skip."""
    import xml.etree.ElementTree as ET

    from autograder.manifest import load_manifest
    assignment = load_manifest().assignment("03_adam")
    tree, mistake = solution_tree(tmp_path, "03_adam", "adam_no_bias_correction")
    report = tmp_path / "junit.xml"
    run = pytester.runpytest_subprocess(adam, "--solution", str(tree),
                                        f"--junitxml={report}", "-p", "no:cacheprovider")
    assert run.ret == 1
    cases = list(ET.parse(report).getroot().iter("testcase"))
    assert sorted(c.get("name") for c in cases) == sorted(c.id for c in assignment.checks)
    outcome = {c.get("name"): [child.tag for child in c] for c in cases}
    failed = {name for name, tags in outcome.items() if "failure" in tags}
    assert "adam_f32" in failed and "gd_quadratic" not in failed
    assert "skipped" in outcome["adam_speed_cuda"]
    message = next(c for c in cases if c.get("name") == "adam_f32").find("failure").text
    assert mistake.title in message


def _patched_tree(tmp_path, _kit_root, old, new):
    """A solution tree of 03_adam: the reference with ``old`` replaced by ``new``."""
    return solution_tree(tmp_path, "03_adam", replace=(old, new))[0]


def test_k_selects_checks_by_their_names_and_a_partial_run_says_so(pytester, adam, tmp_path):
    """-k matches the check names only (the folder 03_adam would otherwise match 'adam' for
    every check), and the table of a partial run gives no percentage that reads as a grade."""
    results = tmp_path / "results.json"
    run = pytester.runpytest_subprocess(adam, "--solution", "reference", "-k", "adam_f",
                                        "--results", str(results), "-p", "no:cacheprovider")
    assert run.ret == 0
    run.assert_outcomes(passed=2, deselected=15)
    run.stdout.fnmatch_lines(["03_adam::adam_f64 * 4/4 * PASS*", "03_adam::adam_f32 * 3/3 * PASS*",
                              "TOTAL * 7/7 * partial: 2 of 17 checks run, not a grade"])
    assert "%" not in run.stdout.str().split("TOTAL")[1].splitlines()[0]
    assert "Partial run: 2 of 17 checks" in json.loads(results.read_text())["output"]
    run = pytester.runpytest_subprocess(adam, "--solution", "reference", "-k",
                                        "not adam and not sgd", "--co", "-q")
    names = [line.split("::")[-1] for line in run.stdout.lines if "::" in line]
    assert names == ["gd_quadratic", "gd_least_squares", "manual_step", "minimize"]


def test_s_shows_what_a_passing_check_printed(pytester, adam, kit_root, tmp_path):
    tree = _patched_tree(tmp_path, kit_root, "    iterates = [x]\n",
                         "    iterates = [x]\n    print('starting from', x.tolist())\n")
    run = pytester.runpytest_subprocess(adam, "--solution", str(tree), "-k", "gd_quadratic",
                                        "-s", "-p", "no:cacheprovider")
    assert run.ret == 0
    run.stdout.fnmatch_lines(["--- 03_adam::gd_quadratic: your code printed ---",
                              "starting from *"])
    quiet = pytester.runpytest_subprocess(adam, "--solution", str(tree), "-k", "gd_quadratic",
                                          "-p", "no:cacheprovider")
    assert "starting from" not in quiet.stdout.str()


def test_the_table_uses_the_terminal_width(pytester, adam, monkeypatch):
    for columns in (80, 160):
        monkeypatch.setenv("COLUMNS", str(columns))
        run = pytester.runpytest_subprocess(adam, "-k", "gd_quadratic", "-p", "no:cacheprovider")
        table = run.stdout.str().split("= points =")[1].splitlines()
        rules = [line for line in table if line and set(line) == {"-"}]
        assert rules and {len(line) for line in rules} == {columns}
        assert max(len(line) for line in table if line.startswith("03_adam::")) <= columns


def test_a_hang_is_stopped_in_seconds_at_the_line_it_was_on(pytester, adam, kit_root, tmp_path):
    """The limit comes from the reference's own time on the check (many times it, at least
    a few seconds), not the 60 s ceiling; the report names the student's line and its
    variables, read from the worker before it was stopped."""
    tree = _patched_tree(tmp_path, kit_root, "        counts = [step.item() for step in steps]\n",
                         "        counts = [step.item() for step in steps]\n        waited = 0\n"
                         "        while waited < 10:\n            waited = waited * 2\n")
    run = pytester.runpytest_subprocess(adam, "--solution", str(tree), "-k", "adam_f32",
                                        "-p", "no:cacheprovider")
    assert run.ret == 1
    text = run.stdout.str()
    assert "did not finish within 5 s; it was at line" in text
    run.stdout.fnmatch_lines(["*running line * of 03_adam/optimizers.py, in _update_bucket:",
                              "*    while waited < 10:", "*    waited = 0"])


def test_in_process_writes_a_script_that_reproduces_a_failed_check(pytester, kit_root, tmp_path):
    """Debug mode: a wrong value comes with a script that calls the student's function on
    the check's recorded inputs (or re-runs the whole check, for objects), in one process."""
    import subprocess
    import sys

    tree, _ = solution_tree(tmp_path, "01_tensors", "softmax_normalises_over_everything")
    run = pytester.runpytest_subprocess(str(kit_root / "assignments" / "01_tensors"),
                                        "--solution", str(tree), "--in-process",
                                        "-k", "softmax_f32", "-p", "no:cacheprovider")
    assert run.ret == 1
    script = pytester.path / "autograder-repro" / "01_tensors-softmax_f32.py"
    run.stdout.fnmatch_lines([f"*python -m pdb {script} reproduces it in one process.*"])
    import torch
    calls = torch.load(script.with_suffix(".pt"), weights_only=True)
    assert calls and {c["function"] for c in calls} == {"softmax"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # the student's softmax on the first recorded input: rows that do not sum to 1
    assert done.stdout.startswith("tensor(")
    # an optimizer's inputs are objects: the script re-runs the whole check instead
    tree, _ = solution_tree(tmp_path / "adam", "03_adam", "adam_eps_inside_sqrt")
    run = pytester.runpytest_subprocess(str(kit_root / "assignments" / "03_adam"),
                                        "--solution", str(tree), "--in-process",
                                        "-k", "adam_f32", "-p", "no:cacheprovider")
    script = pytester.path / "autograder-repro" / "03_adam-adam_f32.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[FAIL] 0/3: looks like: Adam's eps inside the square root")
