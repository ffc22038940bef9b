"""Rules of the package that no single test of behaviour would notice breaking.

Facts travel as records (failures.Failure, verdicts.ExerciseResult), never as sentences that
later code reads back; and every child process is started in one module, processes.py, which
knows how to end it and all it started.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "torchkata"
MODULES = sorted(PACKAGE.rglob("*.py"))

# The modules that may use regular expressions, and the text each reads: none of it a
# message torchkata wrote. A new one here needs a reason as good.
READS_OUTSIDE_TEXT = {
    "intake.py": "the file names LMSs give hand-ins (Canvas, Moodle)",
    "session.py": "pytest's own closing line, when pytest collected no test",
    "views.py": "where a docstring's paragraphs and code lines are, to reflow them",
    "terminal.py": "where a line may break: the text is laid out, not read",
    "i18n.py": "where a space falls between two Chinese characters, to drop it",
}


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def imported(module: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_reads_facts_back_out_of_a_message(path):
    """Regular expressions only where the text comes from outside (READS_OUTSIDE_TEXT): a
    failure's file, line, stack frames or sameness are fields of its record."""
    if "re" in imported(tree(path)):
        assert path.name in READS_OUTSIDE_TEXT, (
            f"{path.name} imports re: read the fact from the record (failures.Failure, verdicts.ExerciseResult) "
            "instead of from a message, or add the module to READS_OUTSIDE_TEXT with the outside text it reads")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_children_are_started_only_by_the_process_module(path):
    """A child started elsewhere escapes the process-group kill, the deadlines and the sound
    fork after torch (processes.py)."""
    if path.name == "processes.py":
        return
    module = tree(path)
    assert "subprocess" not in imported(module), f"{path.name} imports subprocess: use processes.run or spawn"
    starts = [f"{path.name}:{node.lineno}" for node in ast.walk(module)
              if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
              and node.attr in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "popen", "execv", "execvp")]
    assert not starts, f"a child process started outside processes.py at {starts}: use processes.fork or spawn"


def test_the_allow_list_names_only_modules_that_exist():
    assert set(READS_OUTSIDE_TEXT) <= {p.name for p in MODULES}


def test_the_readme_shows_the_layers_the_import_contracts_enforce():
    """README.md's layout names each package's modules in the layers of its import-linter
    contract (pyproject.toml), top to bottom, and every module of the package is in a layer."""
    from torchkata.core.compat import tomllib

    root = PACKAGE.parent
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    readme = " ".join((root / "README.md").read_text(encoding="utf-8").split())
    for package in ("learn", "classroom", "engine", "core"):
        prefix = f"torchkata.{package}."
        contract = next(c for c in contracts if c["type"] == "layers" and c["layers"][0].startswith(prefix))
        layers = [[name.strip().removeprefix(prefix) for name in layer.split("|")] for layer in contract["layers"]]
        said = "; ".join(", ".join(layer) for layer in layers)
        assert f"{package}/" in readme and said in readme, f"README.md should list {package}/ as: {said}"
        modules = {p.stem for p in (PACKAGE / package).glob("*.py")} - {"__init__"}
        assert modules == {name for layer in layers for name in layer}, f"{package}/: modules in no layer"
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert top == {"cli", "bench"} and "cli, bench" in readme
