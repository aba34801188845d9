"""student_template/ is generated from reference/ and kept in sync."""
import ast

import pytest

from autograder.template import TemplateError, clear_solutions, template_differences

SOURCE = '''\
def area(r):
    """Area of a circle of radius r."""
    # TODO task 7: pi r^2
    ### BEGIN SOLUTION
    return 3.14159 * r * r
    ### END SOLUTION


class Shape:
    def grow(self, k):
        # a comment that stays
        ### BEGIN SOLUTION
        self.k = k
        return k
        ### END SOLUTION
'''


def test_template_is_in_sync_with_reference(kit_root):
    problems = template_differences(kit_root / "reference", kit_root / "student_template")
    assert problems == [], "\n".join(problems)


def test_every_reference_file_has_a_template_twin(kit_root):
    for path in (kit_root / "reference").rglob("*.py"):
        twin = kit_root / "student_template" / path.relative_to(kit_root / "reference")
        assert twin.is_file(), f"{twin} is missing"
        assert "BEGIN SOLUTION" not in twin.read_text()


def test_stub_names_the_task_and_keeps_the_rest():
    out = clear_solutions(SOURCE)
    ast.parse(out)
    assert 'raise NotImplementedError("Task 7: area is not implemented yet")' in out
    assert 'raise NotImplementedError("Shape.grow is not implemented yet")' in out
    assert '"""Area of a circle of radius r."""' in out
    assert "# TODO task 7: pi r^2" in out and "# a comment that stays" in out
    assert "3.14159" not in out and "self.k = k" not in out


def test_stub_keeps_indentation():
    out = clear_solutions(SOURCE)
    assert "        raise NotImplementedError(" in out  # method body, 8 spaces


@pytest.mark.parametrize("bad, message", [
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", "nested"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "no end solution"),
    ("### BEGIN SOLUTION\nX = 1\n### END SOLUTION\n", "outside any function"),
])
def test_malformed_regions_are_errors(bad, message):
    with pytest.raises(TemplateError, match=message):
        clear_solutions(bad, "bad.py")


def test_out_of_date_template_is_reported(tmp_path, kit_root):
    reference = tmp_path / "reference" / "00_x"
    template = tmp_path / "template" / "00_x"
    reference.mkdir(parents=True)
    template.mkdir(parents=True)
    (reference / "a.py").write_text(SOURCE)
    (template / "a.py").write_text("stale\n")
    (template / "stray.py").write_text("x = 1\n")
    problems = template_differences(tmp_path / "reference", tmp_path / "template")
    assert any("a.py (committed)" in p for p in problems)
    assert any("stray.py" in p and "stray" in p for p in problems)
