"""03_adam forbids torch's own optimizers and their kernels; the kit names the call."""
import shutil

import pytest

from autograder.grading import grade
from autograder.sandbox import detect

pytestmark = pytest.mark.slow

BORROWED = '''

import torch.optim.adam as _adam_module


class Adam(torch.optim.Adam):
    """Borrows torch's Adam wholesale."""


class SGD(SGD):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            _adam_module.adam(params, [p.grad for p in params], [torch.zeros_like(p) for p in params],
                              [torch.zeros_like(p) for p in params], [],
                              [torch.tensor(0.0) for p in params], amsgrad=False, beta1=0.9,
                              beta2=0.99, lr=0.0, weight_decay=0.0, eps=1e-8, maximize=False)
        return super().step(closure)
'''


def test_calls_to_torch_optimizers_are_named_and_zeroed(tmp_path, kit_root):
    tree = tmp_path / "borrowed"
    shutil.copytree(kit_root / "reference" / "03_adam", tree / "03_adam")
    path = tree / "03_adam" / "optimizers.py"
    path.write_text(path.read_text() + BORROWED)
    report = grade("03_adam", tree, checks=["adam_f64", "sgd_momentum_f64", "gd_quadratic"])
    by_check = {r.check: r for r in report.results}
    assert by_check["adam_f64"].status == "forbidden"
    assert "torch.optim.Adam" in by_check["adam_f64"].reason
    assert by_check["adam_f64"].points == 0
    assert by_check["sgd_momentum_f64"].status == "forbidden"
    assert "torch.optim.adam.adam" in by_check["sgd_momentum_f64"].reason
    assert by_check["gd_quadratic"].status == "passed"


def test_names_of_a_package_not_yet_imported_are_wrapped_when_it_is_imported(tmp_path, kit_root):
    """The tripwire does not import torchvision itself (seconds of start-up); it wraps the
    forbidden names the moment someone imports them, aliases taken at import included."""
    import subprocess
    import sys
    student = tmp_path / "student.py"
    student.write_text("from torchvision.transforms.v2.functional import rotate\n"
                       "def turn(x):\n    return rotate(x, 30.0)\n")
    code = f"""
import sys, importlib.util
from autograder.tripwire import Tripwire
wire = Tripwire(["torchvision.datasets.ImageFolder",
                 "torchvision.transforms.v2.functional.rotate"])
assert "torchvision" not in sys.modules and not wire.unresolved
spec = importlib.util.spec_from_file_location("student", {str(student)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
import torch
wire.watch([{str(tmp_path)!r}])
module.turn(torch.zeros(1, 4, 4))
print(wire.collect())
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=kit_root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['torchvision.transforms.v2.functional.rotate']"


FORGERIES = {
    # the template, then torch's optimizers under the names the assignment asks for
    "reexport": "\nfrom torch.optim import SGD, Adam, AdamW\n",
    # the template, then the reference's code, found by walking up from the working folder
    "exec_reference": '''
import os as _os
_here = _os.getcwd()
while _here != "/" and not _os.path.exists(_os.path.join(_here, "reference/03_adam/optimizers.py")):
    _here = _os.path.dirname(_here)
exec(open(_os.path.join(_here, "reference/03_adam/optimizers.py")).read())
''',
    # the same, knowing where the kit is
    "read_reference": "\nexec(open({path!r}).read())\n",
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_full_marks_score_zero(tmp_path, kit_root, forgery):
    """Each of these scored 35/35 before the grader read files, watched what a module hands
    over, and sandboxed the student's worker."""
    tree = tmp_path / forgery
    shutil.copytree(kit_root / "student_template" / "03_adam", tree / "03_adam")
    path = tree / "03_adam" / "optimizers.py"
    reference = kit_root / "reference" / "03_adam" / "optimizers.py"
    path.write_text(path.read_text() + FORGERIES[forgery].format(path=str(reference)))
    checks = ["sgd_momentum_f64", "adam_f64", "adamw_f64", "adam_resume"]
    report = grade("03_adam", tree, checks=checks, cuda=False)
    assert report.score == 0
    for result in report.results:
        if forgery == "reexport":
            assert result.status == "forbidden", result.reason
            assert "which this assignment asks you to write yourself" in result.reason
        elif forgery == "read_reference" and not detect().hides_files:
            # no sandbox here: the file is read, and the exec that runs it is what fails
            assert result.status == "forbidden", result.reason
            assert "runs code the grader cannot read" in result.reason and "exec()" in result.reason
        else:
            assert result.status == "load_error", result.reason
            assert ("No such file" in result.reason or "PermissionError" in result.reason), \
                result.reason
