"""English and Japanese stay in step: every message, README, check title and known mistake
has its Japanese form, with the same placeholders and the same structure, and a real pytest
session with --lang ja speaks Japanese."""
import gettext
import re

import pytest

from autograder import catalog
from autograder.__main__ import checks_table
from autograder.i18n import DOMAIN, LOCALE_DIR, normalize
from helpers import solution_tree

JA = gettext.translation(DOMAIN, LOCALE_DIR, languages=["ja"])
_PLACEHOLDER = re.compile(r"{(\w+)}")
_FENCE = re.compile(r"^\s*```.*?^\s*```", re.M | re.S)


def test_every_message_of_the_code_has_a_japanese_translation_with_its_placeholders():
    """The catalog is complete and compiled (python -m autograder i18n keeps it so)."""
    pytest.importorskip("babel")
    assert catalog.problems("ja") == []
    messages = [m for m in catalog.extract() if m.id]
    assert len(messages) > 100
    for message in messages:
        translated = JA.gettext(message.id)
        assert translated != message.id or not re.search(r"[A-Za-z]{3}", message.id), message.id
        assert set(_PLACEHOLDER.findall(translated)) == set(_PLACEHOLDER.findall(message.id))


def test_every_title_hint_and_known_mistake_has_its_japanese_form(manifest):
    for assignment in manifest.assignments:
        assert assignment.title_ja, assignment.id
        for check in assignment.checks:
            assert check.title_ja, (assignment.id, check.id)
            assert not check.hint or check.hint_ja, (assignment.id, check.id)
            assert not check.baseline_title or check.baseline_title_ja, (assignment.id, check.id)
        for mistake in assignment.mistakes:
            assert mistake.title_ja and mistake.explanation_ja, (assignment.id, mistake.id)
            # the code a title or explanation quotes is the same code in both languages
            for text, japanese in ((mistake.title, mistake.title_ja),
                                   (mistake.explanation, mistake.explanation_ja)):
                quoted = set(re.findall(r"`([^`]+)`", text))
                assert quoted <= set(re.findall(r"`([^`]+)`", japanese)), mistake.id


def _headings(text):
    return [len(m) for m in re.findall(r"^(#+) ", _FENCE.sub("", text), flags=re.M)]


@pytest.mark.parametrize("assignment_id", ["01_tensors", "02_autograd", "03_adam", "04_data",
                                           "05_transforms", "06_modules", "07_cuda",
                                           "08_training"])
def test_the_japanese_readme_has_the_same_sections_code_and_checks_table(manifest,
                                                                        assignment_id):
    assignment = manifest.assignment(assignment_id)
    english = (assignment.folder / "README.md").read_text()
    japanese = (assignment.folder / "README.ja.md").read_text()
    assert _headings(japanese) == _headings(english)
    assert _FENCE.findall(japanese) == _FENCE.findall(english)
    assert re.findall(r"\$\$.*?\$\$", japanese, re.S) == re.findall(r"\$\$.*?\$\$", english,
                                                                     re.S)
    assert checks_table(assignment, "ja") in japanese
    assert "English: [README.md](README.md)" in japanese.splitlines()[1]
    assert any("\u3040" <= c <= "\u30ff" for c in japanese)   # kana: it is Japanese


@pytest.mark.parametrize("value, code", [("ja", "ja"), ("ja_JP.UTF-8", "ja"), ("JA-jp", "ja"),
                                         ("en_US", "en"), ("fr", None), ("", None)])
def test_language_names(value, code):
    assert normalize(value) == code



@pytest.mark.slow
def test_a_real_session_with_lang_ja_speaks_japanese(pytester, kit_root, tmp_path):
    """A mistaken Adam, graded with --lang ja: the table, the reasons and the diagnosis are
    Japanese, and the code, the numbers and the check ids are as they are in English."""
    from autograder.manifest import load_manifest
    adam = load_manifest().assignment("03_adam")
    tree, mistake = solution_tree(tmp_path, "03_adam", "adam_eps_inside_sqrt")
    run = pytester.runpytest_subprocess(str(kit_root / "assignments" / "03_adam"),
                                        "--solution", str(tree), "--lang", "ja",
                                        "-k", "adam_f32 or gd_quadratic", "-p", "no:cacheprovider")
    assert run.ret == 1
    text = run.stdout.str()
    check = adam.check("adam_f32")
    assert JA.gettext("Diagnosis:") in text and mistake.title_ja in text
    assert mistake.explanation_ja.split("。")[0] in text
    assert JA.gettext("Compared: {title}.").format(title=check.title_ja) in text
    header = next(line for line in run.stdout.lines if line.startswith(JA.gettext("check")))
    assert JA.gettext("reason") in header and JA.gettext("points") in header
    total = next(line for line in run.stdout.lines if line.startswith(JA.gettext("TOTAL")))
    assert JA.gettext("partial: {run} of {checks} checks run, not a grade").format(
        run=2, checks=len(adam.checks)) in total
    # the row of the failed check: its id, its points and the mistake it looks like
    row = next(line for line in run.stdout.lines if line.startswith("03_adam::adam_f32 "))
    assert "0/3" in row and "FAIL" in row
    assert "Diagnosis:" not in text and "Compared:" not in text   # no English left over


def test_the_language_comes_from_the_option_the_environment_or_the_locale(monkeypatch):
    import autograder.i18n as i18n
    monkeypatch.setattr(i18n, "_chosen", None)
    for variable in ("AUTOGRADER_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert i18n.language() == "en"
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert i18n.language() == "ja"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")     # the first one set decides
    assert i18n.language() == "en"
    monkeypatch.setenv("AUTOGRADER_LANG", "ja")
    assert i18n.language() == "ja"
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        i18n.set_language("fr")
    monkeypatch.setattr(i18n, "_chosen", "en")
    assert i18n.language() == "en" and i18n.tr("Compared: {title}.", title="x") == \
        "Compared: x."
