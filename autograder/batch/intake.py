"""Taking in a class's submissions: find each student's solution files and copy only them.

A submissions folder holds one entry per student, named after the student:

* a folder with the student's files in the layout of ``student_template/``
  (``03_adam/optimizers.py``), or the files flat (``optimizers.py``);
* a folder with a whole clone of the student's repository (their files are then under
  ``student_template/``, or wherever the layout above appears);
* a ``.zip`` of either (one wrapping folder inside is fine).

Only the files the manifest names are taken, and only from where a student's files live:
never from a ``reference/``, ``tests/``, ``autograder/`` or ``assignments/`` folder the
submission may carry, never through a link, never a file over 1 MB. They are copied into a
staging tree laid out like ``reference/``, which is what gets graded; whatever else the
submission holds is never used. Zip members are read with size limits (a zip bomb stops
at them) and never written where their names point.

Every entry becomes a ``Submission`` with the problems found on the way, in words an
instructor can act on, in the language in use (they reach the student's feedback too).
"""
import hashlib
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.i18n import _, tr

MAX_FILE = 1 << 20            # a solution file is a few kB
MAX_ZIP_TOTAL = 64 << 20      # what we read out of one zip, all members together
MAX_ZIP_MEMBERS = 5000
MAX_WALK = 20000              # entries looked at in one submission folder
SKIPPED_FOLDERS = {".git", ".tox", ".venv", "venv", "node_modules", "__pycache__",
                   "site-packages", ".ipynb_checkpoints", "__MACOSX"}
NOT_THE_STUDENTS = {"reference", "tests", "autograder", "assignments", "benchmarks"}


@dataclass
class Submission:
    """One student's entry in the submissions folder."""

    student: str
    source: Path
    kind: str                                    # "folder" or "zip"
    staged: Path = None                          # the staging tree (laid out like reference/)
    files: dict = field(default_factory=dict)    # "03_adam/optimizers.py" -> where it came from
    problems: list = field(default_factory=list)  # what stops or limits its grading
    gradable: bool = True

    def has(self, assignment):
        return all(f"{assignment.id}/{name}" in self.files for name in assignment.files)

    def digest(self, assignment, uses=()):
        """A hash of the staged files one assignment reads (its own and the parts it uses)."""
        digest = hashlib.sha256()
        for assignment_id, names in [(assignment.id, assignment.files), *uses]:
            for name in names:
                path = self.staged / assignment_id / name if self.staged else None
                digest.update(f"{assignment_id}/{name}\0".encode())
                digest.update(path.read_bytes() if path and path.is_file() else b"<missing>")
        return digest.hexdigest()


def collect(folder, manifest, staging):
    """Every entry of ``folder`` as a ``Submission``, staged under ``staging``; and the
    entries that are not submissions (stray files), by name."""
    folder, staging = Path(folder), Path(staging)
    wanted = _wanted_files(manifest)
    entries, ignored = {}, []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            entries.setdefault(entry.name, []).append((entry, "folder"))
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            entries.setdefault(entry.stem, []).append((entry, "zip"))
        else:
            ignored.append(entry.name)
    submissions = []
    for student, found in entries.items():
        source, kind = found[0]
        submission = Submission(student, source, kind)
        if len(found) > 1:
            names = ", ".join(p.name + ("/" if k == "folder" else "") for p, k in found)
            submission.problems.append(tr("two submissions ({names}): neither was graded; "
                                          "keep one", names=names))
            submission.gradable = False
        else:
            _stage(submission, wanted, staging / file_name(student))
        submissions.append(submission)
    return submissions, ignored


def _wanted_files(manifest):
    """file name -> (assignment id, name), for every file an assignment asks for."""
    wanted = {}
    for assignment in manifest.assignments:
        for name in assignment.files:
            wanted[PurePosixPath(name).name] = (assignment.id, name)
    return wanted


def file_name(student):
    """A student's name as a file name; names that had to change get a short hash, so two
    students never share one."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in student).strip(".") or "_"
    if safe == student:
        return safe
    return f"{safe}-{hashlib.sha256(student.encode()).hexdigest()[:6]}"


def _stage(submission, wanted, target):
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    submission.staged = target
    if submission.kind == "zip":
        candidates = _zip_candidates(submission, wanted)
    else:
        candidates = _folder_candidates(submission, wanted)
    if submission.gradable is False:
        return
    chosen = _choose(candidates, submission)
    for key, (source, read) in sorted(chosen.items()):
        data = read()
        if data is None:
            continue
        problem = _text_problem(key, data)
        if problem:
            submission.problems.append(problem)
        destination = target / key
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
        submission.files[key] = source
    if not submission.files and submission.gradable:
        submission.gradable = False
        if not submission.problems:
            if not candidates["<count>"]:
                submission.problems.append(_("empty submission"))
            elif not candidates["<any>"]:
                submission.problems.append(tr("no Python files in the submission (expected "
                                              "names such as {names})",
                                              names=", ".join(sorted(wanted)[:4])))
            else:
                submission.problems.append(_wrong_names(candidates["<any>"], wanted))


def _text_problem(key, data):
    if b"\0" in data:
        return tr("{file} is not a Python source file (it holds binary data)", file=key)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        head = data[:200]
        if b"coding" not in head:
            return tr("{file} is not UTF-8 text (save it as UTF-8)", file=key)
    return ""


def _wrong_names(others, wanted):
    expected = ", ".join(sorted(wanted)[:4])
    seen = ", ".join(sorted(others)[:6])
    return tr("no solution files found: expected names such as {expected}; found {seen}",
              expected=expected, seen=seen)


# --- where the student's files are ------------------------------------------------------

def _place(parts, wanted):
    """(rank, key) for a file at ``parts`` (its path inside the submission) when it is a
    solution file; rank orders the candidates for one key (lower is better)."""
    name = parts[-1]
    if name not in wanted:
        return None
    assignment_id, relative = wanted[name]
    folders = [p.lower() for p in parts[:-1]]
    if any(f in NOT_THE_STUDENTS for f in folders):
        return ("not_the_students", f"{assignment_id}/{relative}")
    key = f"{assignment_id}/{relative}"
    in_layout = len(parts) >= 2 and parts[-2] == assignment_id
    rank = (0 if in_layout else 1, 0 if "student_template" in folders else 1, len(parts))
    return (rank, key)


def _choose(candidates, submission):
    """The best source for each solution file; notes when a choice was made among several."""
    chosen = {}
    refused = set()
    for key, options in candidates.items():
        if key.startswith("<"):
            continue
        usable = [o for o in options if o[0] != "not_the_students"]
        if not usable:
            refused.add(key)
            continue
        usable.sort(key=lambda option: option[0])
        chosen[key] = (usable[0][1], usable[0][2])
        if len(usable) > 1 and usable[0][0] == usable[1][0]:
            submission.problems.append(tr("several copies of {file}; graded {chosen}",
                                          file=key, chosen=usable[0][1]))
    if refused and not chosen:
        submission.problems.append(_("solution files were found only inside folders that are "
                                     "never graded (reference/, tests/, autograder/, ...)"))
    return chosen


def _folder_candidates(submission, wanted):
    candidates = {"<any>": [], "<count>": 0}
    root = submission.source
    seen = 0
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_FOLDERS
                               and not d.startswith("."))
        for name in sorted(names):
            seen += 1
            candidates["<count>"] = seen
            if seen > MAX_WALK:
                submission.problems.append(tr("more than {count} files: the rest were not "
                                              "looked at", count=MAX_WALK))
                return candidates
            path = Path(folder) / name
            parts = path.relative_to(root).parts
            if name.endswith(".py"):
                candidates["<any>"].append(name)
            placed = _place(parts, wanted)
            if placed is None:
                continue
            rank, key = placed
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                submission.problems.append(tr("{file} is a link or not a regular file: not "
                                              "taken", file="/".join(parts)))
                continue
            if info.st_size > MAX_FILE:
                submission.problems.append(tr("{file} is larger than {size} MB: not taken",
                                              file="/".join(parts), size=MAX_FILE >> 20))
                continue
            candidates.setdefault(key, []).append(
                (rank, "/".join(parts), lambda p=path: p.read_bytes()))
    return candidates


def _zip_candidates(submission, wanted):
    candidates = {"<any>": [], "<count>": 0}
    try:
        archive = zipfile.ZipFile(submission.source)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        submission.problems.append(tr("not a readable zip file ({error})", error=error))
        submission.gradable = False
        return candidates
    if len(members) > MAX_ZIP_MEMBERS:
        submission.problems.append(tr("the zip holds {count} entries, more than {limit}: "
                                      "not graded", count=len(members), limit=MAX_ZIP_MEMBERS))
        submission.gradable = False
        return candidates
    budget = [MAX_ZIP_TOTAL]
    unsafe = []
    for member in members:
        name = member.filename.replace("\\", "/")
        path = PurePosixPath(name)
        if member.is_dir():
            continue
        if path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":"):
            unsafe.append(name)
            continue
        parts = tuple(p for p in path.parts if p not in ("", "."))
        if not parts or any(p in SKIPPED_FOLDERS for p in parts[:-1]):
            continue
        candidates["<count>"] += 1
        if parts[-1].endswith(".py"):
            candidates["<any>"].append(parts[-1])
        placed = _place(parts, wanted)
        if placed is None:
            continue
        rank, key = placed
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            submission.problems.append(tr("{file} is a link: not taken", file=name))
            continue
        if member.file_size > MAX_FILE:
            submission.problems.append(tr("{file} is larger than {size} MB: not taken",
                                          file=name, size=MAX_FILE >> 20))
            continue
        candidates.setdefault(key, []).append(
            (rank, name, lambda m=member: _read_member(archive, m, budget, submission)))
    if unsafe:
        shown = ", ".join(unsafe[:3]) + (" ..." if len(unsafe) > 3 else "")
        submission.problems.append(tr("entries with absolute or '..' paths were ignored: "
                                      "{entries}", entries=shown))
    return candidates


def _read_member(archive, member, budget, submission):
    """The member's bytes, read with a hard limit whatever its header claims."""
    limit = min(MAX_FILE, budget[0])
    try:
        with archive.open(member) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as error:
        submission.problems.append(tr("{file} could not be read from the zip ({error})",
                                      file=member.filename, error=error))
        return None
    if len(data) > limit:
        submission.problems.append(tr("{file} unpacks to more than {size} kB (a zip bomb?): "
                                      "not taken", file=member.filename, size=limit >> 10))
        return None
    budget[0] -= len(data)
    return data
