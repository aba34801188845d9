"""Batch grading of a small class through the real command: every submission gets a row,
bad input a clear status, nothing but the students' files is used, and a second run
reuses everything and gives the same grades."""
import csv
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.batch import Options, grade_class, write_all
from autograder.manifest import Manifest, apply_patches, load_manifest

pytestmark = pytest.mark.slow

ASSIGNMENTS = ["02_autograd", "03_adam"]
KIT_ROOT = Path(__file__).resolve().parent.parent


def _reference(assignment_id, name):
    return (KIT_ROOT / "reference" / assignment_id / name).read_text()


def _with_mistake(manifest, assignment_id, mistake_id):
    assignment = manifest.assignment(assignment_id)
    mistake = next(m for m in assignment.mistakes if m.id == mistake_id)
    return apply_patches(_reference(assignment_id, mistake.file), mistake)


def build_class(root, manifest):
    """The class: (student -> what the gradebook status must say)."""
    def put(student, relative, text, binary=False):
        path = root / student / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text) if binary else path.write_text(text)

    put("ada", "02_autograd/autograd.py", _reference("02_autograd", "autograd.py"))
    put("ada", "03_adam/optimizers.py", _reference("03_adam", "optimizers.py"))
    adam = manifest.assignment("03_adam")
    put("bob", "optimizers.py", _with_mistake(manifest, "03_adam", adam.mistakes[0].id))  # flat
    put("carl", "03_adam/optimizers.py", "import os\nos._exit(3)\n")
    put("dana", "03_adam/optimizers.py", "while True:\n    pass\n")
    (root / "eve").mkdir()
    # a clone of the kit: the student's own files are the untouched template; the clone's
    # reference/ must never be used
    put("gina", "student_template/03_adam/optimizers.py",
        (KIT_ROOT / "student_template" / "03_adam" / "optimizers.py").read_text())
    put("gina", "reference/03_adam/optimizers.py", _reference("03_adam", "optimizers.py"))
    put("gina", "tests/conftest.py", "raise SystemExit('never run')\n")
    with zipfile.ZipFile(root / "hank.zip", "w") as archive:
        archive.writestr("hank/03_adam/optimizers.py", _reference("03_adam", "optimizers.py"))
        archive.writestr("../outside.py", "print('no')\n")
        archive.writestr("/etc/absolute.py", "print('no')\n")
    (root / "ivan.zip").write_bytes(b"this is not a zip file")
    put("judy", "03_adam/optimizers.py", b"\x00\x01binary\x00", binary=True)
    put("kate", "03_adam/optimizers.py", "# caf\xe9\n".encode("latin-1") + b"x = 1\n",
        binary=True)
    put("leo", "03_adam/adam.py", "print('wrong name')\n")
    put("mia", "03_adam/optimizers.py", _reference("03_adam", "optimizers.py"))
    with zipfile.ZipFile(root / "mia.zip", "w") as archive:
        archive.writestr("03_adam/optimizers.py", _reference("03_adam", "optimizers.py"))
    with zipfile.ZipFile(root / "ned.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("03_adam/optimizers.py", b"#" * (40 << 20))  # 40 MB of one byte
    (root / "notes.txt").write_text("not a submission")


@pytest.fixture(scope="module")
def manifest():
    base = load_manifest()
    quick = [dataclasses.replace(a, load_timeout=4.0) for a in base.assignments]
    return Manifest(base.path, tuple(quick))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, manifest):
    root = tmp_path_factory.mktemp("class")
    submissions = root / "submissions"
    build_class(submissions, manifest)
    options = Options(submissions=submissions, out=root / "out", assignments=ASSIGNMENTS,
                      jobs=2, speed=False, cache=root / "cache", progress=False, cuda=False)
    first = grade_class(options, manifest=manifest)
    summary = write_all(first, options.out)
    rows = list(csv.DictReader((options.out / "gradebook.csv").open()))
    fresh = dataclasses.replace(options, out=root / "out-fresh")  # no saved jobs, same cache
    regraded = grade_class(fresh, manifest=manifest)
    write_all(regraded, fresh.out)
    resumed = grade_class(options, manifest=manifest)
    return dict(root=root, options=options, first=first, regraded=regraded, resumed=resumed,
                summary=summary, rows={row["student"]: row for row in rows},
                regraded_rows={row["student"]: row for row in
                               csv.DictReader((fresh.out / "gradebook.csv").open())})


def test_every_submission_gets_a_row_with_a_clear_status(graded):
    rows = graded["rows"]
    assert list(rows) == ["(maximum)", "ada", "bob", "carl", "dana", "eve", "gina", "hank",
                          "ivan", "judy", "kate", "leo", "mia", "ned"]
    status = {student: row["status"] for student, row in rows.items()}
    assert status["ada"] == "graded"
    assert status["bob"] == "graded; 02_autograd: missing autograd.py"
    assert "03_adam: import crashed the worker" in status["carl"]
    assert "03_adam: import timed out" in status["dana"]
    assert status["eve"] == "empty submission"
    assert "entries with absolute or '..' paths were ignored" in status["hank"]
    assert status["ivan"].startswith("not a readable zip file")
    assert "not a Python source file" in status["judy"]
    assert "not UTF-8 text" in status["kate"]
    assert status["leo"].startswith("no solution files found") and "adam.py" in status["leo"]
    assert status["mia"].startswith("two submissions (mia/, mia.zip)")
    assert "larger than 1 MB" in status["ned"]
    assert "notes.txt" in graded["summary"][0]


def test_grades_are_right_and_only_the_students_files_count(graded, manifest):
    from autograder.grading import cuda_available
    rows = graded["rows"]
    maximum = rows["(maximum)"]
    # the maximum is every check's points, as on every machine; a perfect solution scores
    # all the points of the checks that can run here (no GPU checks without CUDA, no speed
    # checks in a batch run without them)
    speed = graded["options"].speed
    for assignment_id in ("03_adam", "02_autograd"):
        checks = manifest.assignment(assignment_id).checks
        assert float(maximum[assignment_id]) == sum(c.points for c in checks)
        perfect = sum(c.points for c in checks if (c.device != "cuda" or cuda_available())
                      and (c.kind != "speed" or speed))
        assert float(rows["ada"][assignment_id]) == perfect
    assert rows["hank"]["03_adam"] == rows["ada"]["03_adam"]  # inside its wrapping folder
    assert 0 < float(rows["bob"]["03_adam"]) < float(rows["ada"]["03_adam"])
    for student in ("carl", "dana", "eve", "gina", "ivan", "judy", "kate", "leo", "mia", "ned"):
        assert float(rows[student]["total"]) == 0, student
    gina = json.loads((graded["options"].out / "results" / "gina.json").read_text())
    counted = [t for t in gina["tests"] if "03_adam" in t["name"]
               and t["extra_data"]["status"] != "not_evaluated"]
    assert counted and all(t["status"] == "failed" and "[TODO]" in t["output"] for t in counted)


def test_the_mistake_is_named_in_the_feedback_and_the_summary(graded, manifest):
    title = manifest.assignment("03_adam").mistakes[0].title
    feedback = (graded["options"].out / "feedback" / "bob.md").read_text()
    assert f"looks like: {title}" in feedback
    assert any(title in line and "03_adam" in line for line in graded["summary"])


def test_grading_the_same_batch_again_gives_the_same_grades(graded):
    first, regraded, resumed = graded["first"], graded["regraded"], graded["resumed"]
    assert first.graded_now > 0 and first.reused == 0
    # graded again from scratch (reference outputs from the cache): the same gradebook
    assert regraded.graded_now == first.graded_now and regraded.reused == 0
    assert regraded.cache_misses == 0 and regraded.cache_hits > 0
    assert graded["regraded_rows"] == graded["rows"]
    # run again where it ran: nothing is graded twice
    assert resumed.graded_now == 0 and resumed.reused == first.graded_now + first.reused


def test_an_interrupted_batch_loses_nothing_and_resumes(tmp_path, manifest):
    submissions = tmp_path / "submissions"
    for i in range(6):
        folder = submissions / f"student{i}" / "03_adam"
        folder.mkdir(parents=True)
        folder.joinpath("optimizers.py").write_text(_reference("03_adam", "optimizers.py"))
    out = tmp_path / "out"
    # relative paths, as an instructor types them
    command = [sys.executable, "-m", "autograder", "batch", "submissions", "--out", "out",
               "--assignments", "03_adam", "--jobs", "1", "--no-speed", "--no-progress",
               "--cache", "cache"]
    environment = dict(os.environ, PYTHONPATH=str(KIT_ROOT))
    process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    state = out / ".state"
    while time.monotonic() < deadline and len(list(state.rglob("*.json"))) < 2:
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGINT)
    output = process.communicate(timeout=30)[0]
    assert process.returncode == 130, output
    assert "Nothing graded is lost" in output
    saved = len(list(state.rglob("*.json")))
    assert 2 <= saved < 6
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"reused from an earlier run: {saved}" in done.stdout
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["status"] for r in rows[1:]] == ["graded"] * 6


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_the_report_loads_in_a_real_browser_with_its_plots_and_tables(graded):
    browser_path = _chromium()
    if browser_path is None and not os.environ.get("AUTOGRADER_REQUIRE_BROWSER"):
        pytest.skip("no chromium on this machine (CI installs Debian's and requires it)")
    assert browser_path, "AUTOGRADER_REQUIRE_BROWSER is set but chromium is not installed"
    playwright = pytest.importorskip("playwright.sync_api")
    report = graded["options"].out / "report.html"
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=browser_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            problems = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("requestfailed", lambda request: problems.append(request.url))
            page.goto(report.as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.alt, e.complete && e.naturalWidth > 0])")
            headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
            tables = page.locator("table").count()
            mistakes = page.locator("text=Adam").count()
            page.screenshot(path=str(graded["root"] / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert images == [["score distribution per assignment", True],
                      ["pass rate of every check", True],
                      ["most frequent diagnosed mistakes", True]]
    assert headings == ["Overview", "Score distribution", "Pass rate of every check",
                        "Most frequent mistakes", "Slowest submissions on the speed checks",
                        "Submissions with problems"]
    assert tables >= 4 and mistakes >= 1
    assert (graded["root"] / "report.png").stat().st_size > 10_000


def test_the_example_class_grades_as_its_description_says(tmp_path, manifest):
    from autograder.batch.examples import build_class
    students = dict(build_class(tmp_path / "submissions", manifest))
    assert set(students) == {"ada", "bob", "chen", "dita", "emil", "fay", "gus", "hana"}
    options = Options(submissions=tmp_path / "submissions", out=tmp_path / "out", jobs=2,
                      speed=False, cache=tmp_path / "cache", progress=False, cuda=False)
    batch = grade_class(options, manifest=manifest)
    write_all(batch, options.out)
    rows = {r["student"]: r for r in csv.DictReader((options.out / "gradebook.csv").open())}
    maximum = rows.pop("(maximum)")
    # no CUDA and no speed checks here: ada's perfect submission scores every point but
    # theirs, which stay in the maximum (the same on every machine)
    unevaluated = sum(c.points for a in manifest.assignments for c in a.checks
                      if c.device == "cuda" or c.kind == "speed")
    assert float(rows["ada"]["total"]) == float(maximum["total"]) - unevaluated
    assert rows["ada"]["status"] == "graded"
    perfect = rows["ada"]
    expected_losses = {"bob": {"03_adam", "06_modules", "04_data"},
                       "chen": {"01_tensors", "08_training"}, "dita": {"05_transforms"},
                       "hana": {"03_adam"}}
    for student, lost in expected_losses.items():
        assignments = [a.id for a in manifest.assignments]
        handed_in = [a for a in assignments if rows[student][a] != "0" or a in lost]
        for assignment in handed_in:
            full = rows[student][assignment] == perfect[assignment]
            assert full == (assignment not in lost), (student, assignment, rows[student])
        feedback = (options.out / "feedback" / f"{student}.md").read_text()
        assert feedback.count("looks like:") >= len(lost), student
    assert "03_adam: import crashed the worker" in rows["emil"]["status"]
    assert "04_data: import timed out" in rows["fay"]["status"]
    assert rows["gus"]["status"] == "empty submission"
    assert rows["hana"]["06_modules"] == perfect["06_modules"]
