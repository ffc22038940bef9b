"""The learner's progress: a small JSON file in their checkout, ignored by git.

It remembers each exercise's last verdict (with the fingerprint of the code it was graded
on, `source.exercise_hash`, so an edit to that exercise or what it uses makes it stale) and how many hints were shown. It lives in
`.torchkata/progress.json` beside `exercises/`, so it survives reinstalling torchkata.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Progress:
    path: Path
    verdicts: dict[str, dict] = field(default_factory=dict)  # id -> {"verdict", "hash", "messages"}
    hints_shown: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, exercises: Path) -> Progress:
        path = Path(exercises).resolve().parent / ".torchkata" / "progress.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return cls(path, data.get("verdicts", {}), data.get("hints_shown", {}))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ignore = self.path.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"verdicts": self.verdicts, "hints_shown": self.hints_shown}, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)  # never leave a half-written file

    def record(self, exercise_id: str, verdict: str, code_hash: str, messages=()) -> None:
        self.verdicts[exercise_id] = {"verdict": verdict, "hash": code_hash, "messages": list(messages)}

    def verdict(self, exercise_id: str, code_hash: str) -> dict | None:
        """The stored verdict, if it was graded on the code as it is now."""
        stored = self.verdicts.get(exercise_id)
        return stored if stored and stored.get("hash") == code_hash else None
