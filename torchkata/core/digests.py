"""The published test suite's fingerprints, so that edited tests never pass unnoticed.

`tests.sha256` beside this module holds the SHA-256 of every file of tests/exercises/ (and
tests/conftest.py) as published. The learner's command line compares the checkout's files
with it on every run and says when they differ: a verdict from edited tests is not the
kata's verdict. After changing the tests on purpose, regenerate the list:

    python -m torchkata.core.digests --write

(a harness test fails until the list matches the files.)
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from .paths import PACKAGE, ROOT, TESTS

DIGESTS = PACKAGE / "tests.sha256"


def suite_files(root: Path = ROOT) -> list[Path]:
    tests = root / TESTS.relative_to(ROOT)
    return sorted([tests / "conftest.py", *(tests / "exercises").glob("*.py")])


def current(root: Path = ROOT) -> dict[str, str]:
    """{path relative to the checkout: sha256} of the suite as it is on disk."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() for path in suite_files(root)}


def published() -> dict[str, str]:
    found = {}
    for line in DIGESTS.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if name:
            found[name] = digest
    return found


def changed_tests(root: Path = ROOT) -> list[str]:
    """The suite's files that differ from the published ones (edited, added or missing)."""
    now, shipped = current(root), published()
    return sorted(name for name in now.keys() | shipped.keys() if now.get(name) != shipped.get(name))


def write() -> None:
    DIGESTS.write_text("".join(f"{digest}  {name}\n" for name, digest in current().items()), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m torchkata.core.digests --write")
    write()
    print(f"wrote {DIGESTS}")
