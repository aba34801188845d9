"""08_training's digits classifier uses the tree's own parts from 03, 04 and 06, and falls
back to torch's (saying so in a note) for each part that is missing or wrong, so one
earlier mistake costs points only where it was made."""
import shutil

import pytest

from autograder.grading import grade
from autograder.selfcheck import build_mistake_tree

pytestmark = pytest.mark.slow

CHECK = ["digits_classifier"]


def _note_lines(result):
    return [line for line in result.feedback.splitlines() if line.startswith("Note:")]


def test_the_reference_tree_uses_its_own_parts(kit_root):
    result = grade("08_training", kit_root / "reference", checks=CHECK).results[0]
    assert result.status == "passed" and result.points == result.max_points
    notes = _note_lines(result)
    assert len(notes) == 1 and "held-out accuracy" in notes[0]
    assert "instead of yours" not in result.feedback


def test_a_tree_with_only_08_falls_back_to_torch_for_every_part(tmp_path, kit_root):
    shutil.copytree(kit_root / "reference" / "08_training", tmp_path / "08_training")
    result = grade("08_training", tmp_path, checks=CHECK).results[0]
    assert result.status == "passed" and result.points == result.max_points
    text = result.feedback
    for part in ("CustomDataset and DataLoader", "Linear", "ReLU", "Sequential",
                 "CrossEntropyLoss", "Adam"):
        assert f"torch's {part} used instead of yours" in text, part
    assert "not found" in text


def test_a_wrong_adam_is_replaced_and_only_adam(tmp_path, kit_root, manifest):
    adam = manifest.assignment("03_adam")
    mistake = next(m for m in adam.mistakes if m.id == "adam_eps_inside_sqrt")
    build_mistake_tree(adam, mistake, tmp_path)
    for other in ("04_data", "06_modules", "08_training"):
        shutil.copytree(kit_root / "reference" / other, tmp_path / other)
    result = grade("08_training", tmp_path, checks=CHECK).results[0]
    assert result.status == "passed" and result.points == result.max_points
    replaced = [line for line in _note_lines(result) if "instead of yours" in line]
    assert len(replaced) == 1 and "torch's Adam used instead of yours from 03_adam" in replaced[0]
