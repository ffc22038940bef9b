"""The class grader's reports: for spreadsheets, for Gradescope, for people, for plots.

All of them are written from one `grades.json`, so `torchkata grade merge` (combining
the shards of a class graded on many machines) writes exactly what one run would have.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

from ..core.failures import Rule, rule_said
from ..core.i18n import _, current, figure_language, ngettext, words
from ..core.manifest import DONE, GRADING_ERROR, NOT_ATTEMPTED, NOT_LOADED, WRONG, load
from ..core.verdicts import ExerciseResult, Flag, StudentResult
from .intake import sort_key
from .similarity import boilerplate, similar_pairs

# 3: each exercise's failures as records (failures.Failure), said in the reader's language
# when a report is written; 2: per-exercise flags, the "grading error" verdict.
FORMAT = "torchkata-grades-3"
READABLE = ("torchkata-grades-1", "torchkata-grades-2", FORMAT)


class MergeError(ValueError):
    """Shards that cannot be merged (the message names the file and why)."""


def graded_exercises(results: list[StudentResult]) -> list:
    """The exercises the results hold, in course order (all of them when there is no result):
    a run of some exercises reports those, not zeros for the others."""
    held = {i for r in results for i in r.exercises}
    return [e for e in load() if e.id in held or not held]


def to_json(results: list[StudentResult], shard: str | None = None) -> dict:
    exercises = graded_exercises(results)
    return {
        "format": FORMAT,
        **({"shard": shard} if shard else {}),
        "exercises": [{"id": e.id, "points": e.points} for e in exercises],
        "max_score": sum(e.points for e in exercises),
        # Each student's exercises in course order, however the results were read (a merge reads
        # them back from files that sort their keys): a merged report equals a whole run's.
        "students": {r.student: {"score": r.score, "exercises": {e.id: r.exercises[e.id].to_json() for e in exercises
                                                                 if e.id in r.exercises},
                                 "flags": r.flags, "sandbox_weaknesses": r.sandbox_weaknesses, "late": r.late,
                                 "hand_ins": r.hand_ins, "code": r.code}
                     for r in sorted(results, key=lambda r: sort_key(r.student))},
    }


def from_json(data: dict, source: str = "grades.json") -> list[StudentResult]:
    """Results from a grades.json of format 3, 2 (failures were sentences then), or 1 (flags too)."""
    if not isinstance(data, dict) or data.get("format") not in READABLE:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise MergeError(_("{source} is not a torchkata grades.json (format {found!r}; expected one of {readable})",
                           source=source, found=found, readable=READABLE))
    results = []
    for student, entry in data["students"].items():
        exercises = {i: ExerciseResult.from_json(e) for i, e in entry["exercises"].items()}
        results.append(StudentResult(student, exercises, entry.get("sandbox_weaknesses", []),
                                     extra_flags=list(entry.get("flags", [])), late=entry.get("late", False),
                                     hand_ins=list(entry.get("hand_ins", [])),
                                     code=dict(entry.get("code", {}))))
    return results


def merge(paths: list[Path]) -> list[StudentResult]:
    if not paths:
        raise MergeError(_("no shards given: name the grades.json of every shard"))
    merged: dict[str, StudentResult] = {}
    shards: dict[str, Path] = {}
    read = []
    for path in map(Path, paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise MergeError(_("{path} cannot be read: {error}", path=path, error=error.strerror)) from None
        except ValueError as error:
            raise MergeError(_("{path} is not JSON: {error}", path=path, error=error)) from None
        if isinstance(data, dict) and data.get("shard"):
            if data["shard"] in shards:
                raise MergeError(_("shard {shard} is given twice: {first} and {second}", shard=data["shard"],
                                   first=shards[data["shard"]], second=path))
            shards[data["shard"]] = path
        read.append((path, data))
    _check_shards(shards)
    graded = {}
    for path, data in read:
        exercises = tuple(e["id"] for e in data.get("exercises", [])) if isinstance(data, dict) else ()
        if data.get("students") if isinstance(data, dict) else False:
            graded.setdefault(exercises, path)
    if len(graded) > 1:
        (one, first), (other, second) = list(graded.items())[:2]
        raise MergeError(_("{first} and {second} graded different exercises ({one} and {other}; with different "
                           "--only?): grade every shard the same way", first=first, second=second, one=len(one),
                           other=len(other)))
    for path, data in read:
        for result in from_json(data, str(path)):
            if result.student in merged:
                raise MergeError(_("student {student!r} is in two shards (the second: {path})",
                                   student=result.student, path=path))
            merged[result.student] = result
    return [merged[s] for s in sorted(merged, key=sort_key)]


def _check_shards(shards: dict[str, Path]) -> None:
    """Shards recorded as K/N must all be there, each once, with one N."""
    if not shards:
        return
    counts = {spec.split("/")[1] for spec in shards}
    if len(counts) > 1:
        raise MergeError(_("these shards come from different splits: {shards}; merge the shards of one run",
                           shards=", ".join(sorted(shards))))
    n = int(counts.pop())
    missing = [f"{k}/{n}" for k in range(1, n + 1) if f"{k}/{n}" not in shards]
    if missing:
        raise MergeError(_("shard {missing} is missing (given: {given}); merge every shard of the class",
                           missing=", ".join(missing), given=", ".join(sorted(shards))))


def write_all(results: list[StudentResult], out: Path, shard: str | None = None,
              notes: list[str] | None = None) -> list[Path]:
    """Every report into `out`; what the user should know about them (figures labelled in
    English for want of a Chinese font) is appended to `notes`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for ours in ("feedback", "gradescope"):  # a file per student: an earlier run's students must not stay
        if (out / ours).is_dir():
            shutil.rmtree(out / ours)
    data = to_json(results, shard)
    written = [out / "grades.json", out / "grades.csv", out / "report.md"]
    (out / "grades.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _csv(data, out / "grades.csv")
    (out / "report.md").write_text(_markdown(data), encoding="utf-8")
    for student in data["students"]:
        page = out / "feedback" / f"{student}.md"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(feedback(data, student), encoding="utf-8")
        written.append(page)
    for student, entry in data["students"].items():
        path = out / "gradescope" / student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(gradescope_results(data, entry), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    with figure_language() as note:
        written += _plots(data, out)
    if note and notes is not None:
        notes.append(note)
    return written


# A cell a spreadsheet would take for a formula (OWASP's CSV injection): its text, quoted.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """`value` as a cell no spreadsheet runs: text starting like a formula gets a leading
    apostrophe (shown as text, the apostrophe hidden); numbers stay numbers."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _csv(data: dict, path: Path) -> None:
    ids = [e["id"] for e in data["exercises"]]
    # With a byte-order mark: spreadsheet programs then read "Zoë" and "李雷" as UTF-8.
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        # "could not load": the modules whose 0 is not a wrong answer (report.md says why).
        writer.writerow(["student", *ids, "total", "max", "late", "could not load", "flags"])
        for student, entry in data["students"].items():
            points = [entry["exercises"].get(i, {}).get("points", 0) for i in ids]
            late = "yes" if entry.get("late") else "no"
            unloaded = "; ".join(dict.fromkeys(m for modules in not_loaded(entry).values() for m in modules))
            writer.writerow([spreadsheet_safe(cell) for cell in [student, *points, entry["score"], data["max_score"],
                                                                 late, unloaded, "; ".join(entry["flags"])]])


def verdict_text(verdict: str) -> str:
    """A verdict as people read it, in the current language (grades.json keeps the English key)."""
    return words(current()).get(str(verdict), str(verdict))


def flag_text(flag: str) -> str:
    """A flag as people read it, in the current language (grades.json and grades.csv keep the
    English value; a free-text flag of a format 1 file is shown as it is)."""
    said = {Flag.TAMPERED: _("patched torch or the grader"), Flag.CHANGED_GRADER_FILES: _("changed the grader's files"),
            Flag.CALLED_REFERENCE: _("called the reference solutions"), Flag.TIMED_OUT: _("timed out"),
            Flag.CRASHED: _("crashed the sandbox"), Flag.REGRADE: _("grading error: regrade"),
            Flag.PROJECT_COPY: _("handed in a copy of the whole project: graded on its exercises/")}
    return said.get(flag, flag)


def listed(items) -> str:
    """Items in a sentence, separated as the current language separates them ("a, b"; Chinese: "a、b")."""
    return _(", ").join(map(str, items))


def failures_said(state: dict, lang: str | None = None) -> list[str]:
    """An exercise's failures as the reader reads them (in `lang`, default the current
    language): each once, with how many tests found it."""
    return [failure.render(lang) + (_(" (in {n} tests)", lang=lang, n=failure.count) if failure.count > 1 else "")
            for failure in ExerciseResult.from_json(state).failures]


def headline(state: dict) -> str:
    """The first line of an exercise's main failure (`ExerciseResult.main`), in the reader's
    language ("" if none)."""
    main = ExerciseResult.from_json(state).main
    return main.headline() if main else ""


def flags_text(flags: list[str]) -> str:
    return listed(map(flag_text, flags))


def gradescope_results(data: dict, entry: dict, seconds: float | None = None) -> dict:
    """One student's grades in Gradescope's results format: the score, one test per
    exercise (numbered in course order, tagged with its course section), the flags in
    extra_data, and an output that sums it up."""
    sections = {e.id: e.module for e in load()}
    tests = []
    for number, exercise in enumerate(data["exercises"], start=1):
        state = entry["exercises"].get(exercise["id"], {"verdict": WRONG, "points": 0, "failures": []})
        if state["verdict"] == DONE:
            output = _("passes every test")
        elif failures_said(state):
            output = _("{verdict}:\n{messages}", verdict=verdict_text(state["verdict"]), messages="\n\n".join(failures_said(state)))
        else:
            output = verdict_text(state["verdict"])
        tests.append({"name": exercise["id"], "number": str(number), "score": state["points"],
                      "max_score": exercise["points"], "status": "passed" if state["verdict"] == DONE else "failed",
                      "tags": [sections.get(exercise["id"], "")], "output": output, "visibility": "visible",
                      **({"extra_data": {"flags": state["flags"]}} if state.get("flags") else {})})
    done = sum(t["status"] == "passed" for t in tests)
    summary = [_("{done} of {total} exercises pass: {score} of {max_score} points.", done=done, total=len(tests),
                 score=entry["score"], max_score=data["max_score"])]
    if entry["flags"]:
        summary.append(_("Flagged for the instructor: {flags}.", flags=flags_text(entry["flags"])))
    # What the sandbox could not do is the instructor's to know (extra_data, and the run's log on
    # stdout, hidden from students): told to every student, it tells them what they could reach.
    return {"score": entry["score"], "output": "\n".join(summary), "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"flags": entry["flags"], "sandbox_weaknesses": entry.get("sandbox_weaknesses", [])},
            **({"execution_time": max(1, math.ceil(seconds))} if seconds is not None else {})}


def pass_counts(data: dict) -> list[tuple[str, int, int]]:
    """Per exercise, how many students passed it and how many it was graded on: those whose
    module loaded (a file that could not be loaded says nothing about the exercise)."""
    counts = []
    for exercise in data["exercises"]:
        verdicts = [s["exercises"].get(exercise["id"], {}).get("verdict") for s in data["students"].values()]
        loaded = [v for v in verdicts if v != NOT_LOADED]
        counts.append((exercise["id"], sum(v == DONE for v in loaded), len(loaded)))
    return counts


def not_loaded(entry: dict) -> dict[str, list[str]]:
    """Why a student's code could not be loaded (the first line) -> the modules it stopped."""
    found: dict[str, list[str]] = {}
    for exercise, state in entry["exercises"].items():
        if state["verdict"] == NOT_LOADED:
            why = headline(state)
            module = exercise.split(".")[0]
            if module not in found.setdefault(why, []):
                found[why].append(module)
    return found


def _modules_said(modules: list[str]) -> str:
    return listed(f"`{m}`" for m in modules)


def _markdown(data: dict) -> str:
    students = data["students"]
    lines = ["# " + _("Class report"), "",
             _("{students}, {exercises}, {points}.", students=ngettext("{n} student", "{n} students", len(students)),
               exercises=ngettext("{n} exercise", "{n} exercises", len(data["exercises"])), points=ngettext("{n} point", "{n} points", data["max_score"])), ""]
    scores = sorted(s["score"] for s in students.values())
    if scores:
        lines += [_("Scores: median {median:g}, lowest {lowest}, highest {highest} (of {max_score}).",
                    median=statistics.median(scores), lowest=scores[0], highest=scores[-1],
                    max_score=data["max_score"]), ""]
    regrade = {s: e for s, e in students.items() if any(x["verdict"] == GRADING_ERROR for x in e["exercises"].values())}
    if regrade:
        lines += ["## " + _("Grading errors: regrade these students"), "",
                  _("The grader itself failed on these exercises (not the students' code); they earned no points and "
                    "lost none for a mistake. Fix the cause and grade these students again:"), ""]
        for student, entry in regrade.items():
            failed = [(i, x) for i, x in entry["exercises"].items() if x["verdict"] == GRADING_ERROR]
            first = headline(failed[0][1])
            lines.append("- " + _("**{student}**: {n} exercise(s), e.g. `{exercise}`: {why}", student=student,
                                  n=len(failed), exercise=failed[0][0], why=first))
        lines.append("")
    reasons = {s: not_loaded(e) for s, e in students.items()}  # why each student's modules did not load
    unloaded = {s: r for s, r in reasons.items() if r}
    if unloaded:
        lines += ["## " + _("Action needed: files that could not be loaded"), "",
                  _("These students' code never ran for the modules below (a syntax error, a failing import, a missing "
                    "or unreadable file): they scored 0 there without being wrong. Ask them to fix and resubmit:"), ""]
        for student, whys in unloaded.items():
            for why, modules in whys.items():
                lines.append("- " + _("**{student}** ({modules}): {why}", student=student,
                                      modules=_modules_said(modules), why=why))
        lines.append("")
    lines += _hand_ins(students)
    lines += _similar(data)
    mistakes = class_mistakes(data)
    if mistakes:
        lines += ["## " + _("What the class gets wrong"), "",
                  _("Per exercise, the mistakes behind the wrong answers, grouped (the same diagnosis on other "
                    "inputs counts once per student), most frequent first:"), ""]
        for exercise, groups in mistakes.items():
            for message, rule, who in groups:
                how_many = ngettext("{n} student", "{n} students", len(who))
                if rule == Rule.CONTRACT:  # the exercise's own rule: the message says it
                    lines.append("- " + _("`{exercise}`: {students}: {mistake}", exercise=exercise, students=how_many,
                                          mistake=message))
                else:
                    lines.append("- " + _("`{exercise}`: {students}: {mistake} (the rule: {rule})", exercise=exercise,
                                          students=how_many, mistake=message, rule=rule_said(rule)))
        lines.append("")
    lines += ["## " + _("Which exercises the class finds hard"), "",
              _("Passed by: the share of the students whose module loaded (how many passed, of how many)."), "", _("| exercise | passed by |"),
              "|---|---|"]
    for exercise, passed, loaded in sorted(pass_counts(data), key=lambda c: (c[1] / max(1, c[2]), c[0])):
        lines.append(f"| `{exercise}` | {passed / max(1, loaded):.0%} ({passed}/{loaded}) |")
    lines += ["", "## " + _("Score distribution"), "", _("| score | students |"), "|---|---|"]
    width = max(1, data["max_score"] // 5)
    for low in range(0, data["max_score"] + 1, width):
        high = min(low + width - 1, data["max_score"])
        count = sum(low <= s <= high for s in scores)
        scores_said = f"{low}" if low == high else f"{low}–{high}"
        lines.append(f"| {scores_said} | {count} {'█' * count} |")
    lines += ["", "## " + _("Students"), ""]
    for student, entry in students.items():
        lines.append(f"### {student}: {entry['score']} / {data['max_score']}")
        if entry["flags"]:
            lines.append(_("**Flagged:** {flags}", flags=flags_text(entry["flags"])))
        if entry["sandbox_weaknesses"]:
            lines.append(_("*Sandbox:* {weaknesses}", weaknesses="; ".join(entry["sandbox_weaknesses"])))
        failures = [(i, e) for i, e in entry["exercises"].items() if e["verdict"] not in (DONE, NOT_LOADED)]
        if not failures and not reasons[student]:
            lines.append(_("Every exercise passes."))
        for why, modules in reasons[student].items():
            lines.append("- " + _("{modules} (could not load): {why}", modules=_modules_said(modules), why=why))
        for exercise, state in failures:
            first = headline(state)
            shown = first and state["verdict"] in (WRONG, GRADING_ERROR)
            verdict = verdict_text(state["verdict"])
            lines.append("- " + (_("`{exercise}` ({verdict}): {why}", exercise=exercise, verdict=verdict, why=first)
                                 if shown else _("`{exercise}` ({verdict})", exercise=exercise, verdict=verdict)))
        lines.append("")
    return "\n".join(lines)


def _hand_ins(students: dict) -> list[str]:
    """The section on how the work came in: late hand-ins, and the older hand-ins set aside."""
    late = [s for s, e in students.items() if e.get("late")]
    several = {s: e["hand_ins"] for s, e in students.items() if e.get("hand_ins")}
    if not late and not several:
        return []
    lines = ["## " + _("Hand-ins"), ""]
    if late:
        lines += [_("Late ({n}; the platform's mark, or handed in after --deadline): {students}", n=len(late),
                    students=listed(late)), ""]
    if several:
        lines += [_("Handed in more than once: the newest hand-in was graded, the others set aside "
                    "(grade with --several-hand-ins refuse to ask such students to keep one instead):"), ""]
        for student, hand_ins in several.items():
            graded = next(h for h in hand_ins if h["graded"])
            lines.append("- " + _("**{student}**: graded {graded}; set aside {others}", student=student,
                                  graded=hand_in_said(graded),
                                  others=listed(hand_in_said(h) for h in hand_ins if not h["graded"])))
        lines.append("")
    return lines


def hand_in_said(hand_in: dict) -> str:
    """`alice.zip (2026-03-03 10:00)`: a hand-in and when it was made, in this machine's time."""
    when = datetime.fromisoformat(hand_in["handed_in"]).astimezone()
    return f"{hand_in['name']} ({when:%Y-%m-%d %H:%M})"


def _similar(data: dict) -> list[str]:
    """The pairs of students whose code for an exercise is near-identical (for the instructor
    only: feedback pages never say it), from the code grades.json keeps: a merge of shards
    compares every student with every other, as one run does."""
    code = {student: entry.get("code", {}) for student, entry in data["students"].items()}
    ids = {e["id"] for e in data["exercises"]}
    pairs = similar_pairs(code, boilerplate(e for e in load() if e.id in ids))
    if not pairs:
        return []
    lines = ["## " + _("Similar code (for you, not the students)"), "",
             _("Pairs of students whose code for an exercise is near-identical once the stub, the reference "
               "solution and what much of the class wrote are set aside (token fingerprints, as MOSS takes them: "
               "renamed variables and moved comments do not hide a copy). A lead to read, not a verdict: "
               "short answers can meet by chance."), ""]
    for pair in pairs:
        first, second = sorted((pair.first, pair.second), key=sort_key)
        lines.append("- " + _("**{first}** and **{second}**: {share:.0%} of their fingerprints shared, in {exercises}",
                              first=first, second=second, share=pair.share,
                              exercises=listed(f"`{e}`" for e in pair.exercises)))
    lines.append("")
    return lines


def class_mistakes(data: dict) -> dict[str, list[tuple[str, Rule, list[str]]]]:
    """Exercise -> [(a mistake's first line, the rule it breaks, the students who made it)],
    most made first: a student's main failure (`ExerciseResult.main`), grouped with the others' by what it is
    (`Failure.key`: the suspect, or the rule and what the message says), not by its wording
    on one input."""
    found: dict[str, dict[tuple, tuple[str, Rule, list[str]]]] = {}
    for exercise in data["exercises"]:
        for student, entry in data["students"].items():
            state = entry["exercises"].get(exercise["id"])
            first = ExerciseResult.from_json(state).main if state and state["verdict"] == WRONG else None
            if first is not None:
                group = found.setdefault(exercise["id"], {}).setdefault(first.key(), (first.headline(), first.rule, []))
                group[2].append(student)
    return {e: sorted(groups.values(), key=lambda g: -len(g[2])) for e, groups in found.items()}


def feedback(data: dict, student: str) -> str:
    """The page to hand back to one student: the score, then each exercise not done, with
    every failure the grader kept (a module that could not load: once, for all its exercises)."""
    entry = data["students"][student]
    lines = ["# " + _("{student}: {score} of {max_score} points", student=student, score=entry["score"],
                      max_score=data["max_score"]), ""]
    if entry["flags"]:
        lines += [_("Flagged for your instructor: {flags}.", flags=flags_text(entry["flags"])), ""]
    if entry.get("hand_ins"):
        graded = next(h for h in entry["hand_ins"] if h["graded"])
        lines += [_("You handed in more than once: your newest hand-in, {graded}, was graded; not {older}.",
                    graded=hand_in_said(graded),
                    older=listed(hand_in_said(h) for h in entry["hand_ins"] if not h["graded"])), ""]
    states = {e["id"]: entry["exercises"][e["id"]] for e in data["exercises"] if e["id"] in entry["exercises"]}
    passed = [i for i, state in states.items() if state["verdict"] == DONE]
    if passed:
        lines += [_("Passes: {exercises}.", exercises=listed(f"`{i}`" for i in passed)), ""]
    whys = {tuple(failures_said(state)[:1]) for state in states.values()}
    if states and all(state["verdict"] == NOT_LOADED for state in states.values()) and len(whys) == 1:
        return "\n".join([*lines, "## " + _("Your submission could not be used"), "", *_items(list(whys.pop())), ""])
    said = set()
    for exercise in data["exercises"]:
        state = entry["exercises"].get(exercise["id"])
        if state is None or state["verdict"] == DONE:
            continue
        if state["verdict"] == NOT_LOADED:
            module = exercise["id"].split(".")[0]
            if module not in said:
                said.add(module)
                stopped = [e["id"] for e in data["exercises"] if e["id"].startswith(module + ".")
                           and entry["exercises"].get(e["id"], {}).get("verdict") == NOT_LOADED]
                said_module = ngettext("`{module}`: could not load ({n} exercise, 0 points)",
                                       "`{module}`: could not load ({n} exercises, 0 points)", len(stopped), module=module)
                lines += ["## " + said_module, "", *_items(failures_said(state)[:1]), ""]
            continue
        lines += ["## " + _("`{exercise}`: {verdict} ({points} of {max_points})", exercise=exercise["id"],
                            verdict=verdict_text(state["verdict"]), points=state["points"],
                            max_points=exercise["points"]), "",
                  *_items(failures_said(state)), ""]
    return "\n".join(lines)


def _items(messages: list[str]) -> list[str]:
    """Markdown list items; a message's further lines (code, a traceback) stay in its item, as code."""
    items = []
    for message in messages:
        first, *rest = message.splitlines() or [""]
        items.append(f"- {first}")
        if rest:
            items += ["", "  ```", *(f"  {line}" for line in rest), "  ```"]
    return items


STACK = [(DONE, "tab:green"), (WRONG, "tab:red"), (NOT_ATTEMPTED, "tab:gray"), (NOT_LOADED, "tab:orange"),
         (GRADING_ERROR, "tab:purple")]


def score_counts(data: dict) -> dict[str, Counter]:
    """How many students got each score, the students graded in full apart from those with
    work that could not be loaded: a 0 for a missing file is not a 0 for wrong code."""
    graded, unloaded = Counter(), Counter()
    for entry in data["students"].values():
        (unloaded if not_loaded(entry) else graded)[entry["score"]] += 1
    return {_("graded"): graded, _("could not load, in part or whole"): unloaded}


def _plots(data: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ids = [e["id"] for e in data["exercises"]][::-1]
    n = max(1, len(data["students"]))
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.2 * len(ids)))  # a row per exercise, as many as were graded
    left = [0.0] * len(ids)
    for verdict, colour in STACK:  # each exercise's students split by verdict, stacked left to right
        share = [100 * sum(s["exercises"].get(i, {}).get("verdict") == verdict for s in data["students"].values()) / n
                 for i in ids]
        ax.barh(ids, share, left=left, color=colour, label=verdict_text(verdict) if any(share) else None)
        left = [a + b for a, b in zip(left, share)]
    ax.set(xlabel=_("% of students"), xlim=(0, 100), title=_("Verdicts per exercise (course order, top to bottom)"))
    # Below the axes, never over the bars it explains.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=len(STACK), fontsize=8, frameon=False)
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(out / "pass_rate.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 4))
    bottom: Counter = Counter()
    for (kind, counts), colour in zip(score_counts(data).items(), ("tab:blue", "tab:orange")):
        if not counts:
            continue  # no bar, and no legend entry for it
        scores = sorted(counts)
        # One bar per score, centred on it: a score is a whole number of points.
        ax.bar(scores, [counts[s] for s in scores], bottom=[bottom[s] for s in scores], width=0.8, color=colour,
               label=kind)
        bottom.update(counts)
    ax.set(xlabel=_("score (of {max_score})", max_score=data["max_score"]), ylabel=_("students"),
           title=_("Score distribution"), xlim=(-0.6, data["max_score"] + 0.6))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count of students is whole
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(out / "scores.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return [out / "pass_rate.png", out / "scores.png"]
