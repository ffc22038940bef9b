"""Where the project's folders are: computed once, here, for every module that needs them."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # torchkata/: its data (curriculum.toml, locale/, stubs/)
ROOT = PACKAGE.parent
EXERCISES = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"
TESTS = ROOT / "tests"
EXERCISE_TESTS = TESTS / "exercises"
