"""Reports: the points table, Gradescope's results.json, and a file that always parses."""
import json
import os

import pytest

from autograder.results import (ERROR, FAILED, FORBIDDEN, GRADER_ERROR, LOAD_ERROR,
                                NOT_EVALUATED, NOT_IMPLEMENTED, PASSED, TIMEOUT, CheckResult,
                                Report, write_results)


def result(check, status, points, max_points, reason="", assignment="03_adam", **kw):
    return CheckResult(assignment=assignment, check=check, title=f"title of {check}",
                       max_points=max_points, status=status, points=points, reason=reason, **kw)


@pytest.fixture
def report():
    r = Report(solution="reference", notes=["seed offset 0"])
    r.add(result("step", PASSED, 2, 2, "matches the reference"))
    r.add(result("bias", FAILED, 0, 3, "in m: 1 of 4 elements differ"))
    r.add(result("speed", PASSED, 1.5, 1.5, "1.10x the reference time"))
    r.add(result("cuda", NOT_EVALUATED, 0, 4, "needs a CUDA device"))
    return r


def rows(table):
    return table.splitlines()


def row_for(table, name):
    matches = [line for line in rows(table) if line.startswith(name + " ")]
    assert len(matches) == 1, table
    return matches[0]


# --------------------------------------------------------------------------- scores


def test_the_maximum_holds_every_check_evaluated_here_or_not(report):
    assert report.score == 3.5
    assert report.max_score == 10.5         # 2 + 3 + 1.5 + the CUDA check's 4: every machine
    assert report.evaluated_max == 6.5      # what could run here
    assert [r.check for r in report.not_evaluated] == ["cuda"]


def test_not_evaluated_points_never_score_even_if_set():
    r = Report()
    r.add(result("cuda", NOT_EVALUATED, 4, 4, "no CUDA"))
    assert r.score == 0 and r.max_score == 4 and r.evaluated_max == 0


# --------------------------------------------------------------------------- table


def test_table_has_a_row_per_check_with_points_and_status(report):
    table = report.format_table()
    step = row_for(table, "03_adam::step")
    assert "2/2" in step and "PASS" in step and "matches the reference" in step
    bias = row_for(table, "03_adam::bias")
    assert "0/3" in bias and "FAIL" in bias and "1 of 4 elements differ" in bias
    speed = row_for(table, "03_adam::speed")
    assert "1.5/1.5" in speed and "PASS" in speed
    cuda = row_for(table, "03_adam::cuda")
    assert "-/4" in cuda and "N/A" in cuda
    assert rows(table)[0].split() == ["check", "points", "status", "reason"]


def test_table_total_line(report):
    total = row_for(report.format_table(), "TOTAL")
    # no percentage that would read as a grade while points were not evaluated here
    assert total.split() == ["TOTAL", "3.5/10.5", "(4", "points", "not", "evaluated", "here)"]


def test_table_not_evaluated_line(report):
    table = report.format_table()
    line = [line for line in rows(table) if line.startswith("Not evaluated here")]
    assert line == ["Not evaluated here (1 check(s), 4 points): cuda: needs a CUDA device. "
                    "They stay in the maximum, which is the same on every machine: they are "
                    "graded where they can run."]
    assert "The grader itself failed" not in table


def test_table_without_skipped_checks_has_no_not_evaluated_line():
    r = Report()
    r.add(result("step", PASSED, 1, 1))
    table = r.format_table()
    assert "Not evaluated here" not in table
    assert row_for(table, "TOTAL").split() == ["TOTAL", "1/1", "100%"]


def test_grader_error_adds_a_line_that_clears_the_student(report):
    report.add(result("init", GRADER_ERROR, 0, 1, "the kit crashed"))
    table = report.format_table()
    assert "KIT ERROR" in row_for(table, "03_adam::init")
    lines = [line for line in rows(table) if line.startswith("The grader itself failed")]
    assert lines == ["The grader itself failed on 1 check(s): this is not your fault; "
                     "tell your instructor."]
    assert report.max_score == 11.5  # a grader error still counts towards the maximum


@pytest.mark.parametrize("status, label", [
    (PASSED, "PASS"), (FAILED, "FAIL"), (ERROR, "ERROR"), (NOT_IMPLEMENTED, "TODO"),
    (TIMEOUT, "TIMEOUT"), (FORBIDDEN, "FORBIDDEN"), (LOAD_ERROR, "NO IMPORT"),
    (NOT_EVALUATED, "N/A"), (GRADER_ERROR, "KIT ERROR"),
])
def test_every_status_has_its_label_in_the_table(status, label):
    r = Report()
    r.add(result("c", status, 0, 1, "why"))
    row = row_for(r.format_table(), "03_adam::c")
    name_width = len("03_adam::c")
    status_column = row[name_width + 2 + 11 + 2:name_width + 2 + 11 + 2 + 9]
    assert status_column.strip() == label
    assert row.endswith("  why")


def test_long_reasons_are_clipped():
    r = Report()
    r.add(result("c", FAILED, 0, 1, "word " * 100))
    row = row_for(r.format_table(width=100), "03_adam::c")
    assert row.endswith("…")
    assert len(row) < 110


def test_clipped_rows_fit_the_width_and_the_rule():
    r = Report()
    r.add(result("c", FAILED, 0, 1, "word " * 100))
    table = r.format_table(width=100)
    rule = rows(table)[1]
    assert set(rule) == {"-"} and len(rule) == 100
    assert len(row_for(table, "03_adam::c")) <= len(rule)


def test_empty_report_table():
    table = Report().format_table()
    assert row_for(table, "TOTAL").split() == ["TOTAL", "0/0", "0%"]


# --------------------------------------------------------------------------- gradescope


def test_to_gradescope_structure(report):
    data = report.to_gradescope()
    assert data["score"] == 3.5 and data["max_score"] == 10.5
    assert data["output"] == "Solution graded: reference\nseed offset 0"
    assert len(data["tests"]) == 4
    for test in data["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(test)
    step, bias, speed, cuda = data["tests"]
    assert step["name"] == "03_adam::step — title of step"
    assert (step["score"], step["max_score"], step["status"]) == (2, 2, "passed")
    assert step["output"] == "[PASS] matches the reference"  # the reason once, no feedback
    assert (bias["score"], bias["max_score"], bias["status"]) == (0, 3, "failed")
    assert bias["output"].startswith("[FAIL] in m")
    assert speed["score"] == 1.5
    # not evaluated: shown, scoring nothing, in the maximum, never marked as passed, and its
    # own status beside Gradescope's two
    assert (cuda["score"], cuda["max_score"], cuda["status"]) == (0, 4, "failed")
    assert cuda["extra_data"] == {"status": "not_evaluated"}
    assert step["extra_data"] == {"status": "passed"}
    assert "[N/A] needs a CUDA device" in cuda["output"]
    assert "did not run here" in cuda["output"] and "scores nothing here" in cuda["output"]
    assert sum(t["score"] for t in data["tests"]) == data["score"]
    assert sum(t["max_score"] for t in data["tests"]) == data["max_score"]


def test_gradescope_output_includes_feedback_and_printed_text():
    r = Report()
    r.add(result("c", FAILED, 0, 1, "short reason", feedback="Compared: X.\n\nlong text",
                 stdout="debug line\n"))
    output = r.to_gradescope()["tests"][0]["output"]
    assert output.startswith("[FAIL] short reason")
    assert "Compared: X.\n\nlong text" in output
    assert "Your code printed:\n    debug line" in output


def test_write_results_writes_parseable_json(tmp_path, report):
    path = tmp_path / "out" / "results.json"      # the folder is created
    write_results(report, str(path))
    with open(path) as handle:
        data = json.load(handle)
    assert data == json.loads(json.dumps(report.to_gradescope()))
    assert os.listdir(path.parent) == ["results.json"]   # no temporary file left behind


def test_write_results_replaces_an_existing_file(tmp_path, report):
    path = tmp_path / "results.json"
    path.write_text("stale, not json")
    write_results(report, str(path))
    assert json.loads(path.read_text())["max_score"] == 10.5


def test_write_results_survives_an_unserialisable_field_in_the_output(tmp_path, report):
    report.add(result("odd", FAILED, 0, 1, "odd", feedback=object()))
    path = tmp_path / "results.json"
    write_results(report, str(path))
    with open(path) as handle:
        data = json.load(handle)
    assert "score" in data and "tests" in data
    assert os.listdir(tmp_path) == ["results.json"]


def test_write_results_stringifies_unserialisable_values_it_can(tmp_path):
    marker = object()
    r = Report(solution="s")
    r.add(result("c", PASSED, 1, 1, "ok", assignment=marker))
    path = tmp_path / "results.json"
    write_results(r, str(path))
    data = json.loads(path.read_text())
    assert data["score"] == 1
    assert data["tests"][0]["tags"] == [str(marker), PASSED]


def test_to_dict_keeps_every_field(report):
    data = report.to_dict()
    assert data["solution"] == "reference"
    assert [r["check"] for r in data["results"]] == ["step", "bias", "speed", "cuda"]
    assert data["results"][0]["status"] == PASSED
    assert "diagnosis" in data["results"][0]
