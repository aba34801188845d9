"""The manifest is validated in one place, and every error names its entry."""
import textwrap

import pytest

from autograder.manifest import SEED_CONCEPTS, ManifestError, load_manifest

GOOD_CHECK = """
[[assignment.check]]
id = "c1"
title = "a check"
kind = "agreement"
scenario = "scenario_one"
points = 2
"""


def write_kit(tmp_path, assignment_extra="", check=GOOD_CHECK, mistakes=None):
    folder = tmp_path / "01_x"
    folder.mkdir(exist_ok=True)
    (folder / "scenarios.py").write_text("def scenario_one(impl, *, seed, device):\n    return 1\n")
    if mistakes is not None:
        (folder / "mistakes.toml").write_text(textwrap.dedent(mistakes))
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(textwrap.dedent(f"""\
        format_version = 1

        [[assignment]]
        id = "01_x"
        title = "X"
        concepts = ["Tensor"]
        files = ["x.py"]
        {assignment_extra}
        """) + check)
    return manifest


def test_the_kits_manifest_is_valid(manifest):
    ids = [a.id for a in manifest.assignments]
    assert ids[:4] == ["01_tensors", "02_autograd", "03_adam", "04_data"]
    assert ids == sorted(ids)
    for assignment in manifest.assignments:
        assert len(assignment.mistakes) >= 8, assignment.id
        assert all(c in SEED_CONCEPTS for c in assignment.concepts), assignment.id
    adam = manifest.assignment("03_adam")
    assert {c.kind for c in adam.checks} == {"agreement", "speed"}
    assert len(SEED_CONCEPTS) == 22  # "PyTorch" itself plus the 21 concepts of the slides


def test_a_minimal_manifest_loads(tmp_path):
    loaded = load_manifest(write_kit(tmp_path))
    check = loaded.assignment("01_x").check("c1")
    assert (check.points, check.tolerance, check.device) == (2, "default", "cpu")


@pytest.mark.parametrize("replace, expected", [
    ("points = 2", "check 'c1': points must be > 0, got -1"),
    ('scenario = "scenario_one"', "check 'c1': scenario 'nope' is not a function"),
    ('kind = "agreement"', "check 'c1': kind must be one of"),
    ("points = 2", "check 'c1': field 'points' has the wrong type (str)"),
    ('title = "a check"', "check 'c1': missing required field 'title'"),
])
def test_bad_check_fields_name_the_check(tmp_path, replace, expected):
    new = {"points = 2": "points = -1" if "-1" in expected else 'points = "two"',
           'scenario = "scenario_one"': 'scenario = "nope"',
           'kind = "agreement"': 'kind = "vibes"',
           'title = "a check"': ""}[replace]
    path = write_kit(tmp_path, check=GOOD_CHECK.replace(replace, new))
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    assert "assignment '01_x'" in str(error.value)
    assert expected in str(error.value)


def test_unknown_fields_and_concepts_are_named(tmp_path):
    with pytest.raises(ManifestError, match="unknown field.*'pointz'"):
        load_manifest(write_kit(tmp_path, check=GOOD_CHECK + "pointz = 3\n"))
    path = write_kit(tmp_path, assignment_extra='')
    path.write_text(path.read_text().replace('["Tensor"]', '["Quantum Tensors"]'))
    with pytest.raises(ManifestError, match="assignment '01_x'.*Quantum Tensors"):
        load_manifest(path)


def test_duplicate_check_ids_are_rejected(tmp_path):
    with pytest.raises(ManifestError, match="duplicate check id.*c1"):
        load_manifest(write_kit(tmp_path, check=GOOD_CHECK + GOOD_CHECK))


def test_speed_checks_need_a_budget(tmp_path):
    speed = GOOD_CHECK.replace('kind = "agreement"', 'kind = "speed"')
    with pytest.raises(ManifestError, match="check 'c1': a speed check needs budget"):
        load_manifest(write_kit(tmp_path, check=speed))


def test_mistake_patches_must_apply_exactly_once(tmp_path):
    mistakes = """
        [[mistake]]
        id = "m1"
        title = "wrong"
        explanation = "because"
        file = "x.py"
        [[mistake.patch]]
        old = "return 2"
        new = "return 3"
    """
    path = write_kit(tmp_path, assignment_extra='mistakes = "mistakes.toml"', mistakes=mistakes)
    reference = tmp_path / "ref" / "01_x"
    reference.mkdir(parents=True)
    (reference / "x.py").write_text("def f():\n    return 1\n")
    assert load_manifest(path).assignment("01_x").mistakes[0].id == "m1"
    with pytest.raises(ManifestError, match="mistake 'm1': patch 1: its 'old' text occurs 0"):
        load_manifest(path, reference_root=tmp_path / "ref")


def test_missing_manifest_and_bad_toml(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "nope.toml")
    bad = tmp_path / "manifest.toml"
    bad.write_text("format_version = [\n")
    with pytest.raises(ManifestError, match="invalid TOML"):
        load_manifest(bad)


@pytest.mark.parametrize("extra, expected", [
    ("time_budget = 10\ntimeout = 60", "assignment '01_x': time_budget (10 s) must be at least "
                                       "the timeout (60 s)"),
    ("load_timeout = 0", "assignment '01_x': load_timeout must be > 0, got 0.0"),
    ('uses = ["09_nowhere"]', "assignment '01_x': uses unknown or itself: ['09_nowhere']"),
    ('uses = ["01_x"]', "assignment '01_x': uses unknown or itself: ['01_x']"),
])
def test_limits_and_uses_are_validated(tmp_path, extra, expected):
    with pytest.raises(ManifestError) as error:
        load_manifest(write_kit(tmp_path, assignment_extra=extra))
    assert expected in str(error.value)


def test_uses_names_the_files_of_the_earlier_parts(manifest):
    training = manifest.assignment("08_training")
    assert training.uses == (("03_adam", ("optimizers.py",)), ("04_data", ("data.py",)),
                             ("06_modules", ("modules.py",)))
    assert training.time_budget == 600 and training.load_timeout == 60
