"""Where the project's folders are: computed once, here, for every module that needs them."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"
TESTS = ROOT / "tests"
EXERCISE_TESTS = TESTS / "exercises"
