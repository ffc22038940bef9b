"""Turn a folder laid out like `exercises/` into importable modules.

Each implementation folder is imported as its own private package
(`_torchkata_impl_<n>`), so the learner's `exercises/`, the reference `solutions/` and a
student's submission can be loaded side by side in one process without clashing.
Modules load lazily: a syntax error in `losses.py` does not stop `activations` from
being graded.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import sys
import types
from pathlib import Path

from ..core.i18n import _
from ..core.manifest import load
from ..core.paths import EXERCISE_TESTS, ROOT

_counter = itertools.count()


class ImplementationNotFound(FileNotFoundError):
    pass


def resolve(impl: str, root: Path) -> Path:
    """`exercises`, `solutions` or a path -> an existing folder, or a clear error."""
    path = Path(impl)
    if not path.is_absolute():
        path = (root / impl) if (root / impl).is_dir() else Path.cwd() / impl
    if not path.is_dir():
        raise ImplementationNotFound(_(
            "--impl={impl}: no such folder ({path}); give 'exercises', 'solutions' "
            "or the path of a folder laid out like exercises/", impl=impl, path=path
        ))
    return path.resolve()


class Implementation:
    """The modules of one implementation folder, imported on first use."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.package = f"_torchkata_impl_{next(_counter)}"
        package = types.ModuleType(self.package)
        package.__path__ = [str(self.folder)]  # relative imports between modules work
        sys.modules[self.package] = package

    def module(self, name: str) -> types.ModuleType:
        """Import `name` from the folder; errors (SyntaxError, ...) propagate unchanged."""
        full = f"{self.package}.{name}"
        if full in sys.modules:
            return sys.modules[full]
        path = self.folder / f"{name}.py"
        if not path.is_file():
            raise ModuleNotFoundError(_("{file} is missing: the folder graded has no file for module {module!r}",
                                        file=path.name, module=name))
        spec = importlib.util.spec_from_file_location(full, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[full]
            raise
        return module

    def function(self, exercise_id: str):
        module_name, name = exercise_id.split(".", 1)
        module = self.module(module_name)
        try:
            return getattr(module, name)
        except AttributeError:
            file = self.folder / f"{module_name}.py"
            names = [e.name for e in load() if e.module == module_name]
            if not any(hasattr(module, other) for other in names):  # one reason for all of them
                raise AttributeError(_(
                    "{file} defines none of this module's functions ({names}): is it empty, or another file saved "
                    "under its name?", file=file, names=", ".join(names))) from None
            raise AttributeError(_("{file} defines no {name!r}: keep the name and signature of the stub",
                                   file=file, name=name)) from None

def import_test_modules() -> None:
    """Import every module of tests/exercises (as tests.exercises.*): the probes that run
    beside learner code live there, and a confined child can no longer read tests/."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for path in sorted(EXERCISE_TESTS.glob("test_*.py")):
        importlib.import_module(f"tests.exercises.{path.stem}")
