"""The learner's progress: a small JSON file in their checkout, ignored by git.

It remembers each exercise's last verdict record (verdicts.ExerciseResult: its failures are
data, said in whichever language the learner reads them), with the fingerprint of the code
it was graded on (`source.exercise_hash` over the exercise and every function of the
learner's that ran while it was graded, so an edit to any of them makes it stale), how many
hints were shown, and the last `--lang` given. It lives in `.torchkata/progress.json` beside
`exercises/`, so it survives reinstalling torchkata.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.verdicts import ExerciseResult


@dataclass
class Progress:
    path: Path
    verdicts: dict[str, dict] = field(default_factory=dict)  # id -> {"hash", "result": ExerciseResult.to_json()}
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

    def record(self, exercise_id: str, result: ExerciseResult, code_hash: str) -> None:
        self.verdicts[exercise_id] = {"hash": code_hash, "result": result.to_json()}

    def ran(self, exercise_id: str) -> list[str]:
        """The learner's functions that ran when the stored verdict was graded."""
        return list(self.verdicts.get(exercise_id, {}).get("result", {}).get("ran", []))

    def verdict(self, exercise_id: str, code_hash: str) -> ExerciseResult | None:
        """The stored verdict, if it was graded on the code as it is now (a verdict of an older
        torchkata, kept as sentences in one language, is graded again)."""
        stored = self.verdicts.get(exercise_id)
        if not stored or stored.get("hash") != code_hash or "result" not in stored:
            return None
        return ExerciseResult.from_json(stored["result"])
