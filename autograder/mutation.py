"""Mutation testing of the checks: does every wrong solution lose points?

``python -m autograder mutants [IDS]`` makes mutants of the reference and grades each one
as a class submission, against the pristine reference, without the speed checks. A mutant
is *killed* when it loses a point, *survives* when it keeps full marks, and is
*equivalent* when a person has looked at it and found that it computes what the reference
computes (``assignments/<id>/equivalent_mutants.toml``, one entry per mutant with the
reason). The report goes to ``benchmarks/mutation_report.md`` (and ``.json``).

Mutants are made with cosmic-ray's mutation operators, used as a library: each operator
yields every position it can mutate in a parso tree, and applying one occurrence gives one
mutant's source, so each mutant is a file of its own that the kit grades like any
student's. (mutmut, the other common engine, compiles all of a module's mutants into one
file and picks one at run time through an environment variable, inside a pytest run; the
kit grades files in a sandboxed worker, so separate sources fit it better.) Three operators
of the kit's own, written to cosmic-ray's ``Operator`` interface, add what a student
typically gets wrong and cosmic-ray does not try: dropping a term (``a + b`` to ``a``),
swapping two arguments (``f(a, b)`` to ``f(b, a)``) and calling the out-of-place twin of
an in-place method (``x.mul_(c)`` to ``x.mul(c)``, whose result is thrown away).

Only mutations inside a ``### BEGIN/END SOLUTION`` region count: those are the student's
code; the rest of a reference file is what the template gives them.

cosmic-ray is an optional dependency: ``pip install -e ".[mutation]"``.
"""
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.manifest import KIT_ROOT, REFERENCE_ROOT, load_manifest

EQUIVALENTS_FILE = "equivalent_mutants.toml"
REPORT = KIT_ROOT / "benchmarks" / "mutation_report.md"

_ARITH = ["Add_Sub", "Sub_Add", "Mul_Div", "Div_Mul", "Mul_Add", "Add_Mul", "Pow_Mul",
          "FloorDiv_Div", "Div_FloorDiv", "Mod_FloorDiv", "MatMul_Mul"]
_COMPARE = ["Lt_LtE", "LtE_Lt", "Gt_GtE", "GtE_Gt", "Lt_Gt", "Gt_Lt", "LtE_GtE", "GtE_LtE",
            "Eq_NotEq", "NotEq_Eq", "Is_IsNot", "IsNot_Is"]
COSMIC_RAY_OPERATORS = (
    [f"core/ReplaceBinaryOperator_{pair}" for pair in _ARITH]
    + [f"core/ReplaceComparisonOperator_{pair}" for pair in _COMPARE]
    + ["core/ReplaceUnaryOperator_USub_UAdd", "core/ReplaceUnaryOperator_Delete_USub",
       "core/ReplaceUnaryOperator_Delete_Not", "core/AddNot", "core/ReplaceTrueWithFalse",
       "core/ReplaceFalseWithTrue", "core/ReplaceAndWithOr", "core/ReplaceOrWithAnd",
       "core/ReplaceBreakWithContinue", "core/NumberReplacer", "core/ZeroIterationForLoop",
       "core/RemoveDecorator"])
KIT_OPERATORS = ("kit/DropTerm", "kit/SwapArguments", "kit/OutOfPlace")


# --- the kit's operators (cosmic-ray's Operator interface) ---------------------------------

def _kit_operators():
    import parso
    from cosmic_ray.operators.operator import Example, Operator

    class DropTerm(Operator):
        """``a + b`` (or ``-``, ``*``, ``/``) becomes ``a``, or ``b``."""

        def mutation_positions(self, node):
            if node.type in ("arith_expr", "term") and len(node.children) == 3:
                yield (node.start_pos, node.end_pos)
                yield (node.start_pos, node.end_pos)

        def mutate(self, node, index):
            kept = node.children[0] if index == 0 else node.children[2]
            kept.prefix = node.children[0].prefix
            return kept

        @classmethod
        def examples(cls):
            return (Example("x = a + b\n", "x = a\n"), Example("x = a * b\n", "x = b\n", 1))

    class SwapArguments(Operator):
        """The first two positional arguments of a call change places."""

        def mutation_positions(self, node):
            if self._arguments(node) is not None:
                yield (node.start_pos, node.end_pos)

        @staticmethod
        def _arguments(node):
            if node.type != "trailer" or node.children[0].type != "operator" \
                    or node.children[0].value != "(" or len(node.children) != 3:
                return None
            arglist = node.children[1]
            if arglist.type != "arglist":
                return None
            positional = [c for c in arglist.children if c.type not in ("operator", "argument")]
            if len(positional) < 2 or arglist.children.index(positional[1]) != 2:
                return None
            return arglist, positional

        def mutate(self, node, index):
            arglist, positional = self._arguments(node)
            first, second = arglist.children.index(positional[0]), arglist.children.index(
                positional[1])
            a, b = arglist.children[first], arglist.children[second]
            a.prefix, b.prefix = b.prefix, a.prefix
            arglist.children[first], arglist.children[second] = b, a
            return node

        @classmethod
        def examples(cls):
            return (Example("f(a, b)\n", "f(b, a)\n"),)

    class OutOfPlace(Operator):
        """``x.add_(y)`` becomes ``x.add(y)``: the update is computed and thrown away."""

        def mutation_positions(self, node):
            if node.type == "trailer" and len(node.children) == 2 \
                    and node.children[0].type == "operator" and node.children[0].value == "." \
                    and re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*_", node.children[1].value):
                yield (node.start_pos, node.end_pos)

        def mutate(self, node, index):
            name = node.children[1]
            node.children[1] = parso.python.tree.Name(name.value[:-1], name.start_pos,
                                                      name.prefix)
            return node

        @classmethod
        def examples(cls):
            return (Example("x.mul_(2)\n", "x.mul(2)\n"),)

    return {"kit/DropTerm": DropTerm, "kit/SwapArguments": SwapArguments,
            "kit/OutOfPlace": OutOfPlace}


def operator_classes(names=None):
    import cosmic_ray.plugins
    available = set(cosmic_ray.plugins.operator_names())
    kit = _kit_operators()
    chosen = {}
    for name in names or (*COSMIC_RAY_OPERATORS, *KIT_OPERATORS):
        if name in kit:
            chosen[name] = kit[name]
        elif name in available:
            chosen[name] = cosmic_ray.plugins.get_operator(name)
        # an operator this cosmic-ray lacks (MatMul in an older one) is left out
    return chosen


# --- mutants ---------------------------------------------------------------------------

@dataclass
class Mutant:
    id: str
    assignment: str
    file: str
    operator: str
    line: int             # 1-based, in the reference file
    original: str         # the reference's line
    mutated: str          # the same line in the mutant
    source: str = field(repr=False, default="")

    def key(self):
        return (self.file, self.original.strip(), self.mutated.strip())


def solution_lines(source):
    """The 1-based line numbers inside ``### BEGIN/END SOLUTION`` regions."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), 1):
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


class _Positions:
    """Walk a tree the way cosmic-ray's MutationVisitor does, recording where each
    occurrence of an operator lies."""

    def __init__(self, operator):
        self.operator, self.found = operator, []

    def walk(self, node):
        import parso.tree
        for position in self.operator.mutation_positions(node):
            self.found.append(position)
        if isinstance(node, parso.tree.BaseNode):
            for child in node.children:
                self.walk(child)


def mutants_of(assignment, reference_root=REFERENCE_ROOT, operators=None):
    """Every mutant of ``assignment``'s solution regions, with one operator applied once."""
    from cosmic_ray.ast import get_ast
    from cosmic_ray.mutating import mutate_code
    found, seen = [], set()
    for name in assignment.files:
        source = (Path(reference_root) / assignment.id / name).read_text()
        region = solution_lines(source)
        original_lines = source.splitlines()
        for op_name, op_class in operator_classes(operators).items():
            operator = op_class()
            positions = _Positions(operator)
            positions.walk(get_ast(source))
            for occurrence, (start, end) in enumerate(positions.found):
                if not all(line in region for line in range(start[0], end[0] + 1)):
                    continue
                try:
                    mutated = mutate_code(source, op_class(), occurrence)
                except Exception:  # an operator that cannot handle this node: no mutant
                    continue
                if mutated is None or mutated == source:
                    continue
                try:
                    compile(mutated, name, "exec")
                except SyntaxError:   # not a program a student could hand in
                    continue
                if mutated in seen:   # two operators that made the same program
                    continue
                seen.add(mutated)
                line = start[0]
                new_lines = mutated.splitlines()
                digest = hashlib.sha1(mutated.encode()).hexdigest()[:10]
                found.append(Mutant(
                    id=f"m{len(found) + 1:04d}_{digest}", assignment=assignment.id, file=name,
                    operator=op_name, line=line, original=original_lines[line - 1],
                    mutated=new_lines[line - 1] if line - 1 < len(new_lines) else "",
                    source=mutated))
    return found


def equivalents(assignment):
    """{(file, original line, mutated line): reason} from the assignment's file."""
    path = assignment.folder / EQUIVALENTS_FILE
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text())
    return {(e["file"], e["line"].strip(), e["mutant"].strip()): e["reason"]
            for e in data.get("equivalent", [])}


# --- grading them ------------------------------------------------------------------------

@dataclass
class Outcome:
    mutant: Mutant
    verdict: str          # killed, survived, equivalent
    points: float
    max_points: float
    failed: list          # the checks it lost
    named: list           # declared mistakes a check named
    reason: str = ""      # an equivalent mutant's reason


def grade_mutants(assignment, mutants, jobs=None, progress=True):
    """Grade each mutant like a class submission; return one ``Outcome`` per mutant."""
    from autograder.batch.run import Options, grade_class
    from autograder import results as R
    known = equivalents(assignment)
    work = Path(tempfile.mkdtemp(prefix=f"mutants-{assignment.id}-"))
    try:
        submissions = work / "submissions"
        for mutant in mutants:
            folder = submissions / mutant.id / assignment.id
            folder.mkdir(parents=True)
            for name in assignment.files:
                text = mutant.source if name == mutant.file else \
                    (REFERENCE_ROOT / assignment.id / name).read_text()
                (folder / name).write_text(text)
        batch = grade_class(Options(submissions=submissions, out=work / "out",
                                    assignments=[assignment.id], jobs=jobs, speed=False,
                                    progress=progress))
        checks = [c for c in assignment.checks if c.kind != "speed" and c.device == "cpu"]
        maximum = sum(c.points for c in checks)
        outcomes = []
        for mutant in mutants:
            results = [r for r in batch.results.get((mutant.id, assignment.id), [])
                       if r.counts and r.status != R.NOT_EVALUATED]
            points = sum(r.points for r in results)
            failed = [r.check for r in results if r.points < r.max_points]
            named = sorted({m for r in results for m in r.diagnosis})
            verdict = "killed" if failed or len(results) < len(checks) else "survived"
            reason = known.get(mutant.key(), "")
            if verdict == "survived" and reason:
                verdict = "equivalent"
            outcomes.append(Outcome(mutant, verdict, points, maximum, failed, named, reason))
        return outcomes
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(assignment_ids=None, jobs=None, operators=None, limit=None, report=REPORT,
        progress=True):
    """Make, grade and report the mutants of each assignment; return the summary rows."""
    manifest = load_manifest()
    chosen = [manifest.assignment(a) for a in assignment_ids] if assignment_ids \
        else list(manifest.assignments)
    rows, details = [], {}
    for assignment in chosen:
        started = time.perf_counter()
        mutants = mutants_of(assignment, operators=operators)
        if limit:
            mutants = mutants[:: max(1, len(mutants) // limit)][:limit]
        outcomes = grade_mutants(assignment, mutants, jobs=jobs, progress=progress)
        seconds = time.perf_counter() - started
        count = {v: sum(o.verdict == v for o in outcomes)
                 for v in ("killed", "survived", "equivalent")}
        named = sum(bool(o.named) for o in outcomes if o.verdict == "killed")
        rows.append({"assignment": assignment.id, "mutants": len(outcomes), **count,
                     "named": named, "seconds": round(seconds, 1)})
        details[assignment.id] = [
            {"id": o.mutant.id, "file": o.mutant.file, "line": o.mutant.line,
             "operator": o.mutant.operator, "original": o.mutant.original.strip(),
             "mutant": o.mutant.mutated.strip(), "verdict": o.verdict, "points": o.points,
             "max_points": o.max_points, "failed": o.failed, "named": o.named,
             "reason": o.reason} for o in outcomes]
    if report:
        write_report(Path(report), rows, details)
    return rows, details


def write_report(path, rows, details):
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=KIT_ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    lines = ["# Mutation testing of the checks", "",
             f"`python -m autograder mutants`, {time.strftime('%Y-%m-%d')}"
             + (f", commit {commit}" if commit else "") + ". Each mutant is the reference with "
             "one mutation inside a solution region, graded without the speed checks. "
             "Killed: it lost a point. Equivalent: it computes what the reference does "
             f"(listed with a reason in `assignments/<id>/{EQUIVALENTS_FILE}`). Named: a "
             "killed mutant that a check's feedback names as a known mistake.", "",
             "| assignment | mutants | killed | survived | equivalent | killed % | named | "
             "seconds |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        judged = row["killed"] + row["survived"]
        percent = 100.0 * row["killed"] / judged if judged else 100.0
        lines.append(f"| {row['assignment']} | {row['mutants']} | {row['killed']} | "
                     f"{row['survived']} | {row['equivalent']} | {percent:.1f} | "
                     f"{row['named']} | {row['seconds']:g} |")
    for assignment, items in details.items():
        survivors = [d for d in items if d["verdict"] == "survived"]
        if not survivors:
            continue
        lines += ["", f"## Survivors in {assignment}", ""]
        lines += [f"- `{d['file']}:{d['line']}` ({d['operator']}): `{d['original']}` "
                  f"becomes `{d['mutant']}`" for d in survivors]
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"summary": rows, "mutants": details},
                                                    indent=1) + "\n")
