"""Reading a learner's files without running them: where each exercise is, and whether it
is still the untouched stub.

Nothing here imports learner code, so `torchkata status` answers at once for exercises
that are not attempted and can never be hung by a learner's loop.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    path: Path
    line: int          # 1-based line of the `def` / `class`
    end_line: int      # last line of its body


def _definition(tree: ast.Module, name: str):
    found = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            found = node  # the last definition wins, as in Python
    return found


def locate(folder: Path, exercise) -> Location | None:
    path = Path(folder) / f"{exercise.module}.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    node = _definition(tree, exercise.name)
    if node is None:
        return None
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    return Location(path, start, node.end_lineno)


def _body_is_stub(body: list[ast.stmt]) -> bool:
    """A docstring, a super().__init__() at most, then `raise NotImplementedError(...)`."""
    statements = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    statements = [s for s in statements if "super().__init__" not in ast.unparse(s)]
    return (len(statements) == 1 and isinstance(statements[0], ast.Raise)
            and "NotImplementedError" in ast.unparse(statements[0]))


def is_stub(text: str, name: str) -> bool:
    """True when `name` in this module source is still an unattempted stub."""
    try:
        node = _definition(ast.parse(text), name)
    except SyntaxError:
        return False
    if isinstance(node, ast.FunctionDef):
        return _body_is_stub(node.body)
    if isinstance(node, ast.ClassDef):
        methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
        return bool(methods) and all(_body_is_stub(m.body) for m in methods)
    return False


def exercise_hash(folder: Path, exercise, ran=()) -> str:
    """Fingerprint of what an exercise's verdict depends on, so that a verdict goes stale
    exactly when that changes: its own definition; the module-level code of its module that
    is not another definition (imports, constants); every top-level function or class of the
    module it uses, transitively (kaiming_normal_ using calculate_fan_in_and_fan_out); through
    relative imports (`from . import losses`), what it uses of sibling modules; and every
    function or class in `ran` ("module.name": what actually ran while it was graded, however
    it was reached: capstone.fit trains the learner's networks.Model). Editing tanh leaves
    sigmoid's verdict fresh."""
    parts: list[str] = []
    seen: set = set()
    preambles: set = set()
    _depends(Path(folder), exercise.module, exercise.name, parts, seen, preambles)
    for name in sorted(ran):
        module, _dot, function = name.partition(".")
        _depends(Path(folder), module, function, parts, seen, preambles)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _depends(folder: Path, module: str, name: str, parts: list[str], seen: set, preambles: set) -> None:
    if (module, name) in seen:
        return
    seen.add((module, name))
    try:
        text = (folder / f"{module}.py").read_text(encoding="utf-8")
        tree = ast.parse(text)
    except OSError:
        parts.append(f"{module}: missing")
        return
    except (SyntaxError, ValueError):
        parts.append(f"{module}: {text}")  # a module that does not parse: any edit matters
        return
    lines = text.splitlines()
    definitions = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    if module not in preambles:
        preambles.add(module)
        parts.append(module + ":" + "\n".join(ast.unparse(node) for node in tree.body
                                               if not isinstance(node, (ast.FunctionDef, ast.ClassDef))))
    node = definitions.get(name)
    if node is None:
        parts.append(f"{module}.{name}: absent")
        return
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    parts.append(f"{module}.{name}:" + "\n".join(lines[start - 1: node.end_lineno]))
    siblings, imported = _relative_imports(tree)
    for used in ast.walk(node):
        if isinstance(used, ast.Name) and used.id in definitions:
            _depends(folder, module, used.id, parts, seen, preambles)
        elif isinstance(used, ast.Name) and used.id in imported:
            _depends(folder, *imported[used.id], parts, seen, preambles)
        elif isinstance(used, ast.Attribute) and isinstance(used.value, ast.Name) and used.value.id in siblings:
            _depends(folder, siblings[used.value.id], used.attr, parts, seen, preambles)


def _relative_imports(tree: ast.Module) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """`from . import losses as l` -> ({"l": "losses"}, {}); `from .losses import f as g` ->
    ({}, {"g": ("losses", "f")})."""
    siblings, imported = {}, {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                if node.module is None:
                    siblings[alias.asname or alias.name] = alias.name
                else:
                    imported[alias.asname or alias.name] = (node.module, alias.name)
    return siblings, imported


def definition_text(text: str, name: str) -> str | None:
    """The source lines of `name`'s definition in `text`."""
    node = _definition(ast.parse(text), name)
    if node is None:
        return None
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    return "\n".join(text.splitlines()[start - 1: node.end_lineno])


def replace_definition(text: str, name: str, new_definition: str) -> str:
    """`text` with the definition of `name` replaced by `new_definition`."""
    node = _definition(ast.parse(text), name)
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    lines = text.splitlines()
    tail = "\n" if text.endswith("\n") else ""
    return "\n".join(lines[: start - 1] + new_definition.splitlines() + lines[node.end_lineno:]) + tail


def docstring(text: str, name: str) -> str | None:
    """The docstring of the function or class `name` defined in `text`, indentation removed."""
    node = _definition(ast.parse(text), name)
    return ast.get_docstring(node) if node is not None else None
