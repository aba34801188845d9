"""Detect calls to forbidden APIs made by the student's code.

Each forbidden dotted name (``torch.optim.Adam``, ``torch.optim.adam.adam``)
is wrapped before the student's modules are imported, so aliases the student
takes at import time are wrapped too. A class is wrapped at ``__init__``, which
every alias and every subclass shares. A call is recorded only while a frame of
the student's own files is on the stack, or when the object being built is of a
class the student defined, so trusted scenario code may use the same API freely.

The tripwire also recognises a forbidden object handed over *without* a call from the
student's files: ``identify`` names the forbidden API behind a value the student's module
exports (the object itself, its wrapper, a ``functools.partial`` of it, a subclass or an
instance of a forbidden class), and ``tampered`` names every wrapper that is no longer in
place (``reinstall`` puts them back).

A name whose package is not imported yet (``torchvision.datasets.ImageFolder``
costs seconds to import) is not imported for the tripwire's sake: an import hook
wraps it the moment anything imports its module, before the importer gets it back.
"""
import functools
import importlib
import importlib.abc
import importlib.util
import sys
import types


class Tripwire:
    """Wraps forbidden callables and records the ones student code reaches."""

    def __init__(self, dotted_names):
        self.student_prefixes = ()
        self.trusted_files = frozenset()
        self.calls = []
        self.unresolved = []
        self._deferred = {}  # module name -> forbidden names whose owner it may be
        self._wrapped = set()
        self._known = {}      # id(object) -> dotted name, for originals and their wrappers
        self._keep = []       # the objects behind those ids, so an id is never reused
        self._classes = {}    # id(class) -> dotted name
        self._installed = {}  # dotted name -> (owner, attribute, the wrapper installed there)
        for name in dotted_names:
            top = name.split(".")[0]
            if top not in sys.modules and importlib.util.find_spec(top) is not None:
                self._defer(name)
            elif not self._wrap(name):
                self.unresolved.append(name)
        if self._deferred:
            sys.meta_path.insert(0, _WrapOnImport(self))

    def _defer(self, dotted):
        # The owner is the longest dotted prefix that names a module; before importing
        # we cannot tell, so every prefix is registered and the first that resolves wins.
        parts = dotted.split(".")
        for split in range(len(parts) - 1, 0, -1):
            self._deferred.setdefault(".".join(parts[:split]), []).append(dotted)

    def _imported(self, module_name):
        """Called after ``module_name`` finished importing: wrap what it owns."""
        for dotted in self._deferred.pop(module_name, ()):
            if dotted in self._wrapped:
                continue
            if self._wrap(dotted):
                self._wrapped.add(dotted)

    def watch(self, student_prefixes, trusted_files=()):
        """Start recording calls from files under ``student_prefixes``, except the
        ``trusted_files`` (the scenarios, when they sit beside the student's files)."""
        self.student_prefixes = tuple(str(p) for p in student_prefixes)
        self.trusted_files = frozenset(str(f) for f in trusted_files)
        self.calls = []

    def collect(self):
        """Stop recording; return the forbidden names reached, in first-call order."""
        self.student_prefixes = ()
        found, self.calls = list(dict.fromkeys(self.calls)), []
        return found

    def _called(self, name, instance_class=None):
        if self.student_prefixes and (self._student_on_stack()
                                      or self._student_class(instance_class)):
            self.calls.append(name)

    def _student_class(self, cls):
        """A class the student defined by subclassing the forbidden one runs none of its
        own code at construction, so its module file is what gives it away."""
        for klass in getattr(cls, "__mro__", ()):
            module = sys.modules.get(klass.__module__)
            path = str(getattr(module, "__file__", ""))
            if path.startswith(self.student_prefixes) and path not in self.trusted_files:
                return True
        return False

    def _student_on_stack(self):
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(self.student_prefixes) and name not in self.trusted_files:
                return True
            frame = frame.f_back
        return False

    def identify(self, value, _depth=0):
        """The forbidden name behind ``value``, or None: the object or its wrapper, a
        partial or bound method of it, a class that is or derives from a forbidden one,
        or an instance of such a class."""
        if _depth > 5 or value is None:
            return None
        name = self._known.get(id(value))
        if name:
            return name
        if isinstance(value, (functools.partial, functools.partialmethod)):
            return self.identify(value.func, _depth + 1)
        if isinstance(value, (staticmethod, classmethod, types.MethodType)):
            return self.identify(value.__func__, _depth + 1)
        klass = value if isinstance(value, type) else type(value)
        for base in getattr(klass, "__mro__", ()):
            if id(base) in self._classes:
                return self._classes[id(base)]
        return None

    def owners(self):
        """The modules and classes where wrappers are installed."""
        return list({id(owner): owner for owner, _, _ in self._installed.values()}.values())

    def tampered(self):
        """Forbidden names whose wrapper is no longer in place."""
        return [dotted for dotted, (owner, attribute, wrapper) in self._installed.items()
                if owner.__dict__.get(attribute) is not wrapper]

    def reinstall(self):
        for owner, attribute, wrapper in self._installed.values():
            if owner.__dict__.get(attribute) is not wrapper:
                setattr(owner, attribute, wrapper)

    def _remember(self, dotted, *objects):
        for obj in objects:
            self._known.setdefault(id(obj), dotted)
            self._keep.append(obj)

    def _wrap(self, dotted):
        owner, attribute = _resolve_owner(dotted)
        if owner is None:
            return False
        target = getattr(owner, attribute)
        if isinstance(target, type):
            original_init = target.__init__

            @functools.wraps(original_init)
            def init(obj, *args, **kwargs):
                self._called(dotted, type(obj))
                return original_init(obj, *args, **kwargs)

            del init.__wrapped__  # no handle on the unwrapped original
            target.__init__ = init
            self._classes.setdefault(id(target), dotted)
            self._remember(dotted, target)
            self._installed[dotted] = (target, "__init__", init)
            return True
        if not callable(target):
            return False

        @functools.wraps(target)
        def wrapper(*args, **kwargs):
            self._called(dotted)
            return target(*args, **kwargs)

        del wrapper.__wrapped__
        setattr(owner, attribute, wrapper)
        self._remember(dotted, target, wrapper)
        self._installed[dotted] = (owner, attribute, wrapper)
        return True


def _resolve_owner(dotted):
    """``'torch.optim.adam.adam'`` -> (the module torch.optim.adam, 'adam'), or (None, None)."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:-1]:
            owner = getattr(owner, part, None)
        if owner is not None and hasattr(owner, parts[-1]):
            return owner, parts[-1]
        return None, None
    return None, None


class _WrapOnImport(importlib.abc.MetaPathFinder):
    """Lets the normal finders find a watched module, then wraps its forbidden names
    as soon as the module has executed."""

    def __init__(self, tripwire):
        self.tripwire = tripwire

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.tripwire._deferred:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _WrappingLoader(spec.loader, self.tripwire)
        return spec


class _WrappingLoader(importlib.abc.Loader):
    def __init__(self, loader, tripwire):
        self.loader, self.tripwire = loader, tripwire

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.tripwire._imported(module.__name__)

    def __getattr__(self, name):  # get_code, get_source, is_package and the rest
        return getattr(self.loader, name)
