"""The batch's backends, as the default suite sees them (the Ray cluster itself is tested in
tests/test_ray_backend.py, under the ``ray`` mark): Ray is optional, imported only when it
is chosen, and its absence is an error that says what to install."""
import subprocess
import sys

import pytest

from autograder.batch import Options, grade_class


def test_the_local_backend_never_imports_ray(kit_root):
    code = ("import sys, autograder.__main__, autograder.batch, autograder.batch.run; "
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=kit_root, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"


def test_without_ray_the_ray_backend_says_what_to_install(tmp_path, monkeypatch, capsys):
    from autograder.__main__ import main
    monkeypatch.setitem(sys.modules, "ray", None)      # as where it is not installed
    (tmp_path / "submissions" / "ada").mkdir(parents=True)
    code = main(["batch", str(tmp_path / "submissions"), "--out", str(tmp_path / "out"),
                 "--backend", "ray", "--no-progress", "--assignments", "01_tensors"])
    assert code == 2
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err


def test_an_unknown_backend_is_an_error_that_names_it(tmp_path, manifest):
    (tmp_path / "submissions").mkdir()
    options = Options(submissions=tmp_path / "submissions", out=tmp_path / "out",
                      progress=False, backend="spark", assignments=["01_tensors"])
    with pytest.raises(ValueError, match="spark"):
        grade_class(options, manifest=manifest)
