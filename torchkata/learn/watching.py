"""`torchkata watch`: regrade on every save, following the learner.

At start it grades the exercise to work on; then a save regrades the exercises whose code
changed, the one being edited first, and shows it; after a pass, the loop moves to the
next unfinished exercise in course order, and once every one is done it still grades
each save. Exercises whose code did not change keep their verdicts (kata.py decides which).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.manifest import DONE, Exercise
from ..engine import session
from .kata import Kata
from .views import View


def watch(kata: Kata, view: View, max_checks: int | None = None) -> int:
    """Grade the exercise being worked on, then regrade on every save until stopped (Ctrl-C),
    or after `max_checks` saves. When every exercise is done it says so and keeps watching:
    a later save is graded all the same."""
    from watchfiles import watch as changes_of

    # Saves made while torch loads and the first grading runs are not missed: once the
    # watcher is up (its first wait timed out, or it saw a change), the files whose
    # modification times moved since the start are graded as one save.
    before = modification_times(kata.exercises)
    if hasattr(os, "fork"):
        kata.grader = session.WarmGrader(kata.device)  # import torch once, fork per check
    current = kata.next_exercise()
    view.watching(kata.exercises, current or kata.curriculum[-1])
    current = start(kata, view, current)
    checks = 0
    for changes in changes_of(kata.exercises, debounce=50, step=20, rust_timeout=500, yield_on_timeout=True,
                              watch_filter=lambda change, path: path.endswith(".py")):
        saved = {Path(path).name for _, path in changes}
        if before is not None:
            saved |= {name for name, when in modification_times(kata.exercises).items() if before.get(name) != when}
            before = None
        if not saved:
            continue
        current = on_save(kata, view, current, sorted(saved))
        checks += 1
        if max_checks is not None and checks >= max_checks:
            return 0
    return 0


def modification_times(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.glob("*.py")}


def start(kata: Kata, view: View, current: Exercise | None) -> Exercise:
    """Grade and show the exercise to work on at start (its remembered verdict when its code
    did not change); the last exercise when every one is done, said once."""
    if current is None:
        view.all_done()
        return kata.curriculum[-1]
    state = kata.known_state(current) or kata.grade([current], busy=view.busy)[current.id]
    return after_verdict(kata, view, current, state)


def on_save(kata: Kata, view: View, current: Exercise, saved: list[str]) -> Exercise:
    """One save seen by watch: regrade what changed and show the exercise being edited;
    returns the exercise to work on now."""
    changed = kata.changed()  # read each exercise's source once per save
    current = kata.being_edited(current, saved, changed)
    view.saved(saved, current)
    states = kata.regrade(current, changed, busy=view.busy)
    state = states.pop(current.id)
    return after_verdict(kata, view, current, state, states)


def after_verdict(kata: Kata, view: View, current: Exercise, state, others=None) -> Exercise:
    """Show `current`'s verdict (and, in a line each, `others` graded in the same save);
    after a pass, the next unfinished exercise (or, when none is left, that the course is
    done, staying on `current`)."""
    shown = view.verdict(current, state, kata.where_to_look(current, state))
    for exercise_id, other in (others or {}).items():
        view.also_graded(exercise_id, other)
    if shown != 0 or state.verdict != DONE:
        return current
    upcoming = kata.next_exercise()
    if upcoming is None:
        view.all_done()
        return current
    view.moving_on(upcoming, kata.where(upcoming))
    return upcoming
