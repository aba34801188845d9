"""The example class (``examples/class.toml``), written out as a submissions folder.

Each student is the reference solution of the assignments listed, with known mistakes
applied, text prepended or appended to files, written as a folder laid out like
``student_template/`` or as a ``.zip`` with the files inside a folder of the student's own.
Because it is built from the reference and the declared mistakes, it can never drift from
them. A student's description (``about``) is data, as a check's title is: its Japanese form
is ``about_ja`` beside it, shown when Japanese is in use.
"""
import shutil
import tomllib
import zipfile
from pathlib import Path

from autograder.i18n import pick
from autograder.manifest import KIT_ROOT, REFERENCE_ROOT, ManifestError, apply_patches

EXAMPLE_CLASS = KIT_ROOT / "examples" / "class.toml"


def build_class(destination, manifest, spec=EXAMPLE_CLASS, reference_root=REFERENCE_ROOT):
    """Write every student of ``spec`` under ``destination``; return [(name, about)], each
    description in the language in use."""
    destination = Path(destination)
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    students = tomllib.loads(Path(spec).read_text())["student"]
    written = []
    for student in students:
        where = f"{Path(spec).name}, student {student.get('name')!r}"
        files = _files(student, manifest, Path(reference_root), where)
        if student.get("zip"):
            with zipfile.ZipFile(destination / f"{student['name']}.zip", "w",
                                 zipfile.ZIP_DEFLATED) as archive:
                for relative, text in files.items():
                    archive.writestr(f"{student['name']}-submission/{relative}", text)
        else:
            folder = destination / student["name"]
            folder.mkdir()
            for relative, text in files.items():
                path = folder / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        written.append((student["name"], pick(student.get("about", ""),
                                              student.get("about_ja"))))
    return written


def _files(student, manifest, reference_root, where):
    chosen = student.get("assignments")
    ids = [a.id for a in manifest.assignments] if chosen is None else chosen
    files = {}
    for assignment_id in ids:
        assignment = manifest.assignment(assignment_id)
        for name in assignment.files:
            files[f"{assignment_id}/{name}"] = (reference_root / assignment_id / name).read_text()
    for assignment_id, mistake_id in student.get("mistakes", {}).items():
        assignment = manifest.assignment(assignment_id)
        mistake = next((m for m in assignment.mistakes if m.id == mistake_id), None)
        if mistake is None:
            raise ManifestError(f"{where}: {assignment_id} has no mistake {mistake_id!r}")
        key = f"{assignment_id}/{mistake.file}"
        files[key] = apply_patches(files[key], mistake)
    for key, text in student.get("prepend", {}).items():
        files[key] = text + files[key]
    for key, text in student.get("append", {}).items():
        files[key] = files[key] + text
    return files
