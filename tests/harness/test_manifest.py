"""The manifest, the stubs, the solutions and the tests agree: every exercise has all four."""

import ast
import inspect
import re
from pathlib import Path

import pytest

from torchkata.core.manifest import load, parse
from torchkata.engine.loader import Implementation
from torchkata.engine.tripwire import _import_path

ROOT = Path(__file__).resolve().parents[2]
CURRICULUM = load()

# The signatures fixed by the curriculum contract (shared/curriculum.md).
SIGNATURES = {
    "activations.sigmoid": "(x)", "activations.sigmoid_derivative": "(x)", "activations.tanh": "(x)",
    "activations.tanh_derivative": "(x)", "activations.relu": "(x)", "activations.relu_derivative": "(x)",
    "activations.softmax": "(x, dim)", "activations.autograd_derivative": "(fn, x)",
    "initialization.calculate_fan_in_and_fan_out": "(tensor)",
    "initialization.calculate_gain": "(nonlinearity, param=None)",
    "initialization.constant_": "(tensor, val)", "initialization.zeros_": "(tensor)",
    "initialization.ones_": "(tensor)", "initialization.eye_": "(tensor)",
    "initialization.normal_": "(tensor, mean=0.0, std=1.0)", "initialization.uniform_": "(tensor, a=0.0, b=1.0)",
    "initialization.xavier_uniform_": "(tensor, gain=1.0)", "initialization.xavier_normal_": "(tensor, gain=1.0)",
    "initialization.kaiming_uniform_": "(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu')",
    "initialization.kaiming_normal_": "(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu')",
    "regularization.dropout": "(x, p=0.5, training=True)", "regularization.Dropout": "(p=0.5)",
    "networks.Model": "(device=None)", "networks.init_params": "(layer)", "networks.build_sequential": "(device=None)",
    "networks.parameter_shapes": "(model)", "networks.count_parameters": "(model, trainable_only=False)",
    "networks.default_device": "()", "networks.to_device": "(obj, device)",
    "networks.layer_summary": "(model, input_size, batch_size=-1)",
    "losses.binary_cross_entropy": "(probs, target, reduction='mean')",
    "losses.binary_cross_entropy_with_logits": "(logits, target, reduction='mean')",
    "losses.cross_entropy": "(logits, target, reduction='mean')",
    "losses.mse_loss": "(input, target, reduction='mean')", "losses.l1_loss": "(input, target, reduction='mean')",
    "losses.smooth_l1_loss": "(input, target, beta=1.0, reduction='mean')",
    "training.sgd_step": "(params, lr)", "training.zero_grad": "(params)",
    "training.train_step": "(model, inputs, target, loss_fn, optimizer)",
    "capstone.fit": "(model, x, y, epochs=100, lr=0.5)",
}


def bare_signature(obj) -> str:
    """The signature without annotations, e.g. "(x, dim)"."""
    sig = inspect.signature(obj)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def public_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}


def test_manifest_lists_exactly_the_curriculum():
    assert [e.id for e in CURRICULUM] == list(SIGNATURES)


@pytest.mark.parametrize("folder", ["exercises", "solutions"])
def test_every_exercise_exists_with_its_signature(folder):
    impl = Implementation(ROOT / folder)
    for exercise in CURRICULUM:
        assert bare_signature(impl.function(exercise.id)) == SIGNATURES[exercise.id], f"{folder}/{exercise.id}"


@pytest.mark.parametrize("folder", ["exercises", "solutions"])
def test_no_module_or_public_name_outside_the_manifest(folder):
    modules = {p.stem for p in (ROOT / folder).glob("*.py") if p.stem != "__init__"}
    assert modules == set(CURRICULUM.modules)
    for module in modules:
        listed = {e.name for e in CURRICULUM if e.module == module}
        assert public_names(ROOT / folder / f"{module}.py") == listed, f"{folder}/{module}.py"


def test_every_exercise_has_tests_and_every_test_module_mirrors_a_module():
    test_modules = {p.stem.removeprefix("test_") for p in (ROOT / "tests" / "exercises").glob("test_*.py")}
    assert test_modules == set(CURRICULUM.modules)
    for exercise in CURRICULUM:
        source = (ROOT / "tests" / "exercises" / f"test_{exercise.module}.py").read_text()
        assert f'@pytest.mark.exercise("{exercise.id}")' in source, f"{exercise.id} has no tests"


def test_stubs_teach_and_raise_not_implemented():
    for module in CURRICULUM.modules:
        tree = ast.parse((ROOT / "exercises" / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_") \
                    and node.name in {e.name for e in CURRICULUM if e.module == module}:
                assert len(ast.get_docstring(node) or "") >= 80, f"exercises/{module}.py:{node.name} needs a docstring that teaches"
                assert "NotImplementedError" in ast.unparse(node), f"exercises/{module}.py:{node.name} is not a stub"


@pytest.mark.parametrize("folder", ["exercises", "solutions"])
def test_curriculum_folders_import_nothing_but_torch(folder):
    for path in (ROOT / folder).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:  # the capstone builds on the same folder's modules
                siblings = [node.module] if node.module else [a.name for a in node.names]
                assert set(siblings) <= set(CURRICULUM.modules), f"{path.name} imports .{siblings} relatively"
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] in {"torch", "math", "functools", "operator"}, f"{path.name} imports {name}"


def test_every_off_limits_name_resolves():
    """A typo in the manifest would silently allow a built-in: each name must exist."""
    for exercise in CURRICULUM:
        for name in exercise.off_limits:
            if name.endswith(".*"):
                _import_path(name[:-2])
            else:
                _import_path(name)


def test_hints_and_points():
    for exercise in CURRICULUM:
        assert exercise.points >= 1
        assert len(exercise.hints) >= 2
        assert len(exercise.hints[0]) < len(" ".join(exercise.hints[1:])) * 2


@pytest.mark.parametrize("text,error", [
    ('[[exercise]]\nid = "nodot"\npoints = 1\nhints = ["a", "b"]', "module.name"),
    ('[[exercise]]\nid = "a.b"\npoints = 0\nhints = ["a", "b"]', "points"),
    ('[[exercise]]\nid = "a.b"\npoints = 1\nhints = ["a"]', "two hints"),
    ('[[exercise]]\nid = "a.b"\npoints = 1\nhints = ["a", "b"]\noff_limits = ["@nope"]', "@nope"),
    ('[[exercise]]\nid = "a.b"\npoints = 1\nhints = ["a", "b"]\n[[exercise]]\nid = "a.b"\npoints = 1\nhints = ["a", "b"]',
     "twice"),
])
def test_malformed_manifest_is_refused_by_name(text, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        parse(text)


def test_readme_lists_every_exercise_in_course_order():
    readme = (ROOT / "README.md").read_text()
    listed = re.findall(r"^\| \d+ \| `([a-z_]+\.[A-Za-z0-9_]+)` \|", readme, flags=re.M)
    assert listed == [e.id for e in CURRICULUM]


# A first hint that only points at another exercise ("Same as kaiming_uniform_, with a normal
# distribution") is no help to someone who has not done that one.
POINTS_ELSEWHERE = re.compile(r"^(like|same( idea)? as|as in)\s+(?P<name>\w+)\b|^(和|与|思路和)\s*(?P<zh>\w+)\s*(一样|相同)",
                              re.IGNORECASE)


@pytest.mark.parametrize("exercise", list(load()), ids=lambda e: e.id)
def test_first_hints_stand_on_their_own(exercise):
    names = {e.name for e in load()} - {exercise.name}
    for hint in (exercise.hints[0], *exercise.hints_zh[:1]):
        found = POINTS_ELSEWHERE.match(hint.strip())
        other = found and (found.group("name") or found.group("zh"))
        assert other not in names, f"{exercise.id}: the first hint leans on {other}: {hint!r}"


def test_the_published_test_digests_match_the_tests():
    """After changing tests/exercises on purpose: python -m torchkata.core.digests --write."""
    from torchkata.core import digests

    assert digests.changed_tests() == [], "run: python -m torchkata.core.digests --write"


def test_the_stubs_reset_restores_are_the_published_stubs():
    """torchkata/stubs/ ships with the package so that reset needs no git; it must never drift
    from exercises/ (after changing a stub: cp exercises/*.py torchkata/stubs/)."""
    root = Path(__file__).resolve().parents[2]
    for module in load().modules:
        shipped = (root / "torchkata" / "stubs" / f"{module}.py").read_text(encoding="utf-8")
        assert shipped == (root / "exercises" / f"{module}.py").read_text(encoding="utf-8"), module


def test_every_exercise_has_its_lesson_in_english_and_in_chinese():
    """`torchkata explain` prints the stub's docstring, or its Chinese from the curriculum."""
    from torchkata.core.source import docstring
    from torchkata.learn.kata import original_stub_text

    for exercise in load():
        english = docstring(original_stub_text(exercise), exercise.name) or ""
        assert len(english.split()) >= 8, f"{exercise.id}: the stub's docstring is its lesson, and it has none"
        assert re.search(r"[\u4e00-\u9fff]", exercise.lesson_zh), f"{exercise.id}: no lesson_zh in curriculum.toml"
        code = [line.strip() for line in english.splitlines() if line.strip().startswith(">>>")]
        assert all(line in exercise.lesson_zh for line in code), \
            f"{exercise.id}: the Chinese lesson must show the English one's self-checks verbatim"
