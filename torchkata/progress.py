"""The learner's progress: a small JSON file in their checkout, ignored by git.

It remembers each exercise's last verdict (with the fingerprint of the code it was graded
on, `source.exercise_hash`, so an edit to that exercise or what it uses makes it stale, and
the language its messages are in), how many hints were shown, and the last `--lang` given. It lives in
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
    lang: str | None = None  # the last --lang given in this checkout

    @classmethod
    def load(cls, exercises: Path) -> Progress:
        path = Path(exercises).resolve().parent / ".torchkata" / "progress.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return cls(path, data.get("verdicts", {}), data.get("hints_shown", {}), data.get("lang"))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ignore = self.path.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"verdicts": self.verdicts, "hints_shown": self.hints_shown, "lang": self.lang},
                                  indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)  # never leave a half-written file

    def record(self, exercise_id: str, verdict: str, code_hash: str, messages=(), lang: str = "en") -> None:
        self.verdicts[exercise_id] = {"verdict": verdict, "hash": code_hash, "messages": list(messages), "lang": lang}

    def verdict(self, exercise_id: str, code_hash: str, lang: str | None = None) -> dict | None:
        """The stored verdict, if it was graded on the code as it is now; with `lang`, only if
        what it says is in that language too (a pass says nothing, so it is fresh in any)."""
        stored = self.verdicts.get(exercise_id)
        if not stored or stored.get("hash") != code_hash:
            return None
        said_elsewhere = lang and stored.get("messages") and stored.get("lang", "en") != lang
        return None if said_elsewhere else stored
