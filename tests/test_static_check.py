"""The static check reads a solution's files without running them: where each forbidden
name is used, by which top-level name, and what reaches into the grader."""
import textwrap

import pytest
import torch  # noqa: F401  (identity matching needs torch's modules loaded)

from autograder.static_check import TAMPER, scan_solution

FORBIDDEN = ["torch.optim.SGD", "torch.optim.Adam", "torch.optim.adam.adam", "torch.softmax",
             "torch.Tensor.__matmul__", "torch.nn.Linear", "torch.autograd.backward"]


def scan(tmp_path, source, forbidden=FORBIDDEN, files=None):
    folder = tmp_path / "04_x"
    folder.mkdir(exist_ok=True)
    for name, text in (files or {"m.py": source}).items():
        (folder / name).write_text(textwrap.dedent(text))
    return scan_solution(folder, ["m.py"], forbidden)


def tainted(result):
    return {name: sorted({f.name for f in findings})
            for (_, name), findings in result.tainted.items()}


@pytest.mark.parametrize("source, name", [
    ("import torch.optim as O\nclass Adam:\n    def step(self):\n        return O.Adam\n", "Adam"),
    ("import torch\nAdam = getattr(torch.optim, 'Adam')\n", "Adam"),
    ("Adam = __import__('torch.optim').optim.Adam\n", "Adam"),
    ("import importlib\nAdam = importlib.import_module('torch.optim').Adam\n", "Adam"),
    ("from torch.optim.adam import Adam\n", "Adam"),
    ("import torch\nclass Adam(torch.optim.Adam):\n    pass\n", "Adam"),
    ("import functools, torch\nAdam = functools.partial(torch.optim.Adam, lr=1)\n", "Adam"),
    ("import torch\nAdam = vars(torch.optim)['Adam']\n", "Adam"),
    ("import torch\nAdam = torch.optim.__dict__['Adam']\n", "Adam"),
    ("class Adam:\n    def step(self):\n        from torch.optim import Adam as A\n"
     "        return A\n", "Adam"),
])
def test_each_way_of_naming_a_forbidden_class_is_found(tmp_path, source, name):
    assert tainted(scan(tmp_path, source)) == {name: ["torch.optim.Adam"]}


def test_an_alias_path_is_matched_by_identity(tmp_path):
    result = scan(tmp_path, "import torch\ndef softmax(x, d):\n"
                            "    return torch._C._VariableFunctions.softmax(x, d)\n")
    assert tainted(result) == {"softmax": ["torch.softmax"]}
    result = scan(tmp_path, "import torch.nn as nn\nclass Lazy(nn.LazyLinear):\n    pass\n")
    assert tainted(result) == {"Lazy": ["torch.nn.Linear"]}  # a subclass of a forbidden class


def test_a_forbidden_import_shadowed_by_the_students_own_class_is_harmless(tmp_path):
    assert tainted(scan(tmp_path, "from torch.optim import Adam\nclass Adam:\n    pass\n")) == {}
    result = scan(tmp_path, "class Adam:\n    pass\nfrom torch.optim import Adam\n")
    assert tainted(result) == {"Adam": ["torch.optim.Adam"]}
    finding = result.tainted[("m", "Adam")][0]
    assert finding.describe() == "m.py line 3 imports torch.optim.Adam"


def test_a_name_that_uses_a_tainted_name_is_tainted(tmp_path):
    result = scan(tmp_path, """
        import torch
        def _core(p):
            return torch.optim.adam.adam(p)
        class Adam:
            def step(self):
                _core(1)
        class Clean:
            pass
        """)
    assert tainted(result) == {"_core": ["torch.optim.adam.adam"],
                               "Adam": ["torch.optim.adam.adam"]}
    assert result.forbidden_for({"m": ["Clean"]}) == []
    assert [f.name for f in result.forbidden_for({"m": ["Adam"]})] == ["torch.optim.adam.adam"]


def test_a_helper_module_carries_its_taint(tmp_path):
    result = scan(tmp_path, None, files={
        "m.py": "from helpers import fast\ndef softmax(x, d):\n    return fast(x, d)\n",
        "helpers.py": "import torch\ndef fast(x, d):\n    return torch.softmax(x, d)\n",
        "scratch.py": "import torch\nprint(torch.softmax(torch.zeros(2), 0))\n"})
    assert tainted(result)["softmax"] == ["torch.softmax"]
    assert result.module_wide == []  # scratch.py is not imported by the graded file


def test_the_matmul_operator_and_module_level_code(tmp_path):
    assert tainted(scan(tmp_path, "def matmul(a, b):\n    return a @ b\n")) == {
        "matmul": ["torch.Tensor.__matmul__"]}
    result = scan(tmp_path, "import torch\nprint(torch.softmax(torch.zeros(2), 0))\n")
    assert [f.name for f in result.module_wide] == ["torch.softmax"]
    assert [f.name for f in result.forbidden_for({})] == ["torch.softmax"]


def test_a_module_getattr_serves_names_it_does_not_define(tmp_path):
    result = scan(tmp_path, "def __getattr__(name):\n    import torch\n"
                            "    return torch.optim.SGD\n")
    assert [f.name for f in result.forbidden_for({"m": ["SGD"]})] == ["torch.optim.SGD"]


def test_main_blocks_are_not_read(tmp_path):
    result = scan(tmp_path, "if __name__ == '__main__':\n    import torch, sys\n"
                            "    print(torch.optim.Adam, sys._getframe())\n")
    assert tainted(result) == {} and result.module_wide == [] and result.tamper == []


def test_allowed_parts_of_torch_are_not_findings(tmp_path):
    result = scan(tmp_path, """
        import gc
        import torch
        from torch.optim import Optimizer
        class Adam(Optimizer):
            def step(self):
                torch._foreach_mul_([], 1.0)
                self.model.eval()
                gc.collect()
                return getattr(self, "lr")
        """)
    assert tainted(result) == {} and result.tamper == []


@pytest.mark.parametrize("source, what", [
    ("import autograder.tripwire\n", "the grader's own code"),
    ("import sys\nsys.modules['autograder.wire'].encode_data = None\n", "sys.modules"),
    ("import sys\ndef f():\n    return sys._getframe(1).f_back\n", "frames"),
    ("import gc\nX = gc.get_objects()\n", "live object"),
    ("import torch\ndef f():\n    return torch.optim.Adam.__init__.__wrapped__\n", "unwraps"),
    ("import importlib.util\nS = importlib.util.spec_from_file_location('r', '/x.py')\n",
     "loads a module from a path"),
    ("X = 'autograder.tripwire'\n", "names the grader's own code"),
])
def test_reaching_into_the_grader_is_found(tmp_path, source, what):
    result = scan(tmp_path, source)
    assert result.tamper, source
    assert all(f.kind == TAMPER for f in result.tamper)
    assert any(what in f.describe() for f in result.tamper), [f.describe() for f in result.tamper]


def test_a_name_computed_at_run_time_counts_where_its_namespace_holds_a_forbidden_one(tmp_path):
    result = scan(tmp_path, "import torch\ndef make(name):\n    return getattr(torch.optim, name)\n"
                            "def kind(bits):\n    return getattr(torch, f'float{bits}')\n"
                            "def load(n):\n    return __import__(n)\n"
                            "def table(n):\n    return vars(torch.optim)[n]\n")
    assert tainted(result) == {"make": ["torch.optim.<a name computed at run time>"],
                               "kind": ["torch.<a name computed at run time>"],
                               "load": ["<a module named at run time>"],
                               "table": ["torch.optim.<a name computed at run time>"]}
    code = scan(tmp_path, "def f(s):\n    return eval(s)\nexec('x = 1')\n")
    assert tainted(code) == {"f": ["eval()"]}
    assert [f.describe() for f in code.module_wide] == ["m.py line 3 calls exec()"]
    assert result.tamper == []
    plain = scan(tmp_path, "import torch\ndef kind(bits):\n"
                           "    return getattr(torch, f'float{bits}')\n", forbidden=["torch.optim.SGD"])
    assert tainted(plain) == {}  # nothing forbidden lives in torch's own namespace here


def test_a_file_that_does_not_parse_is_left_to_the_import(tmp_path):
    result = scan(tmp_path, "def f(:\n")
    assert tainted(result) == {} and result.tamper == [] and result.module_wide == []


def test_the_reference_and_the_template_are_clean(kit_root, manifest):
    for assignment in manifest.assignments:
        for tree in ("reference", "student_template"):
            result = scan_solution(kit_root / tree / assignment.id, assignment.files,
                                   assignment.forbidden,
                                   [(kit_root / tree / other, files)
                                    for other, files in assignment.uses])
            assert (result.tainted, result.module_wide, result.tamper) == ({}, [], []), \
                (tree, assignment.id)
