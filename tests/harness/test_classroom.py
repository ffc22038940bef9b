"""Grading a class: discovery, reports, shards, determinism. (Containment: test_isolation.py.)"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from torchkata.classroom import grader as classroom
from torchkata.classroom import reports, sample_class
from torchkata.classroom.reports import failures_said
from torchkata.core.manifest import load
from torchkata.core.verdicts import Flag

from .grading import EXERCISES, SOLUTIONS, grade, torchkata

ONLY = ("activations.relu", "activations.tanh", "training.zero_grad", "training.sgd_step")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return sample_class.build(tmp_path_factory.mktemp("class") / "sample-class")


def grade_in_a_fresh_process(paths, out: Path, *options: str, only=ONLY) -> list[classroom.StudentResult]:
    """`torchkata grade` as an instructor runs it: its own process, which has used no GPU."""
    run = torchkata("grade", *map(str, paths), "--out", str(out), "--jobs", "2", "--call-timeout", "3",
                    *(f"--only={e}" for e in only), *options, cwd=out.parent)
    assert run.returncode == 0, run.stdout + run.stderr
    return reports.from_json(json.loads((out / "grades.json").read_text()))


@pytest.fixture(scope="module")
def graded(sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("grades") / "out"
    return out, grade_in_a_fresh_process([sample], out)


def test_sample_class_is_scored_right(graded):
    _, results = graded
    scores = {r.student: r.score for r in results}
    # relu 1 + tanh 1 + zero_grad 1 + sgd_step 2 = 5 points in this subset
    assert scores == {"s1-perfect": 5, "s2-typical": 4, "s3-not-started": 0, "s4-hostile": 0}
    hostile = next(r for r in results if r.student == "s4-hostile")
    assert "patched torch or the grader" in hostile.flags and "timed out" in hostile.flags
    assert "did not finish in 3 s" in hostile.exercises["activations.tanh"].said("en")[0]
    assert hostile.exercises["training.sgd_step"].verdict == "wrong"


def test_each_student_gets_what_a_lone_pytest_run_gives(graded, sample, tmp_path):
    """Judges are forked from the grader's collected session, one after another: nothing the
    grader or an earlier student left behind may change a verdict or a message."""
    _, results = graded
    for result in results:
        if result.student == "s4-hostile":  # its hangs make a lone run slow; test_isolation.py covers it
            continue
        (tmp_path / result.student).mkdir()
        alone = grade(sample / result.student, tmp_path / result.student, ONLY, "--isolate")
        for exercise in ONLY:
            graded_in_class = result.exercises[exercise]
            assert graded_in_class.verdict == alone[exercise]["verdict"], f"{result.student}: {exercise}"
            assert graded_in_class.said("en") == alone[exercise]["messages"], f"{result.student}: {exercise}"


def test_reports_are_written_in_their_formats(graded):
    out, results = graded
    assert (out / "grades.csv").read_bytes().startswith(b"\xef\xbb\xbf"), "a BOM, for spreadsheet programs"
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8-sig")))
    assert [r["student"] for r in rows] == ["s1-perfect", "s2-typical", "s3-not-started", "s4-hostile"]
    assert rows[1]["training.zero_grad"] == "0" and rows[1]["training.sgd_step"] == "2" and rows[1]["total"] == "4"
    data = json.loads((out / "grades.json").read_text())
    assert failures_said(data["students"]["s2-typical"]["exercises"]["training.zero_grad"])
    report = (out / "report.md").read_text()
    reteach = report.split("## What the class gets wrong")[1].split("\n## ")[0]
    zero_grad = reports.headline(data["students"]["s2-typical"]["exercises"]["training.zero_grad"])
    assert f"- `training.zero_grad`: 1 student: {zero_grad}" in reteach, reteach
    page = (out / "feedback" / "s2-typical.md").read_text()
    assert page.startswith("# s2-typical: ") and "## `training.zero_grad`: wrong (0 of 1)" in page and zero_grad in page
    gradescope = json.loads((out / "gradescope" / "s2-typical" / "results.json").read_text())
    assert gradescope["score"] == 4
    for test in gradescope["tests"]:
        assert {"name", "number", "score", "max_score", "status", "tags", "output", "visibility"} <= set(test)
    report = (out / "report.md").read_text()
    assert "Which exercises the class finds hard" in report and "s4-hostile" in report and "Flagged" in report
    for png in ("pass_rate.png", "scores.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_shards_merge_into_the_same_reports(graded, sample, tmp_path):
    out, results = graded
    shard_files = []
    for k in (1, 2):
        shard_out = tmp_path / f"shard{k}"
        grade_in_a_fresh_process([sample], shard_out, "--shard", f"{k}/2")
        shard_files.append(shard_out / "grades.json")
    merged_out = tmp_path / "merged"
    reports.write_all(reports.merge(shard_files), merged_out)
    assert (merged_out / "grades.json").read_text() == (out / "grades.json").read_text()
    assert (merged_out / "grades.csv").read_text() == (out / "grades.csv").read_text()
    assert (merged_out / "report.md").read_text() == (out / "report.md").read_text()
    assert json.loads(shard_files[0].read_text())["shard"] == "1/2"


def test_merge_refuses_a_missing_or_repeated_shard(graded, sample, tmp_path):
    out, _ = graded
    data = json.loads((out / "grades.json").read_text())
    for k in (1, 3):
        (tmp_path / f"s{k}.json").write_text(json.dumps({**data, "students": {}, "shard": f"{k}/3"}))
    run = torchkata("grade", "merge", "s1.json", "s3.json", "--out", "m", cwd=tmp_path)
    assert run.returncode == 2 and "shard 2/3 is missing (given: 1/3, 3/3)" in run.stderr, run.stderr
    (tmp_path / "again.json").write_text(json.dumps({**data, "students": {}, "shard": "1/3"}))
    run = torchkata("grade", "merge", "s1.json", "again.json", "--out", "m", cwd=tmp_path)
    assert run.returncode == 2 and "shard 1/3 is given twice: s1.json and again.json" in run.stderr, run.stderr
    assert not (tmp_path / "m").exists()


def test_a_run_of_some_exercises_reports_those_only(graded):
    out, _ = graded
    data = json.loads((out / "grades.json").read_text())
    in_course_order = [e.id for e in load() if e.id in ONLY]
    assert [e["id"] for e in data["exercises"]] == in_course_order and data["max_score"] == 5
    header = next(csv.reader(open(out / "grades.csv", encoding="utf-8-sig")))
    assert header == ["student", *in_course_order, "total", "max", "late", "could not load", "flags"]


def test_merge_refuses_shards_that_graded_different_exercises(graded, tmp_path):
    out, _ = graded
    data = json.loads((out / "grades.json").read_text())
    first = {**data, "shard": "1/2", "students": {"a": data["students"]["s1-perfect"]}}
    second = {**data, "shard": "2/2", "exercises": data["exercises"][:1], "students": {"b": data["students"]["s1-perfect"]}}
    (tmp_path / "one.json").write_text(json.dumps(first))
    (tmp_path / "two.json").write_text(json.dumps(second))
    run = torchkata("grade", "merge", "one.json", "two.json", "--out", "m", cwd=tmp_path)
    assert run.returncode == 2 and "one.json and two.json graded different exercises" in run.stderr, run.stderr


def test_reports_of_an_earlier_run_in_the_same_folder_do_not_stay(tmp_path):
    from torchkata.core.verdicts import ExerciseResult, StudentResult, Verdict

    def result(student):
        return StudentResult(student, {"training.zero_grad": ExerciseResult(Verdict.DONE, 1)})

    reports.write_all([result("ana"), result("bo")], tmp_path)
    reports.write_all([result("ana")], tmp_path)
    assert sorted(p.name for p in (tmp_path / "feedback").iterdir()) == ["ana.md"]
    assert sorted(p.name for p in (tmp_path / "gradescope").iterdir()) == ["ana"]


def test_an_empty_shard_writes_empty_reports_and_succeeds(sample, tmp_path):
    run = torchkata("grade", str(sample), "--shard", "9/9", "--out", "empty", "--only", "training.zero_grad",
                    cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads((tmp_path / "empty" / "grades.json").read_text())
    assert data["students"] == {} and data["shard"] == "9/9"


def test_grade_help_lists_only_what_grading_uses():
    from torchkata.cli import parser

    grade_help = parser()._subparsers._group_actions[0].choices["grade"].format_help()
    for learners_only in ("--exercises", "--timeout"):
        assert learners_only not in grade_help
    assert "--only" in grade_help and "--allow-unconfined" in grade_help
    assert "--lang" in grade_help, "the reports and feedback can be written in Chinese"


@pytest.mark.parametrize("argv", [["--lang", "zh", "grade", "class"], ["grade", "class", "--lang", "zh"],
                                  ["--lang", "zh", "gradescope-autograder", "gs"],
                                  ["gradescope-autograder", "gs", "--lang", "zh"]])
def test_the_language_given_for_grading_wins_before_or_after_grade(tmp_path, argv, monkeypatch):
    """An instructor's --lang, before or after `grade`, beats what a learner's command
    remembered in this checkout, and is not remembered as the learner's choice."""
    from torchkata import cli
    from torchkata.learn.progress import Progress

    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    progress = Progress.load(folder)
    progress.lang = "en"
    progress.save()
    monkeypatch.delenv("TORCHKATA_LANG", raising=False)
    args = cli.parser().parse_args(["--exercises", str(folder), *argv])
    assert cli.use_language(args)[0] == "zh"
    assert Progress.load(folder).lang == "en", "the learner's remembered choice is left as it was"


def test_grades_csv_cells_are_never_formulas(tmp_path):
    """A student id or flag starting like a formula (=, +, -, @, tab, CR) is written as text."""
    from torchkata.classroom import reports

    data = {"exercises": [{"id": "activations.relu"}], "max_score": 1,
            "students": {"=HYPERLINK(\"http://x\")": {"exercises": {"activations.relu": {"points": 1, "verdict": "done"}},
                                                       "score": 1, "flags": []},
                         "-1+2": {"exercises": {}, "score": 0, "flags": ["@SUM(A1)"]}}}
    reports._csv(data, tmp_path / "grades.csv")
    rows = list(csv.reader(open(tmp_path / "grades.csv", encoding="utf-8-sig")))
    assert [row[0] for row in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'-1+2"]
    assert rows[2][-1] == "'@SUM(A1)" and rows[1][1] == "1", "numbers stay numbers"


def test_shards_partition_the_class_deterministically(sample):
    everyone = classroom.discover([sample])
    parts = [classroom.shard(everyone, f"{k}/3") for k in (1, 2, 3)]
    assert sorted(s.student for p in parts for s in p) == sorted(s.student for s in everyone)
    assert [s.student for s in classroom.shard(list(reversed(everyone)), "2/3")] == [s.student for s in parts[1]]
    with pytest.raises(classroom.IntakeError, match="K/N"):
        classroom.shard(everyone, "4/3")


def test_zip_submissions_and_unsafe_members(sample, tmp_path):
    archive = tmp_path / "zoe.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for module in sample.joinpath("s1-perfect").glob("*.py"):
            zipped.write(module, f"zoe/{module.name}")
        zipped.writestr("../../escape.py", "x = 1")
    found = classroom.discover([archive])
    assert [s.student for s in found] == ["zoe"]
    staged = classroom.stage(found[0], tmp_path / "staging")
    assert (staged / "training.py").exists() and not (tmp_path / "escape.py").exists()
    results = grade_in_a_fresh_process([archive], tmp_path / "out", only=("training.zero_grad",))
    assert results[0].score == 1


def test_every_hand_in_has_a_row_whatever_its_archive(sample, tmp_path):
    """A tar with any compression is taken in; a .rar or .7z (which the grader does not open)
    is that student's row, "could not load" with what to submit instead, not a line the
    instructor may miss."""
    hand_ins = tmp_path / "class"
    hand_ins.mkdir()
    with tarfile.open(hand_ins / "yan.tar.xz", "w:xz") as tarred:
        for module in sample.joinpath("s1-perfect").glob("*.py"):
            tarred.add(module, f"yan/{module.name}")
    (hand_ins / "bob.rar").write_bytes(b"Rar!\x1a\x07\x00" + bytes(64))
    (hand_ins / "cat.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + bytes(64))
    (hand_ins / "notes.txt").write_text("not a hand-in")
    skipped = []
    found = {s.student: s for s in classroom.discover([hand_ins], skipped)}
    assert sorted(found) == ["bob", "cat", "yan"] and [e.path.name for e in skipped] == ["notes.txt"]
    assert (classroom.stage(found["yan"], tmp_path / "staging") / "training.py").exists()
    for student, kind in (("bob", ".rar"), ("cat", ".7z")):
        with pytest.raises(classroom.UnreadableSubmission, match=rf"a \{kind} archive, which the grader does not "
                                                                   r"open: submit a \.zip"):
            classroom.stage(found[student], tmp_path / "staging")
    results = {r.student: r for r in grade_in_a_fresh_process([hand_ins], tmp_path / "out",
                                                               only=("training.zero_grad",))}
    assert results["yan"].score == 1 and results["bob"].score == 0
    bob = results["bob"].exercises["training.zero_grad"]
    assert bob.verdict == "could not load" and ".rar archive" in bob.said("en")[0]
    rows = (tmp_path / "out" / "grades.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["bob", "cat", "yan"]


def test_a_copy_of_the_whole_project_is_graded_on_its_exercises(sample, tmp_path):
    """A zipped clone (or Gradescope's GitHub submission) holds the course's modules four
    times over (exercises/, solutions/, the test alternatives, the package's stubs): it is
    graded on exercises/ alone, and flagged so, not refused as one module in four places."""
    from torchkata.core.verdicts import Flag

    from .grading import ROOT

    archive = tmp_path / "hand-ins" / "dana.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zipped:
        for module in sample.joinpath("s2-typical").glob("*.py"):  # the student's own work
            zipped.write(module, f"torchkata-main/exercises/{module.name}")
        for folder in ("solutions", "tests/harness/alternatives", "torchkata/stubs"):
            for module in (ROOT / folder).glob("*.py"):
                zipped.write(module, f"torchkata-main/{folder}/{module.name}")
        zipped.writestr("torchkata-main/noxfile.py", "")
    found = classroom.discover([archive.parent])
    staged = classroom.stage(found[0], tmp_path / "staging")
    assert (staged / "training.py").read_text() == (sample / "s2-typical" / "training.py").read_text()
    assert found[0].project_copy
    only = ("activations.tanh", "training.zero_grad")
    (result,) = grade_in_a_fresh_process([archive.parent], tmp_path / "out", only=only)
    typical = {r.student: r for r in grade_in_a_fresh_process([sample], tmp_path / "sample-out",
                                                               only=only)}["s2-typical"]
    assert result.score == typical.score > 0 and str(Flag.PROJECT_COPY) in result.flags


def test_an_empty_module_is_one_reason_for_all_its_exercises(tmp_path):
    """An empty losses.py is one line under Action needed, not one "defines no ..." per function."""
    folder = tmp_path / "submission"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "losses.py").write_text("")
    losses = [e.id for e in load() if e.module == "losses"]
    found = grade(folder, tmp_path, losses)
    said = {found[e]["messages"][0] for e in losses}
    assert {found[e]["verdict"] for e in losses} == {"could not load"}
    assert len(said) == 1 and "defines none of this module's functions" in said.pop()
    result = classroom.StudentResult("ann", {e: reports.ExerciseResult.from_json(found[e]) for e in losses})
    report = reports._markdown(reports.to_json([result]))
    assert report.count("**ann**") == 1, report


@pytest.mark.parametrize("line", ["import losses", "import training, losses", "from losses import cross_entropy"])
def test_every_absolute_import_of_a_course_module_gets_the_relative_import_hint(tmp_path, line):
    folder = tmp_path / "submission"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    capstone = folder / "capstone.py"
    capstone.write_text(line + "\n" + capstone.read_text())
    said = grade(folder, tmp_path, ["capstone.fit"])["capstone.fit"]
    assert said["verdict"] == "could not load" and "with a relative import instead" in said["messages"][0], said


def test_of_two_hand_ins_the_newest_is_graded_and_the_other_said(sample, tmp_path):
    (tmp_path / "s1-perfect.zip").write_bytes(b"")
    os.utime(tmp_path / "s1-perfect.zip", (2_000_000_000, 2_000_000_000))  # newer than the folder
    found = {s.student: s for s in classroom.discover([sample, tmp_path])}
    graded = found["s1-perfect"]
    assert graded.source == tmp_path / "s1-perfect.zip" and [h.label for h in graded.set_aside] == ["s1-perfect/"]
    os.utime(tmp_path / "s1-perfect.zip", (1_000_000_000, 1_000_000_000))  # older than the folder
    found = {s.student: s for s in classroom.discover([sample, tmp_path])}
    graded = found["s1-perfect"]
    assert graded.source == sample / "s1-perfect" and [h.label for h in graded.set_aside] == ["s1-perfect.zip"]


def test_a_deadline_marks_the_hand_ins_made_after_it_late(sample, tmp_path):
    from datetime import datetime, timezone

    for student, when in (("s1-perfect", 1_000_000_000), ("s2-typical", 3_000_000_000)):
        for path in (sample / student).rglob("*"):
            os.utime(path, (when, when))
    deadline = datetime.fromtimestamp(2_000_000_000, timezone.utc)
    late = {s.student: s.late for s in classroom.discover([sample], deadline=deadline)}
    assert late["s1-perfect"] is False and late["s2-typical"] is True
    assert not any(s.late for s in classroom.discover([sample])), "no deadline, no platform mark: nobody is late"


def test_two_hand_ins_refused_when_asked_are_that_students_problem(sample, tmp_path):
    """With --several-hand-ins refuse, which of two hand-ins counts is the student's to say: the
    class is taken in, and staging that student says why not (Action needed)."""
    (tmp_path / "s1-perfect.zip").write_bytes(b"")
    found = {s.student: s for s in classroom.discover([sample, tmp_path], newest_wins=False)}
    assert len(found) == 4 and not found["s2-typical"].problem
    with pytest.raises(classroom.UnreadableSubmission,
                       match="two submissions for this student: s1-perfect/ and s1-perfect.zip; keep one"):
        classroom.stage(found["s1-perfect"], tmp_path / "staging")


def test_command_line_grades_then_merges(sample, tmp_path):
    for k in (1, 2):
        result = torchkata("grade", str(sample), "--shard", f"{k}/2", "--out", f"part{k}", "--only",
                           "training.zero_grad", "--call-timeout", "3", cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "students in" in result.stdout and "grades.csv" in result.stdout
    merged = torchkata("grade", "merge", "part1/grades.json", "part2/grades.json", "--out", "all", cwd=tmp_path)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    rows = (tmp_path / "all" / "grades.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["s1-perfect", "s2-typical", "s3-not-started", "s4-hostile"]


SUITE_CANNOT_BE_COLLECTED = """
import sys
import torchkata.engine.plugin
def broken(config, items):
    raise RuntimeError("a test module of the grader is broken (simulated)")
torchkata.engine.plugin.pytest_collection_modifyitems = broken
from torchkata import cli
sys.exit(cli.main(["grade", sys.argv[1], "--out", sys.argv[2], "--only", "training.zero_grad"]))
"""


def test_a_grader_that_cannot_run_its_suite_says_grading_error_instead_of_failing_everyone(sample, tmp_path):
    # The judges run the suite the grader collected; if it could not collect it, no student
    # may get a zero for it: a grading error, exit 3, no reports.
    run = subprocess.run([sys.executable, "-c", SUITE_CANNOT_BE_COLLECTED, str(sample), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "grading error" in run.stderr and "could not run its own test suite" in run.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_an_unknown_exercise_is_a_usage_error_not_a_grading_error(sample, tmp_path):
    run = torchkata("grade", str(sample), "--out", "out", "--only", "activations.nope", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "--only activations.nope: no such exercise" in run.stderr and "activations.softmax" in run.stderr
    assert "grading error" not in run.stderr and not (tmp_path / "out").exists()


GRADER_ENVIRONMENT_CHECK = """
import os, sys
from pathlib import Path
from torchkata.classroom import grader as classroom
os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
before = dict(os.environ)
classroom.grade_class(classroom.discover([Path(sys.argv[1])])[:1], Path(sys.argv[2]), jobs=1,
                      exercises=("training.zero_grad",))
assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
"""


def test_the_grader_leaves_its_callers_environment_as_it_was(sample, tmp_path):
    """In a fresh interpreter, as a library user calls it (hiding the GPUs included)."""
    run = subprocess.run([sys.executable, "-c", GRADER_ENVIRONMENT_CHECK, str(sample), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr


JUDGE_DIES_FOR_ONE_STUDENT = """
import os, sys
from torchkata import cli
from torchkata.classroom import judges
real = judges._judge
def dies_for_s2(session, folder, verdicts, device):
    if folder.name == "s2-typical":
        os._exit(9)  # the grader's own process dies: no student code runs in a judge
    return real(session, folder, verdicts, device)
judges._judge = dies_for_s2
sys.exit(cli.main(["grade", sys.argv[1], "--out", sys.argv[2], "--jobs", "2", "--only", "training.zero_grad"]))
"""


def test_a_judge_that_dies_is_a_grading_error_for_that_student_only(sample, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-c", JUDGE_DIES_FOR_ONE_STUDENT, str(sample), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 3, "a grading error must make the run fail: " + run.stdout + run.stderr
    assert "must be regraded" in run.stdout and "s2-typical" in run.stdout
    students = json.loads((out / "grades.json").read_text())["students"]
    dead = students["s2-typical"]["exercises"]["training.zero_grad"]
    assert dead["verdict"] == "grading error" and "exited with status 9" in failures_said(dead)[0]
    assert str(Flag.REGRADE) in students["s2-typical"]["flags"]
    assert students["s1-perfect"]["exercises"]["training.zero_grad"]["verdict"] == "done"
    assert str(Flag.REGRADE) not in students["s1-perfect"]["flags"]
    report = (out / "report.md").read_text()
    assert "Grading errors: regrade these students" in report and "**s2-typical**" in report


def test_grading_on_cuda_is_refused_at_start_where_there_is_none(sample, tmp_path):
    import shutil

    import torch

    if torch.version.cuda is not None and shutil.which("nvidia-smi"):
        pytest.skip("this machine may have a GPU: the cuda grading run is checked on the GPU machine (docs/cuda.md)")
    run = torchkata("grade", str(sample), "--device", "cuda", "--out", "out", cwd=tmp_path)
    assert run.returncode == 2 and "--device cuda: CUDA is not available here" in run.stderr
    assert not (tmp_path / "out").exists()


def test_merge_reads_grades_of_format_1(tmp_path):
    old = {"format": "torchkata-grades-1", "exercises": [{"id": "training.zero_grad", "points": 1}], "max_score": 1,
           "students": {"ana": {"score": 1, "flags": ["timed out"], "sandbox_weaknesses": [],
                                "exercises": {"training.zero_grad": {"verdict": "done", "points": 1, "messages": []}}}}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    run = torchkata("grade", "merge", "old.json", "--out", "merged", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    merged = json.loads((tmp_path / "merged" / "grades.json").read_text())
    assert merged["format"] == "torchkata-grades-3"
    assert merged["students"]["ana"]["flags"] == ["timed out"] and merged["students"]["ana"]["score"] == 1


@pytest.mark.parametrize("args,says", [
    (["grade", "merge", "missing.json"], "missing.json cannot be read"),
    (["grade", "merge", "not-json.json"], "not-json.json is not JSON"),
    (["grade", "merge"], "the following arguments are required: GRADES_JSON"),
    (["grade", "--jobs", "0"], "--jobs must be at least 1, got 0"),
    (["grade", "--out", "a-file"], "--out must be a folder for the reports; a-file is a file"),
    (["grade", "--call-timeout", "0"], "--call-timeout must be a number of seconds above 0, got 0.0"),
    (["grade", "--call-timeout", "nan"], "--call-timeout must be a number of seconds above 0, got nan"),
    (["grade", "--deadline", "friday"], "argument --deadline: not a date and time such as 2026-12-01T23:59: 'friday'"),
], ids=["missing", "not_json", "nothing", "jobs_0", "out_is_a_file", "call_timeout_0", "call_timeout_nan", "deadline"])
def test_bad_input_is_named_with_its_value_and_exits_2(tmp_path, args, says):
    (tmp_path / "not-json.json").write_text("{nope")
    (tmp_path / "a-file").write_text("")
    run = torchkata(*args, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert says in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "grades").exists()


FD_WRITER = """
import os
def zero_grad(params):
    for fd in range(3, 1025):
        try:
            os.write(fd, b'GARB' + b'AGE FROM STUDENT CODE')  # grades.json keeps this source: not the word
        except OSError:
            pass
    for p in params:
        p.grad = None
"""


def test_a_student_writing_to_every_descriptor_changes_nothing_of_the_graders(sample, tmp_path):
    """Descriptors 3-1024 of the sandbox child: none is the grader's (its output, its reports,
    another judge's pipes); garbling its own reply pipe costs that student's exercise only."""
    import shutil

    for student in ("a-writer", "b-neighbour"):
        shutil.copytree(sample / "s1-perfect", tmp_path / "class" / student)
    with open(tmp_path / "class" / "a-writer" / "training.py", "a", encoding="utf-8") as handle:
        handle.write("\n" + FD_WRITER)
    out = tmp_path / "out"
    run = torchkata("grade", str(tmp_path / "class"), "--out", str(out), "--jobs", "2",
                    "--only", "training.zero_grad", "--only", "activations.relu", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "GARBAGE" not in run.stdout + run.stderr
    assert not any(b"GARBAGE" in path.read_bytes() for path in out.rglob("*") if path.is_file())
    students = json.loads((out / "grades.json").read_text())["students"]
    writer = students["a-writer"]["exercises"]["training.zero_grad"]
    assert writer["verdict"] == "wrong" and "garbled" in failures_said(writer)[0]
    assert students["a-writer"]["exercises"]["activations.relu"]["verdict"] == "done"
    assert all(e["verdict"] == "done" for e in students["b-neighbour"]["exercises"].values())


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_unreadable_upload_is_that_students_problem_only(sample, tmp_path, jobs):
    """A 0-byte zip among the class: the run goes on (with one job too, where it once waited
    forever on no judge), the student's work 'could not load' (not 'wrong'), the report
    lists them under Action needed, and the exit status stays 0."""
    shutil.copytree(sample / "s1-perfect", tmp_path / "class" / "ana")
    (tmp_path / "class" / "bo.zip").write_bytes(b"")
    out = tmp_path / "out"
    run = torchkata("grade", "class", "--out", "out", "--jobs", jobs, "--only", "training.zero_grad", cwd=tmp_path,
                    timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    results = {r.student: r for r in reports.merge([out / "grades.json"])}
    assert results["ana"].exercises["training.zero_grad"].verdict == "done"
    bo = results["bo"].exercises["training.zero_grad"]
    assert bo.verdict == "could not load" and "could not be used" in bo.said("en")[0]
    report = (out / "report.md").read_text()
    assert "## Action needed: files that could not be loaded" in report and "- **bo** (`training`): the submission could not be used" in report
    assert "| `training.zero_grad` | 100% (1/1) |" in report, "the pass rate counts the students whose module loaded"


def messy_class(folder: Path) -> Path:
    """A class as instructors receive one: every way a hand-in arrives, and every way one breaks."""
    solutions = sorted(SOLUTIONS.glob("*.py"))
    work = folder / "work"
    cls = folder / "class"

    def copy(target: Path, files=solutions):
        target.mkdir(parents=True)
        for path in files:
            shutil.copy(path, target / path.name)
        return target

    def zipped(archive: Path, prefix: str, files=solutions):
        with zipfile.ZipFile(archive, "w") as handle:
            for path in files:
                handle.write(path, f"{prefix}{path.name}")

    copy(cls / "Zoë Ng" / "exercises")                                    # one folder down
    (cls / "John Smith_123456_assignsubmission_file_").mkdir(parents=True)  # Moodle: a folder holding a zip
    zipped(cls / "John Smith_123456_assignsubmission_file_" / "exercises.zip", "exercises/")
    zipped(cls / "LEI.ZIP", "")                                             # an upper-case suffix
    with tarfile.open(cls / "tara.tar.gz", "w:gz") as handle:               # a tarball, one folder down
        handle.add(copy(work / "hw"), arcname="hw")
    with zipfile.ZipFile(cls / "dup.zip", "w") as handle:                   # an old stub beside the real file
        for path in solutions:
            handle.write(path, f"hw/exercises/{path.name}")
        handle.write(EXERCISES / "activations.py", "hw/old/activations.py")
    zipped(cls / "smithjohn_12345_67890_exercises.zip", "")                 # Canvas: an archive
    for path in solutions:                                                  # Canvas: loose files, one resubmitted
        shutil.copy(path, cls / f"doejane_LATE_222_333_{path.name}")
    (cls / "doejane_LATE_222_334_training-1.py").write_text((SOLUTIONS / "training.py").read_text())
    (cls / "doejane_LATE_222_333_training.py").write_text("def oops(:\n")  # the first try did not parse
    copy(cls / "missing", [p for p in solutions if p.name != "training.py"])
    copy(cls / "syntax").joinpath("training.py").open("a").write("\ndef oops(:\n")
    absolute = copy(cls / "absolute") / "training.py"
    absolute.write_text("from exercises.activations import sigmoid as _s\n" + absolute.read_text())
    older = copy(cls / "twice")                                             # two hand-ins: a folder, then a zip
    (older / "training.py").write_text("def oops(:\n")
    for path in older.iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    zipped(cls / "twice.zip", "")
    (cls / "corrupt.zip").write_bytes(b"")
    (cls / "notes.zip").write_text("a text file renamed .zip")
    (cls / "__MACOSX" / "._LEI.ZIP").parent.mkdir()
    (cls / "__MACOSX" / "._LEI.ZIP").write_bytes(b"\0")
    (cls / ".DS_Store").write_bytes(b"\0")
    (cls / "readme.txt").write_text("marks due Friday")
    return cls


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_messy_class_is_taken_in_whole(tmp_path, jobs):
    cls = messy_class(tmp_path)
    run = torchkata("grade", str(cls), "--out", "out", "--jobs", jobs, "--only", "training.zero_grad", cwd=tmp_path,
                    timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("__MACOSX", ".DS_Store", "readme.txt"):
        assert f"not taken in: {cls / name}" in " ".join(run.stdout.split()), run.stdout
    results = {r.student: r.exercises["training.zero_grad"] for r in reports.merge([tmp_path / "out" / "grades.json"])}
    assert list(results) == ["absolute", "corrupt", "doejane_222", "dup", "John Smith_123456", "LEI", "missing",
                             "notes", "smithjohn_12345", "syntax", "tara", "twice", "Zoë Ng"], \
        "every student, sorted as people sort"
    for student in ("doejane_222", "John Smith_123456", "LEI", "smithjohn_12345", "tara", "twice", "Zoë Ng"):
        assert results[student].verdict == "done", (student, results[student])
    report = (tmp_path / "out" / "report.md").read_text()
    action = report.split("## Action needed: files that could not be loaded")[1].split("##")[0]
    for student, why in [("absolute", "No module named 'exercises.activations' (your module imports the course's "
                                      "folder by name"),
                         ("corrupt", "corrupt.zip is empty (0 bytes)"),
                         ("notes", "notes.zip could not be read as an archive: File is not a zip file"),
                         ("dup", "two files for module activations: hw/exercises/activations.py and "
                                 "hw/old/activations.py"),
                         ("missing", "training.py is missing"),
                         ("syntax", "training.py could not be loaded: SyntaxError at line")]:
        assert results[student].verdict == "could not load", (student, results[student])
        assert f"- **{student}** (`training`): " in action and why in action, (student, action)
    hand_ins = " ".join(report.split("## Hand-ins")[1].split("\n## ")[0].split())
    assert "Late (1; the platform's mark, or handed in after --deadline): doejane_222" in hand_ins, hand_ins
    older = datetime.fromtimestamp(1_700_000_000).strftime("%Y-%m-%d %H:%M")
    assert re.search(rf"- \*\*twice\*\*: graded twice\.zip \([-\d: ]+\); set aside twice/ \({older}\)", hand_ins), \
        "the older hand-in, set aside, with when each was made: the newest was graded"
    with open(tmp_path / "out" / "grades.csv", encoding="utf-8-sig") as handle:
        late = {row["student"]: row["late"] for row in csv.DictReader(handle)}
    assert late["doejane_222"] == "yes" and set(late.values()) == {"yes", "no"} and late["twice"] == "no"
    with open(tmp_path / "out" / "grades.csv", encoding="utf-8-sig") as handle:
        unloaded = {row["student"]: row["could not load"] for row in csv.DictReader(handle)}
    assert unloaded["missing"] == "training" and unloaded["corrupt"] == "training" and unloaded["tara"] == "", \
        "a 0 for work that never loaded is told apart from a wrong answer in the CSV too"
    feedback = (tmp_path / "out" / "feedback" / "twice.md").read_text()
    assert "your newest hand-in, twice.zip (" in feedback and f"was graded; not twice/ ({older})." in feedback


def test_a_class_graded_in_chinese_gets_its_reports_and_feedback_in_chinese(sample, tmp_path):
    """`torchkata grade --lang zh`: the verdicts, report.md, the feedback pages and the
    Gradescope texts in Chinese; the machine-readable grades keep their English keys."""
    result = torchkata("grade", str(sample), "--lang", "zh", "--out", "zh", "--only", "training.zero_grad",
                       "--call-timeout", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "zh"
    chinese = re.compile(r"[\u4e00-\u9fff]")
    report, page = (out / "report.md").read_text(), (out / "feedback" / "s2-typical.md").read_text()
    assert chinese.search(report) and chinese.search(page) and chinese.search(result.stdout)
    mistake = json.loads((out / "grades.json").read_text())["students"]["s2-typical"]["exercises"]["training.zero_grad"]
    assert mistake["verdict"] == "wrong" and chinese.search(failures_said(mistake, "zh")[0]), "the learner's lesson is Chinese"
    assert chinese.search(json.loads((out / "gradescope" / "s2-typical" / "results.json").read_text())["tests"][0]["output"])
    assert (out / "grades.csv").read_text(encoding="utf-8-sig").splitlines()[0].startswith("student,")


def test_merge_writes_chinese_reports_from_grades_graded_in_english(graded, tmp_path):
    """grades.json keeps failures as records, not sentences: merging it with --lang zh says
    each student's failures in Chinese, though the class was graded in English."""
    out, _ = graded
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"TORCHKATA_LANG": "zh"}
    run = subprocess.run([sys.executable, "-m", "torchkata", "grade", "merge", str(out / "grades.json"), "--out",
                          str(tmp_path / "zh")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    english = (out / "feedback" / "s2-typical.md").read_text(encoding="utf-8")
    chinese = (tmp_path / "zh" / "feedback" / "s2-typical.md").read_text(encoding="utf-8")
    assert "zero_grad left parameter" in english and "zero_grad left parameter" not in chinese
    assert re.search(r"[\u4e00-\u9fff]", chinese.split("training.zero_grad")[1]), chinese
    assert json.loads((tmp_path / "zh" / "grades.json").read_text())["students"] == \
        json.loads((out / "grades.json").read_text())["students"], "the grades themselves are the same records"


def test_what_the_class_gets_wrong_names_the_rule_unless_the_mistake_says_it(graded):
    """A rule of the contract (shape, dtype, a known mistake's values ...) is named beside the
    mistake; an exercise's own rule is the mistake's sentence already, and is not said again."""
    out, _ = graded
    reteach = (out / "report.md").read_text().split("## What the class gets wrong")[1].split("\n## ")[0]
    lines = [line for line in reteach.splitlines() if line.startswith("- ")]
    assert lines and "(the rule: the exercise's own rule)" not in reteach
    assert any("(the rule: " in line for line in lines), reteach


def test_scores_png_keeps_the_zeros_of_work_that_could_not_load_apart():
    from torchkata.core.failures import Failure, Rule
    from torchkata.core.i18n import M_
    from torchkata.core.verdicts import ExerciseResult, StudentResult, Verdict

    def student(name, verdict, points):
        failures = [Failure(Rule.NOT_LOADED, M_("losses.py is missing"))] if verdict == Verdict.NOT_LOADED else []
        return StudentResult(name, {"losses.mse_loss": ExerciseResult(verdict, points, failures)})

    data = reports.to_json([student("ann", Verdict.NOT_LOADED, 0), student("bo", Verdict.WRONG, 0),
                            student("cy", Verdict.WRONG, 0), student("di", Verdict.DONE, 1)])
    graded, unloaded = reports.score_counts(data).values()
    assert graded == {0: 2, 1: 1} and unloaded == {0: 1}


def test_feedback_names_the_students_files_as_the_student_does(tmp_path):
    """Not by where the sandbox mounted them, nor by the package the grader imported them as."""
    from .grading import submission_with

    code = ("def relu(x):\n    open(__file__ + '.missing')\n"
            "def tanh(x):\n    import sys\n    return sys.modules[__name__].not_there(x)\n")
    found = grade(submission_with(tmp_path, "activations", code), tmp_path, ["activations.relu", "activations.tanh"],
                  "--isolate")
    said = " ".join(m for e in found.values() for m in e["messages"])
    assert "No such file or directory: 'activations.py.missing'" in said, said
    assert "module 'activations' has no attribute 'not_there'" in said, said
    assert "/run/torchkata" not in said and "_torchkata_impl" not in said, said


ANNA = '''
def mse_loss(input, target, reduction="mean"):
    _check(input, target, reduction)
    difference = input - target
    squared = difference * difference
    if reduction == "sum":
        total = squared.sum()
        return total
    if reduction == "mean":
        average = squared.sum() / squared.numel()
        return average
    return squared
'''
BEN = '''
def mse_loss(input, target, reduction="mean"):
    # my own work, honestly
    _check(input, target, reduction)
    d = input - target
    sq = d * d

    if reduction == "sum":
        s = sq.sum()  # add them up
        return s
    if reduction == "mean":
        m = sq.sum() / sq.numel()
        return m
    return sq
'''
CARA = '''
def mse_loss(input, target, reduction="mean"):
    _check(input, target, reduction)
    errors = torch.pow(torch.sub(input, target), 2)
    return {"none": errors, "sum": errors.sum()}.get(reduction, errors.mean())
'''


def test_a_copy_with_its_names_changed_is_listed_for_the_instructor_across_shards_too(tmp_path):
    from .grading import submission_with

    cls = tmp_path / "class"
    for student, code in (("anna", ANNA), ("ben", BEN), ("cara", CARA)):
        shutil.move(submission_with(tmp_path / student, "losses", code), cls / student)
    out = tmp_path / "out"
    grade_in_a_fresh_process([cls], out, only=("losses.mse_loss",))
    report = (out / "report.md").read_text()
    assert "## Similar code (for you, not the students)" in report
    similar = report.split("## Similar code")[1].split("\n## ")[0]
    assert "- **anna** and **ben**: 100% of their fingerprints shared, in `losses.mse_loss`" in similar, similar
    assert "cara" not in similar, "an honest, different answer is nobody's copy"
    assert not any("ben" in (out / "feedback" / f"{s}.md").read_text() for s in ("anna", "cara")), \
        "feedback pages never name another student"

    shards = []
    for k in (1, 2):
        grade_in_a_fresh_process([cls], tmp_path / f"shard{k}", "--shard", f"{k}/2", only=("losses.mse_loss",))
        shards.append(str(tmp_path / f"shard{k}" / "grades.json"))
    first = json.loads(Path(shards[0]).read_text())["students"]
    assert "anna" in first and "ben" not in first, "the control: the two are graded in different shards"
    merged = torchkata("grade", "merge", *shards, "--out", "merged", cwd=tmp_path)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert (tmp_path / "merged" / "report.md").read_text() == report, "a merge compares across shards as one run"
