"""A class graded in Japanese: the feedback, the class report and the summary speak
Japanese (with the ids and numbers as they are), the gradebook keeps the shape scripts read,
a status never depends on the words of a reason, and a batch graded in one language is not
reused in another. The command line's messages and listing follow --lang too."""
import csv
import dataclasses
import gettext
import io
import json
import os
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from autograder import i18n
from autograder.batch import Options, grade_class, outputs, run, write_all
from autograder.batch.intake import Submission
from autograder.i18n import DOMAIN, LOCALE_DIR
from autograder.manifest import Manifest, apply_patches, load_manifest

KIT_ROOT = Path(__file__).resolve().parent.parent
JA = gettext.translation(DOMAIN, LOCALE_DIR, languages=["ja"])
ASSIGNMENT, MISTAKE = "01_tensors", "softmax_without_max_shift"


def _japanese(text):
    """Whether ``text`` holds kana or kanji."""
    return any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in text)


def _set(code):
    i18n.set_language(code)


@pytest.fixture(scope="module")
def japanese():
    _set("ja")
    yield
    i18n._chosen = None
    os.environ["AUTOGRADER_LANG"] = "en"


@contextmanager
def english():
    _set("en")
    try:
        yield
    finally:
        _set("ja")


@pytest.fixture(scope="module")
def manifest():
    base = load_manifest()
    quick = [dataclasses.replace(a, load_timeout=10.0) for a in base.assignments]
    return Manifest(base.path, tuple(quick))


def _build_class(root, manifest):
    reference = (KIT_ROOT / "reference" / ASSIGNMENT / "tensors.py").read_text()
    mistake = next(m for m in manifest.assignment(ASSIGNMENT).mistakes if m.id == MISTAKE)
    files = {"ada/01_tensors/tensors.py": reference,                      # perfect
             "chen/01_tensors/tensors.py": apply_patches(reference, mistake),
             "dan/02_autograd/autograd.py": "x = 1\n"}                  # not this assignment
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    (root / "eve").mkdir()                                               # empty
    (root / "ivan.zip").write_bytes(b"this is not a zip file")
    with zipfile.ZipFile(root / "hank.zip", "w") as archive:            # a refused entry
        archive.writestr("../outside.py", "print('no')\n")
        archive.writestr("hank/01_tensors/tensors.py", reference)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, japanese, manifest):
    root = tmp_path_factory.mktemp("class-ja")
    _build_class(root / "submissions", manifest)
    options = Options(submissions=root / "submissions", out=root / "out",
                      assignments=[ASSIGNMENT], jobs=2, speed=False, cache=root / "cache",
                      progress=False, cuda=False)
    batch = grade_class(options, manifest=manifest)
    summary = write_all(batch, options.out)
    return dict(batch=batch, options=options, summary=summary, out=options.out,
                manifest=manifest)


def _rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_the_feedback_is_japanese_with_its_ids_and_numbers(graded):
    assignment = graded["manifest"].assignment(ASSIGNMENT)
    mistake = next(m for m in assignment.mistakes if m.id == MISTAKE)
    chen = (graded["out"] / "feedback" / "chen.md").read_text()
    assert chen.startswith(JA.gettext("# Feedback for {student}").format(student="chen"))
    assert f"## {ASSIGNMENT}: {assignment.title_ja}" in chen
    assert mistake.title_ja in chen                      # the diagnosis, in Japanese
    header = "| " + " | ".join(JA.gettext(w) for w in ("check", "points", "status", "reason"))
    assert header in chen
    assert "| softmax_f32 | 0/3 | FAIL |" in chen         # ids, points and labels as they are
    for english_words in ("Feedback for", "Status:", "Grade:", " points", "| check |",
                          "looks like:", "not evaluated in this run", mistake.title):
        assert english_words not in chen, english_words
    ada = (graded["out"] / "feedback" / "ada.md").read_text()
    assert JA.gettext("graded") in ada and _japanese(ada)
    results = json.loads((graded["out"] / "results" / "chen.json").read_text())
    assert "Grade seed offset" not in results["output"] and _japanese(results["output"])
    assert assignment.checks[0].title_ja in results["tests"][0]["name"]


def test_the_class_report_is_japanese_and_keeps_the_ids(graded):
    page = (graded["out"] / "report.html").read_text()
    assert '<html lang="ja">' in page
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    english = ["Overview", "Score distribution", "Pass rate of every check",
               "Most frequent mistakes", "Slowest submissions on the speed checks",
               "Submissions with problems"]
    assert headings == [JA.gettext(h) for h in english]
    assert f"<title>{JA.gettext('Class report')}</title>" in page
    assert all(_japanese(alt) for alt in re.findall(r'alt="([^"]*)"', page))
    assignment_ = graded["manifest"].assignment(ASSIGNMENT)
    mistake = next(m for m in assignment_.mistakes if m.id == MISTAKE)
    assert f"{ASSIGNMENT}::softmax_f32" in page and MISTAKE in page
    assert mistake.title_ja in page and assignment_.checks[0].title_ja in page
    assert mistake.title not in page
    for sentence in ("No speed check was timed in this batch.", "submission(s)", ">None.<",
                     ">student<", ">status<"):
        assert sentence not in page, sentence


def test_the_summary_is_japanese(graded):
    summary = graded["summary"]
    mistake = next(m for m in graded["manifest"].assignment(ASSIGNMENT).mistakes
                   if m.id == MISTAKE)
    assert all(_japanese(line) for line in summary)
    assert any(ASSIGNMENT in line and mistake.title_ja in line for line in summary)
    assert not any("submission(s)" in line or "outputs:" in line for line in summary)


def test_the_gradebook_keeps_its_shape_and_its_statuses_do_not_depend_on_words(graded):
    batch, out = graded["batch"], graded["out"]
    rows = _rows((out / "gradebook.csv").read_text())
    status = {row[0]: row[1] for row in rows[1:]}
    with english():
        reports = {s.student: outputs.student_report(batch, s) for s in batch.submissions}
        statuses = {s.student: outputs.status_of(batch, s, reports[s.student])
                    for s in batch.submissions}
        in_english = _rows(outputs.gradebook_csv(batch, reports, statuses))
    assert rows[0] == in_english[0] and rows[0][:4] == ["student", "status", "seed", "total"]
    assert rows[1][0] == in_english[1][0] == "(maximum)"
    assert status["ada"] == status["chen"] == "graded"
    # decided from the files, not from the (Japanese) reasons: the same in English
    assert statuses["dan"] == "graded; 01_tensors: missing tensors.py"
    assert status["dan"].startswith("graded; 01_tensors: ") and "tensors.py" in status["dan"]
    assert _japanese(status["dan"]) and "missing" not in status["dan"]
    assert status["eve"] == JA.gettext("empty submission")
    assert status["ivan"].startswith(JA.gettext("not a readable zip file ({error})")[:5])
    assert status["hank"].startswith("graded; ") and "../outside.py" in status["hank"]
    assert _japanese(status["hank"])


def test_the_saved_results_of_one_language_are_not_reused_in_another(graded):
    batch = graded["batch"]
    assignment = batch.assignments[0]
    ada = next(s for s in batch.submissions if s.student == "ada")
    key = run._key(batch, ada, assignment, run.CORRECTNESS, "cpu")
    state = run._State(graded["out"] / ".state")
    # saved under the key of the language it was graded in: found again in Japanese ...
    assert state.load("ada", assignment.id, f"{run.CORRECTNESS}-cpu", key)
    with english():   # ... but an English run computes another key: it grades again
        assert run._key(batch, ada, assignment, run.CORRECTNESS, "cpu") != key


def test_a_gpu_check_of_an_ungraded_submission_says_what_grading_says(japanese, manifest):
    assignment = manifest.assignment(ASSIGNMENT)
    cuda = [c for c in assignment.checks if c.device == "cuda"]
    empty = Submission("eve", Path("eve"), "folder", gradable=False,
                       problems=[JA.gettext("empty submission")])
    results = run._not_graded(empty, assignment, cuda, cuda=False)
    assert results and all(r.reason == JA.gettext("not evaluated (no CUDA device)")
                           for r in results)
    assert results[0].title == cuda[0].title_ja


def test_the_example_class_descriptions_follow_the_language(tmp_path, japanese, manifest):
    from autograder.batch.examples import build_class
    spec = tmp_path / "class.toml"
    spec.write_text('[[student]]\nname = "gus"\nabout = "an empty submission"\n'
                    'about_ja = "空の提出物"\nassignments = []\n')
    assert build_class(tmp_path / "ja", manifest, spec=spec) == [("gus", "空の提出物")]
    with english():
        assert build_class(tmp_path / "en", manifest, spec=spec) == \
            [("gus", "an empty submission")]


def test_list_shows_the_japanese_titles(capsys, japanese, manifest):
    from autograder.__main__ import main
    assert main(["--lang", "ja", "list"]) == 0
    out = capsys.readouterr().out
    adam = manifest.assignment("03_adam")
    assert f"03_adam: {adam.title_ja}" in out and adam.title not in out
    assert all(c.title_ja in out and c.id in out for c in adam.checks)
    assert "[cuda]" in out and "points" not in out and "concepts" not in out
    assert main(["--lang", "ja", "validate"]) == 0
    assert _japanese(capsys.readouterr().out)
