"""Helpers shared by the kit's tests: toy manifests and the processes below this one."""
import os


def toy_manifest(assignment_id, checks, **fields):
    """A manifest with one toy assignment. ``checks`` are dicts of check fields (``params``
    as a dict); ``fields`` are extra assignment fields. Titles, kinds and points default."""
    head = {"id": assignment_id, "title": f"Toy assignment {assignment_id}",
            "concepts": ["Tensor"], "files": ["toy.py"], **fields}
    parts = ["format_version = 1\n\n[[assignment]]\n", *(_line(k, v) for k, v in head.items())]
    for check in checks:
        entry = {"title": check["id"], "kind": "agreement", "points": 1, **check}
        parts.append("\n[[assignment.check]]\n")
        parts.extend(_line(key, value) for key, value in entry.items())
    return "".join(parts)


def _line(key, value):
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_value(v)}" for k, v in value.items())
        return f"{key} = {{ {inner} }}\n"
    return f"{key} = {_value(value)}\n"


def _value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def descendants(pid=None):
    """Pids of every process below ``pid`` (this process by default), from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    found, stack = [], [os.getpid() if pid is None else pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def alive(pid):
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def solution_tree(folder, assignment_id, mistake_id=None, replace=None):
    """A solution tree under ``folder`` with one assignment: the reference, with a known
    mistake applied (``mistake_id``) or one text replaced (``replace``: (old, new), which must
    occur once). Returns (the tree's root, the mistake or None)."""
    from pathlib import Path

    from autograder.manifest import apply_patches, load_manifest
    assignment = load_manifest().assignment(assignment_id)
    reference = Path(__file__).resolve().parent.parent / "reference" / assignment_id
    root = Path(folder) / "tree"
    mistake = None
    for name in assignment.files:
        source = (reference / name).read_text()
        if mistake_id is not None:
            mistake = next(m for m in assignment.mistakes if m.id == mistake_id)
            if mistake.file == name:
                source = apply_patches(source, mistake)
        if replace is not None:
            old, new = replace
            assert source.count(old) == 1, old
            source = source.replace(old, new)
        (root / assignment_id).mkdir(parents=True, exist_ok=True)
        (root / assignment_id / name).write_text(source)
    return root, mistake
