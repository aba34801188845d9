"""Gradescope: the autograder zip, and the zip's own ``run_autograder`` on submissions laid
out as Gradescope lays them out (``ROOT/source`` holds the zip, ``ROOT/submission`` the
student's files, ``ROOT/results`` the results). ``setup.sh`` is not run (it downloads
torch): this environment's Python comes first on PATH instead. Expected scores come from
the manifest's points.
"""
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.grading import cuda_available
from autograder.manifest import ManifestError, apply_patches, load_manifest
from autograder.platforms import gradescope

pytestmark = pytest.mark.slow

ASSIGNMENT = "03_adam"
MISTAKE = "adam_eps_inside_sqrt"
HIDDEN_SEED = 4242
KIT_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (KIT_ROOT / "reference" / ASSIGNMENT / "optimizers.py").read_text()
ADAM_POINTS = sum(c.points for c in load_manifest().assignment(ASSIGNMENT).checks)


@pytest.fixture(scope="module")
def adam(manifest):
    return manifest.assignment(ASSIGNMENT)


@pytest.fixture(scope="module")
def maximum(adam):
    """What a perfect submission scores on this machine (GPU checks only count with CUDA)."""
    cuda = cuda_available()
    return sum(c.points for c in adam.checks if c.device != "cuda" or cuda)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    return gradescope.build_zip(out, [ASSIGNMENT], seed=HIDDEN_SEED)


def unpack(zip_path, destination):
    """Unzip as Gradescope does, keeping each file's mode (run_autograder is executable)."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            archive.extract(info, destination)
            mode = stat.S_IMODE(info.external_attr >> 16)
            if mode:
                os.chmod(Path(destination) / info.filename, mode)


def gradescope_root(base, built, files):
    """``base`` laid out as /autograder: the zip in source/, ``files`` (relative path ->
    text) in submission/, an empty results/."""
    root = Path(base)
    unpack(built.path, root / "source")
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    for relative, text in files.items():
        path = root / "submission" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def clean_environment(python_bin):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    env["PATH"] = f"{python_bin}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return env


def run_autograder(root, python_bin=Path(sys.executable).parent):
    """Run ROOT/source/run_autograder as Gradescope would; return (process, results)."""
    env = clean_environment(python_bin)
    env[gradescope.ROOT_ENV] = str(root)
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, cwd=root,
                          capture_output=True, text=True, timeout=600, check=False)
    text = (root / "results" / "results.json").read_text()
    return done, json.loads(text)


def hidden(results):
    return [t for t in results["tests"] if gradescope.HIDDEN_TAG in t["tags"]]


def public(results):
    return [t for t in results["tests"] if gradescope.PUBLIC_TAG in t["tags"]]


def by_check(tests):
    return {t["name"].split(" — ")[0].split("::")[1]: t for t in tests}


def mistaken_source(adam):
    mistake = next(m for m in adam.mistakes if m.id == MISTAKE)
    return apply_patches(REFERENCE, mistake), mistake


# --------------------------------------------------------------------------- the zip


def test_the_zip_has_gradescopes_layout_and_the_kit(built, adam, tmp_path):
    with zipfile.ZipFile(built.path) as archive:
        names = set(archive.namelist())
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
        config = archive.read(gradescope.CONFIG_NAME).decode()
    assert {"setup.sh", "run_autograder", "gradescope.toml", "pyproject.toml",
            "autograder/grading.py", "autograder/platforms/gradescope.py",
            "assignments/manifest.toml", f"assignments/{ASSIGNMENT}/scenarios.py",
            f"assignments/{ASSIGNMENT}/mistakes.toml",
            f"reference/{ASSIGNMENT}/optimizers.py"} <= names
    for name in names:
        top = name.split("/")[0]
        assert top not in ("tests", "benchmarks", "examples", "student_template", ".git"), name
        assert "__pycache__" not in name and not name.endswith((".pyc", "snapshots.pt.gz"))
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert run.startswith("#!/usr/bin/env bash\n")
    assert "python3 -m autograder.platforms.gradescope run" in run
    assert setup.startswith("#!/usr/bin/env bash\n")
    for package in ("torch", "torchvision"):  # CPU-only, pinned to what the kit runs with
        assert f'"{package}=={metadata.version(package).split("+")[0]}"' in setup
    assert "--index-url https://download.pytorch.org/whl/cpu" in setup
    assert "CPU-only" in setup and 'pip install --no-cache-dir -e "$SOURCE"' in setup
    assert gradescope.read_config(_written(tmp_path, config)) == built.config
    assert built.config.assignments == (ASSIGNMENT,) and built.config.seed == HIDDEN_SEED
    assert f"seed = {HIDDEN_SEED}" in config and 'sandbox_user = "nobody"' in config
    # the maximum is every check's points, as on every machine; Gradescope has no GPU, so
    # the GPU checks' points cannot be earned there, and build says which
    assert built.max_score == sum(c.points for c in adam.checks)
    assert built.not_evaluated == [f"{ASSIGNMENT}::{c.id}" for c in adam.checks
                                   if c.device == "cuda"]
    assert built.unearnable == sum(c.points for c in adam.checks if c.device == "cuda")


def _written(folder, text):
    path = Path(folder) / "config-copy.toml"
    path.write_text(text)
    return path


def test_the_same_kit_builds_the_same_zip_and_the_cli_says_what_to_enter(built, tmp_path,
                                                                        capsys, maximum):
    again = gradescope.build_zip(tmp_path / "again.zip", [ASSIGNMENT], seed=HIDDEN_SEED)
    assert again.path.read_bytes() == built.path.read_bytes()
    assert gradescope.main(["build", str(tmp_path / "cli.zip"), "--assignments", ASSIGNMENT,
                            "--seed", "17"]) == 0
    printed = capsys.readouterr().out
    assert "hidden seed offset 17" in printed
    assert f"the maximum is {ADAM_POINTS:g} points" in printed
    gpu = ADAM_POINTS - maximum if not cuda_available() else 3
    assert f"so {gpu:g} of those points cannot be earned there" in printed
    assert "adam_speed_cuda" in printed
    random_seed = gradescope.build_zip(tmp_path / "random.zip", [ASSIGNMENT]).config.seed
    assert random_seed != 0


def test_the_scripts_are_valid_bash(built, tmp_path):
    unpack(built.path, tmp_path)
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stderr


def test_a_bad_configuration_is_named(tmp_path):
    with pytest.raises(ManifestError, match="seed must be a whole number other than 0"):
        gradescope.read_config(_written(tmp_path, 'assignments = ["03_adam"]\nseed = 0\n'))


# --------------------------------------------------------------------------- the intake


@pytest.mark.parametrize("layout", ["optimizers.py", "03_adam/optimizers.py",
                                    "my-repo-main/03_adam/optimizers.py",
                                    "my-repo-main/optimizers.py"])
def test_the_students_file_is_found_where_students_put_it(tmp_path, manifest, layout):
    submission = tmp_path / "submission"
    (submission / layout).parent.mkdir(parents=True)
    (submission / layout).write_text("x = 1\n")
    (submission / "notes.txt").write_text("hello")
    staged = gradescope.stage(submission, manifest, tmp_path / "tree")
    assert staged.files == {f"{ASSIGNMENT}/optimizers.py": layout}
    assert (tmp_path / "tree" / ASSIGNMENT / "optimizers.py").read_text() == "x = 1\n"
    assert staged.missing(manifest.assignment(ASSIGNMENT)) == [] and not staged.empty


def test_a_zip_uploaded_whole_and_files_kept_out_of_reach(tmp_path, manifest):
    submission = tmp_path / "submission"
    submission.mkdir()
    with zipfile.ZipFile(submission / "work.zip", "w") as archive:
        archive.writestr("work/03_adam/optimizers.py", "y = 2\n")
    staged = gradescope.stage(submission, manifest, tmp_path / "tree")
    assert (tmp_path / "tree" / ASSIGNMENT / "optimizers.py").read_text() == "y = 2\n"
    only_there = tmp_path / "other"
    (only_there / "reference" / ASSIGNMENT).mkdir(parents=True)
    (only_there / "reference" / ASSIGNMENT / "optimizers.py").write_text("z = 3\n")
    staged = gradescope.stage(only_there, manifest, tmp_path / "tree2")
    assert staged.missing(manifest.assignment(ASSIGNMENT)) == ["optimizers.py"]
    assert any("never graded" in p for p in staged.problems)


# --------------------------------------------------------------------------- the real run


SUBMISSIONS = {
    "correct": lambda adam: {"optimizers.py": REFERENCE},
    # a zipped repository folder, unpacked: the file two levels down
    "mistaken": lambda adam: {"student-repo-main/03_adam/optimizers.py":
                              mistaken_source(adam)[0], "student-repo-main/README.md": "hi"},
    "empty": lambda adam: {},
    "syntax_error": lambda adam: {"03_adam/optimizers.py": REFERENCE.replace(
        "def gradient_descent(grad_fn, x0, lr, steps):",
        "def gradient_descent(grad_fn, x0, lr, steps)", 1)},
}


@pytest.fixture(scope="module")
def graded(built, adam, tmp_path_factory):
    """Each submission graded by the zip's run_autograder: (process, results.json)."""
    assert "def gradient_descent(grad_fn, x0, lr, steps):" in REFERENCE
    outcomes = {}
    for name, files in SUBMISSIONS.items():
        root = gradescope_root(tmp_path_factory.mktemp(name), built, files(adam))
        outcomes[name] = run_autograder(root)
    return outcomes


def ran(tests):
    """The tests of checks that ran here (not the GPU checks on a machine without CUDA)."""
    return [t for t in tests if t["extra_data"]["status"] != "not_evaluated"]


def check_results(name, graded, maximum):
    """The parts every results.json shares: it parses, the hidden-seed tests carry every
    point (the maximum is the same on every machine), the public-seed ones none, and the
    top-level score is the hidden tests' sum."""
    done, results = graded[name]
    assert done.returncode == 0, done.stdout + done.stderr
    assert sum(t["max_score"] for t in ran(hidden(results))) == maximum
    assert sum(t["max_score"] for t in hidden(results)) == ADAM_POINTS
    assert all(t["max_score"] == 0 and t["score"] == 0 for t in public(results))
    assert results["score"] == sum(t["score"] for t in hidden(results))
    assert isinstance(results["execution_time"], int) and results["visibility"] == "visible"
    assert "autograder-gradescope-" not in json.dumps(results)  # paths read as the student's
    for test in results["tests"]:
        assert test["status"] in ("passed", "failed") and test["output"]
        assert test["visibility"] == ("visible" if gradescope.PUBLIC_TAG in test["tags"]
                                      else "after_published")
        if test["status"] == "passed":
            assert test["score"] == test["max_score"] and "[PASS]" in test["output"]
    return results


def test_a_correct_submission_scores_full_marks(graded, adam, maximum):
    results = check_results("correct", graded, maximum)
    assert results["score"] == maximum
    assert "missing" not in results["output"] and "empty" not in results["output"]
    for graded_here, tests in ((True, hidden(results)), (False, public(results))):
        for check in adam.checks:
            test = by_check(tests)[check.id]
            if check.device == "cuda" and not cuda_available():
                points = check.points if graded_here else 0   # public seeds: feedback only
                assert (test["status"], test["score"], test["max_score"]) == ("failed", 0,
                                                                               points)
                assert test["extra_data"]["status"] == "not_evaluated"
                assert "not evaluated: needs CUDA" in test["output"]
            else:
                assert test["status"] == "passed", test
    speed = [c.id for c in adam.checks if c.kind == "speed" and c.device == "cpu"]
    board = {entry["name"]: entry for entry in results["leaderboard"]}
    for check in speed:
        entry = board[f"{ASSIGNMENT} {check} (time / reference)"]
        assert entry["order"] == "asc" and entry["value"] > 0


def test_a_known_mistake_loses_points_and_is_named(graded, adam, maximum):
    results = check_results("mistaken", graded, maximum)
    _, mistake = mistaken_source(adam)
    assert 0 < results["score"] < maximum
    lost = [t for t in ran(hidden(results)) if t["score"] < t["max_score"]]
    assert lost and all(t["score"] == 0 for t in lost)
    named = [t for t in lost if f"looks like: {mistake.title}" in t["output"]]
    assert named, [t["output"][:300] for t in lost]
    assert "missing" not in results["output"]  # found two folders down
    failing = [t["name"].split(" — ")[0].split("::")[1] for t in lost]
    assert f"not passing yet: {', '.join(failing)}" in results["output"]
    # the hidden seeds are other seeds: the same check differs at other values
    check = named[0]["name"].split(" — ")[0].split("::")[1]
    assert by_check(public(results))[check]["output"] != named[0]["output"]
    assert f"looks like: {mistake.title}" in by_check(public(results))[check]["output"]


def test_an_empty_submission_says_the_file_is_missing(graded, maximum):
    results = check_results("empty", graded, maximum)
    assert results["score"] == 0
    message = (f"{ASSIGNMENT}: optimizers.py is missing from your submission (looked at the "
               f"top level and in {ASSIGNMENT}/")
    assert "Your submission is empty" in results["output"] and message in results["output"]
    for test in hidden(results):
        assert test["score"] == 0 and test["status"] == "failed"
    for test in ran(hidden(results)):
        assert message in test["output"]


def test_a_syntax_error_scores_zero_and_names_the_error(graded, maximum):
    results = check_results("syntax_error", graded, maximum)
    assert results["score"] == 0
    assert "SyntaxError" in results["output"]
    assert f'File "{ASSIGNMENT}/optimizers.py", line' in results["output"]
    counted = ran(hidden(results))
    assert all(t["score"] == 0 for t in counted)
    assert sum("SyntaxError" in t["output"] for t in counted) >= len(counted) - 1


def test_a_grader_failure_still_leaves_results_that_parse(built, tmp_path):
    root = gradescope_root(tmp_path / "broken", built, {"optimizers.py": REFERENCE})
    (root / "source" / gradescope.CONFIG_NAME).write_text('assignments = ["99_nothing"]\n'
                                                          "seed = 5\n")
    done, results = run_autograder(root)
    assert done.returncode == 1
    assert results["score"] == 0 and results["tests"] == []
    assert "The grader itself failed" in results["output"] and "99_nothing" in results["output"]
    assert "not the student's fault" in results["output"]


# --------------------------------------------------------------------------- user switch


def test_no_user_switch_without_a_user_or_without_root(monkeypatch):
    monkeypatch.delenv(sandbox.SANDBOX_USER_ENV, raising=False)
    assert sandbox.sandbox_user() == (None, "")
    monkeypatch.setenv(sandbox.SANDBOX_USER_ENV, "no-such-user-here")
    user, problem = sandbox.sandbox_user()
    if os.geteuid() == 0:
        assert user is None and "no user 'no-such-user-here'" in problem
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    user, problem = sandbox.sandbox_user()
    assert user is None and "needs a grader that runs as root" in problem
    warning = sandbox.Support("Linux", landlock_abi=5, seccomp=True,
                              user_problem=problem).warning()
    assert warning.startswith("warning: student code does not run as another user")


def python_nobody_can_run(folder):
    """The bin folder of a Python that user nobody can run with this environment's
    packages: this one, or, where it lives in a folder only root may enter, the system's
    Python of the same version in a virtual environment that adds this one's packages (a
    .pth file)."""
    nobody = pwd.getpwnam("nobody")

    def usable(python):
        try:
            return subprocess.run([str(python), "-c", "import fractions, torch"], cwd="/",
                                  user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
                                  capture_output=True, timeout=120, check=False).returncode == 0
        except OSError:
            return False

    if usable(sys.executable):
        return Path(sys.executable).parent
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
    if system is None:
        return None
    venv = Path(folder) / "python"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    import site as this
    (site / "this-environment.pth").write_text("\n".join(this.getsitepackages()) + "\n")
    return venv / "bin" if usable(venv / "bin" / "python") else None


GRADE_WITHOUT_LANDLOCK = """
import dataclasses, sys
sys.path.insert(0, sys.argv[2])
from autograder import sandbox
found = sandbox.detect()
# as in a container whose kernel offers no landlock: only the user switch guards files
sandbox.detect = lambda: dataclasses.replace(found, landlock_abi=0)
from autograder.platforms import gradescope
sys.exit(gradescope.run(sys.argv[1]))
"""

HOSTILE = textwrap.dedent("""
    import pathlib
    outcomes = []
    for path in ({reference!r}, {config!r}):
        try:
            pathlib.Path(path).read_text()
            outcomes.append("READ " + path)
        except PermissionError as error:
            outcomes.append(f"DENIED {{path}}: {{type(error).__name__}}")
    raise RuntimeError("; ".join(outcomes))
    """)


@pytest.fixture
def traversable_environment():
    """As on Gradescope, where the image's Python and packages are readable by everyone:
    this environment's folders (a tox or virtual environment is often inside a folder only
    its owner may enter, such as .tox/ or /root) get the others' search bit (o+x, no
    listing) for the test's duration, and their modes back afterwards."""
    import site
    import stat
    changed = {}
    if os.geteuid() == 0:
        for start in [*site.getsitepackages(), sys.prefix, os.path.realpath(sys.executable)]:
            path = Path(start).resolve()
            for folder in [path, *path.parents] if path.is_dir() else list(path.parents):
                mode = folder.stat().st_mode
                if not mode & stat.S_IXOTH and folder not in changed:
                    changed[folder] = stat.S_IMODE(mode)
                    folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
    yield
    for folder, mode in changed.items():
        folder.chmod(mode)


@pytest.fixture(scope="module")
def world_readable_folder():
    """A folder user nobody can reach (pytest's own temporary folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="gradescope-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_as_root_student_code_runs_as_nobody_without_landlock(built, world_readable_folder,
                                                             maximum, traversable_environment):
    """With landlock off, the user switch alone keeps the reference and the hidden seed out
    of reach (PermissionError), and a correct submission still scores full marks."""
    python = Path(sys.executable).parent
    if os.geteuid() == 0:
        python = python_nobody_can_run(world_readable_folder)
        assert python is not None, "no Python here that user nobody can run"

    def grade(name, files, user="nobody"):
        root = gradescope_root(world_readable_folder / name, built, files)
        config = root / "source" / gradescope.CONFIG_NAME
        config.write_text(config.read_text().replace('sandbox_user = "nobody"',
                                                     f'sandbox_user = "{user}"'))
        done = subprocess.run([str(python / "python3"), "-c", GRADE_WITHOUT_LANDLOCK, str(root),
                               str(root / "source")], cwd=root / "source", timeout=600,
                              env=clean_environment(python), capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads((root / "results" / "results.json").read_text()), root

    correct, _ = grade("correct", {"optimizers.py": REFERENCE})
    assert correct["score"] == maximum
    where = correct["extra_data"]["sandbox"]
    assert "landlock" not in where.split("\n")[0]
    if os.geteuid() != 0:  # a grader that is not root cannot switch users, and says so
        assert "needs a grader that runs as root" in where
        return
    assert "user nobody (uid" in where, where
    root = world_readable_folder / "hostile"
    attack = HOSTILE.format(reference=str(root / "source" / "reference" / ASSIGNMENT /
                                          "optimizers.py"),
                            config=str(root / "source" / gradescope.CONFIG_NAME))
    hostile, _ = grade("hostile", {"optimizers.py": attack})
    assert hostile["score"] == 0
    assert not [t["name"] for t in hostile["tests"] if "READ " in t["output"]]
    outputs = "\n".join(t["output"] for t in hidden(hostile))
    assert outputs.count("PermissionError") >= 2 and "DENIED" in outputs
    assert f"DENIED {root / 'source' / gradescope.CONFIG_NAME}: PermissionError" in outputs
    assert f"DENIED {root / 'source' / 'reference'}" in outputs
    # the same attack with student code left as root reads both: the switch is what holds
    control_root = world_readable_folder / "as_root"
    control = HOSTILE.format(reference=str(control_root / "source" / "reference" / ASSIGNMENT
                                           / "optimizers.py"),
                             config=str(control_root / "source" / gradescope.CONFIG_NAME))
    as_root, _ = grade("as_root", {"optimizers.py": control}, user="")
    outputs = "\n".join(t["output"] for t in hidden(as_root))
    assert "READ " in outputs and "DENIED" not in outputs
