"""Read a solution's files without running them, in the grading process.

Two things are looked for:

* **Forbidden names.** Every place a file names a forbidden API: ``import``,
  ``from ... import ... as ...``, an attribute chain such as ``torch.optim.Adam``,
  ``getattr(torch.optim, "Adam")``, ``__import__("torch.optim")``,
  ``importlib.import_module(...)``, ``sys.modules[...]``, ``vars(x)["..."]``, a class
  statement that subclasses one, and the ``@`` operator where ``Tensor.__matmul__`` is
  forbidden. A path is matched by name and, for torch, by identity, so an alias path
  (``torch.optim.adam.Adam``, ``torch._C._VariableFunctions.softmax``) is caught too.
  Each finding belongs to the top-level name whose code contains it (a function, a class,
  an import or an assignment); a top-level name that uses another tainted one is tainted
  too. A check is affected when its scenario reaches a tainted name (the worker reports
  which names it reached), or when the finding sits in module-level code that runs on
  import.
* **Reaching into the grader.** Constructs that let code read or rewrite the grader's
  own objects, or run code the grader cannot read: importing ``autograder``, frames and
  the garbage collector's object lists, ``sys.modules``, ``__wrapped__`` and closures,
  loading modules from a path. These affect every check of the assignment.

A name looked up at run time in a namespace that holds a forbidden one
(``getattr(torch.optim, name)``), a module imported by a computed name, and
``exec``/``eval``/``compile`` count as forbidden names for the code they are in: the
grader cannot tell what they reach.

Code under ``if __name__ == "__main__":`` never runs when grading and is not read.
"""
import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

FORBIDDEN, TAMPER = "forbidden", "tamper"
MODULE = "<module>"  # code that runs when the file is imported
MAX_FILES, MAX_BYTES = 200, 2_000_000

# Resolved dotted paths (and their prefixes) that reach into the grader or run hidden code.
TAMPER_PATHS = {
    "autograder": "imports the grader's own code",
    "gc.get_objects": "lists every live object", "gc.get_referrers": "walks live objects",
    "gc.get_referents": "walks live objects", "sys.modules": "edits or reads sys.modules",
    "sys._getframe": "reads the caller's frames", "sys._current_frames": "reads other frames",
    "sys.settrace": "installs a tracer", "sys.setprofile": "installs a profiler hook",
    "sys.addaudithook": "installs an audit hook", "threading.settrace": "installs a tracer",
    "threading.setprofile": "installs a profiler hook",
    "inspect.currentframe": "reads the caller's frames", "inspect.stack": "reads frames",
    "inspect.trace": "reads frames", "inspect.getouterframes": "reads frames",
    "inspect.getinnerframes": "reads frames", "importlib.reload": "reloads a module",
    "importlib.util.spec_from_file_location": "loads a module from a path",
    "importlib.machinery": "loads modules by hand", "runpy": "runs code from a path",
    "marshal": "loads compiled code", "types.FunctionType": "builds a function from code",
    "types.CodeType": "builds code objects", "builtins": "changes Python's builtins",
    "ctypes.pythonapi": "calls into the interpreter's C API",
}
TAMPER_ATTRIBUTES = {
    "__wrapped__": "unwraps a wrapped function", "__closure__": "reads a function's closure",
    "cell_contents": "reads a closure cell", "__globals__": "reads a function's globals",
    "f_back": "walks frames", "f_globals": "reads a frame's globals",
    "f_locals": "reads a frame's locals", "f_builtins": "reads a frame's builtins",
    "tb_frame": "reads a traceback's frames", "gi_frame": "reads a generator's frame",
    "cr_frame": "reads a coroutine's frame", "ag_frame": "reads a generator's frame",
    "__builtins__": "changes Python's builtins", "__subclasses__": "lists every subclass",
}
# Builtins that run code the grader cannot read: they count as forbidden for their own code.
HIDDEN_CODE = ("exec", "eval", "compile")
_GRADER_STRING = re.compile(r"autograder(\.\w+)*")


@dataclass(frozen=True)
class Finding:
    """One place a file names a forbidden API or reaches into the grader."""

    kind: str   # FORBIDDEN or TAMPER
    name: str   # the forbidden dotted name, or what the construct reaches
    file: str
    line: int
    how: str    # "imports", "uses", "subclasses", ...

    def describe(self):
        if self.kind == TAMPER:
            return f"{self.file} line {self.line} {self.how} ({self.name})"
        return f"{self.file} line {self.line} {self.how} {self.name}"


@dataclass
class Scan:
    """The findings of a solution's files, by the top-level names that carry them."""

    tainted: dict = field(default_factory=dict)    # (module, name) -> [Finding]
    module_wide: list = field(default_factory=list)  # run on import: every check
    tamper: list = field(default_factory=list)     # every check
    problems: list = field(default_factory=list)   # files that could not be read
    exported: dict = field(default_factory=dict)   # module -> its top-level names

    def forbidden_for(self, touched):
        """The forbidden-name findings a check whose scenario reached ``touched``
        ({module: [names]}) is affected by, first occurrence per name."""
        found = list(self.module_wide)
        for module, names in (touched or {}).items():
            for name in names:
                found.extend(self.tainted.get((module, name), ()))
                if name not in self.exported.get(module, ()):  # served by __getattr__
                    found.extend(self.tainted.get((module, "__getattr__"), ()))
        unique = {}
        for finding in found:
            unique.setdefault(finding.name, finding)
        return list(unique.values())


class ForbiddenIndex:
    """Matches a dotted path against forbidden names, by name and (for modules this
    process has imported) by identity, without importing anything."""

    def __init__(self, names):
        self.names = set(names)
        self._ids, self._classes, self._keep = {}, {}, []
        for name in sorted(self.names):
            obj = lookup(name)
            if obj is None:
                continue
            self._keep.append(obj)
            self._ids.setdefault(id(obj), name)
            if isinstance(obj, type):
                self._classes.setdefault(id(obj), name)
        self.matmul = "torch.Tensor.__matmul__" if "torch.Tensor.__matmul__" in self.names else None

    def match(self, dotted):
        parts = dotted.split(".")
        for end in range(2, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix in self.names:
                return prefix
            obj = lookup(prefix)
            if obj is None:
                continue
            name = self._ids.get(id(obj))
            if name:
                return name
            if isinstance(obj, type):
                for base in obj.__mro__:
                    if id(base) in self._classes:
                        return self._classes[id(base)]
        return None


_MISSING = object()


def lookup(dotted):
    """The object at ``dotted`` if every step is already loaded (no import, no
    ``__getattr__`` hook runs), else None."""
    parts = dotted.split(".")
    obj = sys.modules.get(parts[0])
    path = parts[0]
    for part in parts[1:]:
        if obj is None:
            return None
        path = f"{path}.{part}"
        if isinstance(obj, type(sys)):
            found = obj.__dict__.get(part, _MISSING)
            if found is _MISSING:
                found = sys.modules.get(path, _MISSING)
        elif isinstance(obj, type):
            found = next((k.__dict__[part] for k in obj.__mro__ if part in k.__dict__), _MISSING)
            if isinstance(found, (staticmethod, classmethod)):
                found = found.__func__
        else:  # an object such as torch._C._VariableFunctions: its attributes are plain
            try:
                found = getattr(obj, part, _MISSING)
            except Exception:  # a property that fails: not a path to anything
                return None
        if found is _MISSING:
            return None
        obj = found
    return obj


def scan_solution(folder, graded_files, forbidden, also=()):
    """Scan the Python files of ``folder`` (a solution's assignment folder).

    ``graded_files`` are the files the scenarios load; only they and the files they import
    count. ``also`` are (folder, files) of other assignments whose files the scenarios
    load too: they are read for tampering only.
    """
    index = ForbiddenIndex(forbidden)
    scan = Scan()
    modules = _read_folder(Path(folder), scan)
    files = {}
    for module, (path, tree) in modules.items():
        files[module] = _FileScan(module, path.name if path.parent == Path(folder)
                                  else path.relative_to(folder).as_posix(), tree, index,
                                  set(modules))
    roots = [_module_name(Path(f)) for f in graded_files]
    reachable = _reachable(files, [r for r in roots if r in files])
    _taint(files, scan, reachable)
    for other_folder, other_files in also:
        other = _read_folder(Path(other_folder), scan)
        names = [_module_name(Path(f)) for f in other_files]
        other_scans = {m: _FileScan(m, f"{Path(other_folder).name}/{p.name}", t,
                                    ForbiddenIndex(()), set(other)) for m, (p, t) in other.items()}
        for module in _reachable(other_scans, [n for n in names if n in other_scans]):
            scan.tamper.extend(other_scans[module].tamper)
    return scan


def _module_name(relative):
    parts = list(relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _read_folder(folder, scan):
    modules = {}
    if not folder.is_dir():
        return modules
    paths = sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    for path in paths[:MAX_FILES]:
        relative = path.relative_to(folder)
        try:
            if path.stat().st_size > MAX_BYTES:
                scan.problems.append(f"{relative}: larger than {MAX_BYTES // 1_000_000} MB, not read")
                continue
            tree = ast.parse(path.read_bytes(), filename=str(relative))
        except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
            continue  # a file that does not parse cannot be imported either: the load says so
        modules[_module_name(relative)] = (path, tree)
    return modules


def _reachable(files, roots):
    seen, stack = set(), list(roots)
    while stack:
        module = stack.pop()
        if module in seen or module not in files:
            continue
        seen.add(module)
        stack.extend(files[module].imports)
    return seen


def _taint(files, scan, reachable):
    """Each binding's findings plus those of every binding it reads, transitively."""
    def node_of(module, key):
        if "#" in key or key == MODULE or module not in files:
            return (module, key)
        return (module, files[module].exported.get(key, key))

    direct, edges = {}, {}
    for module in reachable:
        file_scan = files[module]
        scan.tamper.extend(file_scan.tamper)
        for owner, findings in file_scan.findings.items():
            direct.setdefault((module, owner), []).extend(findings)
        for owner, targets in file_scan.edges.items():
            edges.setdefault((module, owner), set()).update(node_of(*t) for t in targets)
    tainted = {}
    for node in set(direct) | set(edges):
        seen, stack, found = set(), [node], []
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            found.extend(direct.get(current, ()))
            stack.extend(edges.get(current, ()))
        if found:
            tainted[node] = sorted(set(found), key=lambda f: (f.file, f.line, f.name))
    for module in reachable:
        scan.exported[module] = set(files[module].exported)
        scan.module_wide.extend(tainted.get((module, MODULE), ()))
        for name, key in files[module].exported.items():
            if (module, key) in tainted:
                scan.tainted[(module, name)] = tainted[(module, key)]


class _Binding:
    """One top-level binding of a name: a def, a class, an import or an assignment."""

    def __init__(self, name, key, order, kind, paths=()):
        self.name, self.key, self.order, self.kind, self.paths = name, key, order, kind, paths


class _Scope:
    """A function's local names: imports and simple aliases made inside it, and the rest."""

    def __init__(self, aliases, bound):
        self.aliases, self.bound = aliases, bound


class _FileScan:
    """One file: direct findings and references per top-level binding.

    Bindings are kept in file order. A name read when a top-level statement runs (a class
    body, a decorator, a default value, module-level code) is the binding made before that
    statement; a name read inside a function body is the file's last binding of it, as at
    run time. So ``from torch.optim import Adam`` followed by the student's own ``class
    Adam`` leaves the exported ``Adam`` clean, and the reverse order does not.
    """

    def __init__(self, module, display, tree, index, siblings):
        self.module, self.display, self.index, self.siblings = module, display, index, siblings
        self.findings, self.edges, self.tamper = {}, {}, []
        self.imports = set()
        self.bindings = {}   # name -> [_Binding] in file order
        self.bound = set()   # every name bound anywhere (builtins are the others)
        self._scopes = []
        self._order = 0
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.bound.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                self.bound.add(node.id)
            elif isinstance(node, ast.arg):
                self.bound.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.bound.update(b for a in node.names for b, _ in _import_targets(node, a))
        for statement in _top_statements(tree.body):
            self._order += 1
            self._top(statement)

    @property
    def exported(self):
        """name -> the key of its last top-level binding (a name deleted last is not there)."""
        return {name: bindings[-1].key for name, bindings in self.bindings.items()
                if bindings[-1].kind != "deleted"}

    # --- top-level statements -----------------------------------------------------------

    def _bind(self, name, kind, paths=()):
        bindings = self.bindings.setdefault(name, [])
        binding = _Binding(name, f"{name}#{len(bindings)}", self._order, kind, tuple(paths))
        bindings.append(binding)
        return binding.key

    def _top(self, statement):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            key = self._bind(statement.name, "definition")
            self._visit(statement, [key])
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                if alias.name == "*":
                    self._imported(statement, f"{statement.module}.*", [MODULE])
                for bound, target in _import_targets(statement, alias):
                    key = self._bind(bound, "import", [target])
                    self._imported(statement, target, [key])
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names = _target_names(targets)
            simple = all(isinstance(t, (ast.Name, ast.Tuple, ast.List)) for t in targets)
            value = getattr(statement, "value", None)
            paths = self._resolve(value) if value is not None and len(names) == 1 else []
            owners = [MODULE] if not simple else []
            if value is not None:  # the value is read before the names are bound
                self._visit(value, owners or ["<pending>"])
            keys = [self._bind(name, "assignment", paths) for name in names] if simple else []
            pending = self.findings.pop("<pending>", [])
            pending_edges = self.edges.pop("<pending>", set())
            for key in keys:
                for finding in pending:
                    self._add(key, finding)
                self.edges.setdefault(key, set()).update(pending_edges)
            for target in targets:
                self._visit(target, keys or [MODULE])
        elif isinstance(statement, ast.Delete):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    self._bind(target.id, "deleted")
                else:
                    self._visit(target, [MODULE])
        else:
            self._visit(statement, [MODULE])

    def _imported(self, node, target, owners):
        first = target.split(".")[0]
        if first in self.siblings:
            self.imports.add(first)
        for owner in owners:
            self._check_path(target, node, owner, "imports")

    # --- walking ----------------------------------------------------------------------

    def _visit(self, root, owners):
        for node, deferred in _walk_timed(root):
            if isinstance(node, _EnterScope):
                self._scopes.append(self._scope_of(node.function))
                continue
            if isinstance(node, _LeaveScope):
                self._scopes.pop()
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node is not root:
                for alias in node.names:
                    for _, target in _import_targets(node, alias):
                        self._imported(node, target, owners)
                continue
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    for path in self._resolve(base, deferred):
                        for owner in owners:
                            self._check_path(path, base, owner, "subclasses")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) \
                    and self.index.matmul:
                for owner in owners:
                    self._add(owner, Finding(FORBIDDEN, self.index.matmul, self.display,
                                             node.lineno, "uses the @ operator, that is"))
            if isinstance(node, ast.Attribute) and node.attr in TAMPER_ATTRIBUTES:
                self._tamper(node, TAMPER_ATTRIBUTES[node.attr], f".{node.attr}")
            if isinstance(node, ast.Name) and node.id in HIDDEN_CODE \
                    and node.id not in self.bound and isinstance(node.ctx, ast.Load):
                self._add_all(owners, Finding(FORBIDDEN, f"{node.id}()", self.display,
                                              node.lineno, "calls"))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and _GRADER_STRING.fullmatch(node.value):
                self._tamper(node, "names the grader's own code", repr(node.value))
            if isinstance(node, ast.Call):
                self._dynamic(node, deferred, owners)
            if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Constant):
                namespace = _namespace_dict(node.value, self.bound)
                if namespace is not None:
                    self._computed_lookup(namespace, node, deferred, owners)
            if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) \
                    and isinstance(getattr(node, "ctx", ast.Load()), ast.Load):
                for path in self._resolve(node, deferred):
                    for owner in owners:
                        self._check_path(path, node, owner, "uses")

    def _scope_of(self, function):
        aliases, bound = {}, set()
        arguments = function.args
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                    arguments.vararg, arguments.kwarg]:
            if arg is not None:
                bound.add(arg.arg)
        body = function.body if isinstance(function.body, list) else [function.body]
        for node in _walk_local(body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    for name, target in _import_targets(node, alias):
                        aliases.setdefault(name, set()).add(target)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
        for node in _walk_local(body):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                self._scopes.append(_Scope(aliases, bound))
                try:
                    paths = [p for p in self._resolve(node.value, True)
                             if not p.startswith(f"{self.module}.")]
                finally:
                    self._scopes.pop()
                if paths:
                    aliases.setdefault(node.targets[0].id, set()).update(paths)
        return _Scope(aliases, bound)

    def _check_path(self, path, node, owner, how):
        line = getattr(node, "lineno", 0)
        for prefix, what in TAMPER_PATHS.items():
            if path == prefix or path.startswith(prefix + "."):
                self._tamper(node, what, path)
        first, _, rest = path.partition(".")
        if first == self.module and rest:
            self.edges.setdefault(owner, set()).add((self.module, rest.split(".")[0]))
            return
        if first in self.siblings and rest:
            self.edges.setdefault(owner, set()).add((first, rest.split(".")[0]))
            return
        name = self.index.match(path)
        if name:
            self._add(owner, Finding(FORBIDDEN, name, self.display, line, how))

    def _add(self, owner, finding):
        bucket = self.findings.setdefault(owner, [])
        if finding not in bucket:
            bucket.append(finding)

    def _tamper(self, node, what, name):
        finding = Finding(TAMPER, name, self.display, getattr(node, "lineno", 0), what)
        if finding not in self.tamper:
            self.tamper.append(finding)

    def _dynamic(self, call, deferred, owners):
        """A lookup whose name is only known at run time, in a namespace that holds a
        forbidden name (``getattr(torch.optim, name)``, ``vars(torch)[name]``), or an import
        of a computed module name: the grader cannot tell what it reaches, so it counts as
        using a forbidden name, for the code it is in."""
        func = call.func
        name = func.id if isinstance(func, ast.Name) and func.id not in self.bound else None
        func_paths = self._resolve(func, deferred) if name is None else []
        if name == "getattr" and len(call.args) >= 2 and not isinstance(call.args[1], ast.Constant):
            self._computed_lookup(call.args[0], call, deferred, owners)
        first = call.args[0] if call.args else None
        dynamic_import = name == "__import__" or "importlib.import_module" in func_paths
        if dynamic_import and not isinstance(first, ast.Constant) and self.index.names:
            self._add_all(owners, Finding(FORBIDDEN, "<a module named at run time>", self.display,
                                          call.lineno, "imports"))

    def _computed_lookup(self, namespace, node, deferred, owners):
        for path in self._resolve(namespace, deferred):
            if any(f.rsplit(".", 1)[0] == path for f in self.index.names):
                self._add_all(owners, Finding(
                    FORBIDDEN, f"{path}.<a name computed at run time>", self.display,
                    node.lineno, "looks up"))

    def _add_all(self, owners, finding):
        for owner in owners:
            self._add(owner, finding)

    def _name_paths(self, identifier, deferred):
        for scope in reversed(self._scopes):
            if identifier in scope.aliases:
                return sorted(scope.aliases[identifier])
            if identifier in scope.bound:
                return []
        bindings = self.bindings.get(identifier)
        if not bindings:
            return []
        if deferred:
            binding = bindings[-1]
        else:
            earlier = [b for b in bindings if b.order < self._order]
            if not earlier:
                return []
            binding = earlier[-1]
        if binding.kind == "deleted":
            return []
        return [*binding.paths, f"{self.module}.{binding.key}"]

    def _resolve(self, node, deferred=False, _depth=0):
        """The dotted paths an expression may stand for ([] when unknown)."""
        if _depth > 40 or node is None:
            return []
        if isinstance(node, ast.Name):
            return self._name_paths(node.id, deferred)
        if isinstance(node, ast.Attribute):
            if node.attr == "__dict__":
                return self._resolve(node.value, deferred, _depth + 1)
            return [f"{p}.{node.attr}" for p in self._resolve(node.value, deferred, _depth + 1)]
        if isinstance(node, ast.Subscript):
            key = node.slice
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return []
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                    and value.func.id == "vars" and value.args:
                return [f"{p}.{key.value}"
                        for p in self._resolve(value.args[0], deferred, _depth + 1)]
            bases = self._resolve(value, deferred, _depth + 1)
            if "sys.modules" in bases:
                return [key.value]
            if isinstance(value, ast.Attribute) and value.attr == "__dict__":
                return [f"{p}.{key.value}" for p in bases]
            return []
        if isinstance(node, ast.Call):
            func, args = node.func, node.args
            first = args[0] if args else None
            text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) \
                else None
            if isinstance(func, ast.Name) and func.id not in self.bound:
                if func.id == "getattr" and len(args) >= 2 and isinstance(args[1], ast.Constant) \
                        and isinstance(args[1].value, str):
                    return [f"{p}.{args[1].value}"
                            for p in self._resolve(first, deferred, _depth + 1)]
                if func.id == "__import__" and text:
                    fromlist = args[3] if len(args) > 3 else next(
                        (k.value for k in node.keywords if k.arg == "fromlist"), None)
                    empty = fromlist is None or (isinstance(fromlist, (ast.List, ast.Tuple))
                                                 and not fromlist.elts)
                    return [text.split(".")[0] if empty else text]
            if text and "importlib.import_module" in self._resolve(func, deferred, _depth + 1):
                return [text]
        return []


class _EnterScope:
    def __init__(self, function):
        self.function = function


class _LeaveScope:
    pass


def _walk_timed(root):
    """(node, deferred) for every node under ``root``, depth first in source order, with
    markers around function bodies; ``deferred`` is True inside a body (it runs when
    called, not when the file is imported). ``__main__`` blocks are left out."""
    stack = [(root, False)]
    while stack:
        node, deferred = stack.pop()
        if isinstance(node, (_EnterScope, _LeaveScope)):
            yield node, deferred
            continue
        if node is not root and _is_main_guard(node):
            continue
        yield node, deferred
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            now = [*getattr(node, "decorator_list", []), *arguments.defaults,
                   *[d for d in arguments.kw_defaults if d is not None]]
            later = node.body if isinstance(node.body, list) else [node.body]
            children = ([(n, deferred) for n in now] + [(_EnterScope(node), True)]
                        + [(n, True) for n in later] + [(_LeaveScope(), True)])
        else:
            children = [(child, deferred) for child in ast.iter_child_nodes(node)]
        stack.extend(reversed(children))


def _walk_local(body):
    """Nodes of a function body, not entering nested functions or classes."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                      ast.Lambda)):
                stack.append(child)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield child


def _import_targets(node, alias):
    """(bound name, dotted target) for one alias of an import statement."""
    if isinstance(node, ast.Import):
        if alias.asname:
            return [(alias.asname, alias.name)]
        top = alias.name.split(".")[0]
        return [(top, top)]
    if alias.name == "*":
        return []
    base = node.module or ""
    target = f"{base}.{alias.name}" if base else alias.name
    return [(alias.asname or alias.name, target)]


def _top_statements(body):
    """Top-level statements in file order, looking inside if/try/with/for/while blocks (their
    headers count as module-level code), leaving out ``__main__`` blocks."""
    for statement in body:
        if _is_main_guard(statement):
            continue
        if isinstance(statement, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for header in _headers(statement):
                yield ast.Expr(value=header, lineno=getattr(header, "lineno", 0))
            for block in _blocks(statement):
                yield from _top_statements(block)
        else:
            yield statement


def _target_names(targets):
    names = []
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.append(node.id)
    return names


def _namespace_dict(node, bound):
    """``X`` for ``vars(X)`` or ``X.__dict__``, else None."""
    if isinstance(node, ast.Attribute) and node.attr == "__dict__":
        return node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "vars" \
            and node.func.id not in bound and node.args:
        return node.args[0]
    return None


def _is_main_guard(node):
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _blocks(statement):
    if isinstance(statement, ast.Try):
        return [statement.body, *[h.body for h in statement.handlers], statement.orelse,
                statement.finalbody]
    return [statement.body, getattr(statement, "orelse", [])]


def _headers(statement):
    if isinstance(statement, (ast.If, ast.While)):
        return [statement.test]
    if isinstance(statement, ast.For):
        return [statement.target, statement.iter]
    if isinstance(statement, ast.With):
        return [item.context_expr for item in statement.items]
    if isinstance(statement, ast.Try):
        return [h.type for h in statement.handlers if h.type is not None]
    return []
