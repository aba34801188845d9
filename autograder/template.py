"""Generate ``student_template/`` from ``reference/``.

Solution regions (``### BEGIN SOLUTION`` .. ``### END SOLUTION``) are cleared
by nbgrader's own ``ClearSolutions`` preprocessor, which keeps indentation and
rejects nested or unterminated regions. Its stub is then given the task's name:
the qualified name of the function the region sits in, and the nearest
``TODO task N`` comment above it. Everything outside the regions (signatures,
docstrings, TODO comments, helpers) is copied as it is.
"""
import ast
import difflib
import re
from pathlib import Path

_PLACEHOLDER = "__STUDENT_TASK__"
_STUB = f'raise NotImplementedError("{_PLACEHOLDER}")'
_TODO = re.compile(r"#\s*TODO\s+(task\s+\d+)", re.IGNORECASE)


class TemplateError(ValueError):
    """A reference file whose solution regions cannot be turned into a template."""


def clear_solutions(source, filename="<source>"):
    """Return ``source`` with every solution region replaced by a named stub."""
    from nbformat.v4 import new_code_cell
    from nbgrader.preprocessors import ClearSolutions

    cleaner = ClearSolutions(code_stub={"python": _STUB}, enforce_metadata=False)
    cell = new_code_cell(source)
    try:
        cleaner._replace_solution_region(cell, "python")
    except RuntimeError as error:
        raise TemplateError(f"{filename}: {error}") from None
    return _name_stubs(cell.source, filename)


def _name_stubs(source, filename):
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as error:
        raise TemplateError(f"{filename}: the template would not parse ({error}); put each "
                            f"solution region inside a function body") from None
    owners = {}
    for node, qualname in _functions(tree):
        for child in ast.walk(node):
            if isinstance(child, ast.Constant) and child.value == _PLACEHOLDER:
                owners.setdefault(child.lineno, qualname)
    lines = source.split("\n")
    for number, line in enumerate(lines, 1):
        if _PLACEHOLDER not in line:
            continue
        if number not in owners:
            raise TemplateError(f"{filename}:{number}: a solution region outside any function "
                                f"would raise on import; move it into a function body")
        task = _nearest_todo(lines, number)
        label = f"{task}: {owners[number]}" if task else owners[number]
        lines[number - 1] = line.replace(_PLACEHOLDER, f"{label} is not implemented yet")
    return "\n".join(lines)


def _functions(tree, prefix=""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node, prefix + node.name
            yield from _functions(node, prefix + node.name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, prefix + node.name + ".")


def _nearest_todo(lines, number):
    for line in reversed(lines[: number - 1]):
        match = _TODO.search(line)
        if match:
            return match.group(1).capitalize()
        if line.lstrip().startswith(("def ", "class ")):
            return None
    return None


def render_template(reference_root, assignment_ids=None):
    """Map each template path (relative) to its text, for every file in the reference."""
    reference_root = Path(reference_root)
    rendered = {}
    for folder in sorted(p for p in reference_root.iterdir() if p.is_dir()):
        if assignment_ids and folder.name not in assignment_ids:
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(reference_root)
            text = path.read_text()
            rendered[relative] = clear_solutions(text, str(relative)) if path.suffix == ".py" \
                else text
    return rendered


def write_template(reference_root, template_root, assignment_ids=None):
    """Regenerate the template tree; returns the list of files written."""
    written = []
    for relative, text in render_template(reference_root, assignment_ids).items():
        target = Path(template_root) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            written.append(relative)
    return written


def template_differences(reference_root, template_root, assignment_ids=None):
    """A unified diff per out-of-date template file (empty when in sync)."""
    problems = []
    template_root = Path(template_root)
    rendered = render_template(reference_root, assignment_ids)
    for relative, text in rendered.items():
        target = template_root / relative
        current = target.read_text() if target.exists() else ""
        if current != text:
            diff = difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                        f"{template_root.name}/{relative} (committed)",
                                        f"{template_root.name}/{relative} (generated)")
            problems.append("".join(diff) or f"{relative}: missing")
    for folder in (template_root / a for a in {r.parts[0] for r in rendered}):
        for path in folder.rglob("*.py") if folder.exists() else ():
            if "__pycache__" not in path.parts and path.relative_to(template_root) not in rendered:
                problems.append(f"{path.relative_to(template_root)}: not generated from the "
                                f"reference (stray file)")
    return problems
