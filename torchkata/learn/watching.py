"""`torchkata watch`: regrade on every save, following the learner.

A save regrades the exercises whose code changed, the one being edited first, and shows
it; after a pass, the loop moves to the next unfinished exercise in course order.
Exercises whose code did not change keep their verdicts (kata.py decides which).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.manifest import DONE, Exercise
from ..engine import session
from .kata import Kata
from .views import View


def watch(kata: Kata, view: View, max_checks: int | None = None) -> int:
    """Watch the exercises folder until every exercise is done (or `max_checks` saves)."""
    from watchfiles import watch as changes_of

    current = kata.next_exercise()
    if current is None:
        return view.all_done()
    if hasattr(os, "fork"):
        kata.grader = session.WarmGrader(kata.device)  # import torch once, fork per check
    view.watching(kata.exercises, current)
    checks = 0
    for changes in changes_of(kata.exercises, debounce=50, step=20, rust_timeout=0,
                              watch_filter=lambda change, path: path.endswith(".py")):
        current = on_save(kata, view, current, sorted({Path(path).name for _, path in changes}))
        checks += 1
        if current is None or (max_checks is not None and checks >= max_checks):
            return 0
    return 0


def on_save(kata: Kata, view: View, current: Exercise, saved: list[str]) -> Exercise | None:
    """One save seen by watch: regrade what changed and show the exercise being edited;
    returns the exercise to work on now (None: every exercise is done)."""
    changed = kata.changed()  # read each exercise's source once per save
    current = kata.being_edited(current, saved, changed)
    view.saved(saved, current)
    states = kata.regrade(current, changed, busy=view.busy)
    state = states.pop(current.id)
    shown = view.verdict(current, state, kata.where_to_look(current, state))
    for exercise_id, other in states.items():  # changed in the same save: said in one line each
        view.also_graded(exercise_id, other)
    if shown != 0 or state.verdict != DONE:
        return current
    upcoming = kata.next_exercise()
    if upcoming is None:
        view.all_done()
        return None
    view.moving_on(upcoming, kata.where(upcoming))
    return upcoming
