"""Every command the README and docs/ show is run: here, by a test named here, or by CI.

A command in a page is a line of a code block, or an inline `code` span that starts with
a program (torchkata, pytest, nox, python, pip, hyperfine, bash). Each one is listed in
COVERED with what runs it. A command added to a page without a line here fails
`test_every_documented_command_is_covered`; a line here whose command left the pages
fails too, so the list stays the pages' own. Commands that need a GPU are not run on a
machine without one: their page must say when and where they were last run.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from .grading import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PROGRAMS = ("torchkata", "pytest", "nox", "python", "pip", "hyperfine", "bash", "TORCHKATA_")
HARNESS = ROOT / "tests" / "harness"


@dataclass(frozen=True)
class Here:
    """Run by `test_documented_commands_run` below: argv (with the interpreter for python,
    pytest and torchkata), the exit status it must end with, and a phrase of its output."""

    argv: tuple[str, ...]
    status: int
    says: str


@dataclass(frozen=True)
class ByTest:
    """Run by a test of the harness (file::function), as a user types it or through the
    same code path with the same arguments."""

    test: str


@dataclass(frozen=True)
class ByNox:
    """A nox session: the session must exist in noxfile.py; what it runs is covered by `then`."""

    session: str
    then: Here | ByTest


@dataclass(frozen=True)
class ByCI:
    """Run by .ci/run on a fresh clone (the README's test command)."""


@dataclass(frozen=True)
class Measurement:
    """A timing command (hyperfine) behind a figure in docs/measured.md: hyperfine is not
    installed on a fresh machine; the command it times is covered by `inner`."""

    inner: ByTest | Here


@dataclass(frozen=True)
class OnGpu:
    """Needs a GPU: its page says when and on what machine it was last run."""

    page: str


PY = sys.executable
CLI = ByTest("test_cli.py::test_check_passes_fails_and_says_not_attempted")
STATUS = ByTest("test_cli.py::test_status_grades_what_changed_then_remembers")
GRADE = ByTest("test_classroom.py::test_command_line_grades_then_merges")
SAMPLE = ByTest("test_classroom.py::test_sample_class_is_scored_right")
SUITE = ByTest("test_suite_checks_itself.py::test_untouched_stubs_fail_every_exercise_as_not_attempted")
LANGUAGE = ByTest("test_cli.py::test_the_last_lang_given_is_remembered_and_the_environment_overrides_it")
BENCH = ByTest("test_bench.py::test_a_passing_solution_is_timed_beside_torch_with_bandwidth_against_a_copy")
MAKE_CLASS = Here((PY, "benchmarks/make_class.py", "{tmp}/class40"), 0, "wrote 40 students")
ONE_EXERCISE = Here((PY, "-m", "pytest", "tests/exercises", "--exercise", "activations.softmax", "-p",
                     "no:cacheprovider"), 1, "not attempted")

COVERED = {
    # README.md
    "python3 -m pip install -r requirements/dev.txt && nox -s learn": ByNox("learn", STATUS),
    "python3 -m pip install -r requirements/dev.txt && nox -s tests": ByCI(),
    "nox -s learn": ByNox("learn", STATUS),
    "nox -s learn --": ByNox("learn", CLI),
    "nox -s tests": ByCI(),
    'nox -s "tests(device=\'cpu\')"': ByCI(),  # the cpu half of `nox -s tests`
    "pip install -e .": ByCI(),  # what every nox session installs
    "torchkata": STATUS,
    "torchkata status": STATUS,
    "torchkata check [EXERCISE]": CLI,
    "torchkata explain [EXERCISE]": ByTest("test_cli.py::test_explain_prints_the_lesson_in_the_chosen_language"),
    "torchkata hint [EXERCISE]": ByTest("test_cli.py::test_hints_come_one_at_a_time_and_are_remembered"),
    "torchkata watch": ByTest("test_cli.py::test_watch_grades_the_exercise_being_edited_and_keeps_the_others"),
    "torchkata reset EXERCISE": ByTest("test_cli.py::test_reset_restores_one_stub_and_keeps_a_backup"),
    "torchkata solution EXERCISE": ByTest("test_cli.py::test_solution_only_after_passing"),
    "torchkata plot activations": ByTest("test_cli.py::test_plots_are_png_files"),
    "python -m torchkata.core.digests --write": Here((PY, "-m", "torchkata.core.digests", "--write"), 0, "wrote"),
    "pytest tests/exercises --exercise activations.softmax": ONE_EXERCISE,
    "torchkata grade": SAMPLE,
    # docs/grading.md
    "python3 -m pip install -r requirements/dev.txt": ByCI(),
    "nox -s grade": ByNox("grade", SAMPLE),
    "nox -s grade -- submissions/ --out grades": ByNox("grade", GRADE),
    "nox -s grade -- alice/ bob.zip": ByNox("grade", ByTest("test_classroom.py::test_zip_submissions_and_unsafe_members")),
    "nox -s grade -- submissions/ --shard ${{ matrix.shard }}/4 --out grades-${{ matrix.shard }}":
        ByNox("grade", ByTest("test_classroom.py::test_shards_merge_into_the_same_reports")),
    "nox -s grade -- merge grades-*/grades.json --out grades": ByNox("grade", GRADE),
    "torchkata grade ...": GRADE,
    "torchkata grade merge SHARD1/grades.json SHARD2/grades.json ... --out grades": GRADE,
    "torchkata grade merge": GRADE,
    "torchkata gradescope-autograder autograder --torch-index URL":
        ByTest("test_gradescope.py::test_setup_takes_torch_from_the_index_the_bundle_names_and_refuses_what_is_not_one"),
    "python benchmarks/check_times.py": Measurement(CLI),  # hyperfine timing `torchkata check`
    "torchkata check EXERCISE": CLI,
    "python benchmarks/check_times.py --runs 2": Measurement(CLI),
    "TORCHKATA_WATCH=setprofile": ByTest("test_tripwire.py::test_torchkata_watch_setprofile_asks_for_the_older_route"),
    "python benchmarks/check_times.py --before REV": Measurement(CLI),
    "python benchmarks/grading.py --students 40": Here((PY, "benchmarks/grading.py", "--students", "2", "--jobs", "2"), 0,
                                                       "projected for 1000 complete students"),
    "python benchmarks/check_times.py --runs 5 --before 25cf854 --only networks.Model --only training.sgd_step "
    "--only training.train_step --only capstone.fit --only training.zero_grad --only activations.relu": Measurement(CLI),
    "python benchmarks/check_times.py --runs 3 --before 25cf854": Measurement(CLI),
    "python benchmarks/watch_cost.py": Here((PY, "benchmarks/watch_cost.py", "--rounds", "1", "--only",
                                             "training.zero_grad"), 0, "| `training.zero_grad` |"),
    "python benchmarks/watch_cost.py --rounds 3": Here((PY, "benchmarks/watch_cost.py", "--rounds", "1", "--only",
                                                        "training.zero_grad"), 0, "| `training.zero_grad` |"),
    "python benchmarks/watch_routes.py": Here((PY, "benchmarks/watch_routes.py", "--repeat", "1"), 0,
                                              "| which learner code ran | yes |"),
    "nox -s bench_grading -- --students 40": ByNox("bench_grading", Here(
        (PY, "benchmarks/grading.py", "--students", "2", "--jobs", "2"), 0, "projected for 1000 complete students")),
    "nox -s gradescope": ByCI(),  # .ci/run runs it: the bundle set up and run in stand-ins of Gradescope's images
    "nox -s pythons": ByCI(),  # .ci/run runs it: the suite on Python 3.10 and 3.13
    "python3 -m venv ~/.venvs/torchkata && . ~/.venvs/torchkata/bin/activate": ByCI(),  # .ci/run works in a venv
    # docs/cuda.md
    'nox -s "tests(device=\'cuda\')"': OnGpu("docs/cuda.md"),
    "pytest --impl=solutions --device=cuda": OnGpu("docs/cuda.md"),
    "pytest --isolate --device=cuda": OnGpu("docs/cuda.md"),
    "pytest tests/exercises --device=cuda --impl=solutions": OnGpu("docs/cuda.md"),
    "torchkata grade class40 --jobs 16": OnGpu("docs/cuda.md"),
    "torchkata check training.train_step --device cuda": OnGpu("docs/cuda.md"),
    "torchkata check networks.layer_summary --device cuda": OnGpu("docs/cuda.md"),
    "pytest tests --device=cuda": OnGpu("docs/cuda.md"),
    "pytest benchmarks --device=cuda --impl=solutions": OnGpu("docs/benchmarks.md"),
    "pytest --isolate": ByTest("test_isolation.py::test_hostile_code_is_contained"),
    "pytest tests/exercises": ByTest("test_plugin.py::test_stub_reads_as_not_attempted_with_where_to_start"),
    "TORCHKATA_USE_INSTALLED_TORCH=1 nox -s learn": ByNox("learn", STATUS),
    "pip install torch": ByTest("test_docs_commands.py::test_pages_warn_against_a_plain_torch_install"),
    # docs/languages.md
    "torchkata --lang zh": LANGUAGE,
    "torchkata explain activations.softmax": ByTest("test_cli.py::test_explain_prints_the_lesson_in_the_chosen_language"),
    "torchkata check": CLI,
    "TORCHKATA_LANG=en torchkata check": LANGUAGE,
    "TORCHKATA_LANG=zh torchkata grade merge":
        ByTest("test_classroom.py::test_merge_writes_chinese_reports_from_grades_graded_in_english"),
    "torchkata grade submissions/ --lang zh":
        ByTest("test_classroom.py::test_a_class_graded_in_chinese_gets_its_reports_and_feedback_in_chinese"),
    "nox -s messages": ByNox("messages", ByTest("test_messages.py::test_the_template_is_up_to_date_with_the_code")),
    # docs/benchmarks.md
    "nox -s bench": ByNox("bench", BENCH),
    "nox -s bench -- --impl=exercises": ByNox("bench", ByTest("test_bench.py::test_stubs_are_not_timed_and_their_rows_say_so")),
    "nox -s bench -- --impl=exercises -k softmax": ByNox("bench", ByTest("test_bench.py::test_stubs_are_not_timed_and_their_rows_say_so")),
    "nox -s bench -- --impl=exercises --benchmark-compare": ByNox("bench", BENCH),
    "nox -s bench -- -k capstone": ByNox("bench", BENCH),
    'nox -s "bench(device=\'cuda\')"': OnGpu("docs/benchmarks.md"),
    'nox -s "bench(device=\'cpu\')"': ByNox("bench", BENCH),
    # docs/measured.md
    "bash .ci/run": ByCI(),
    "python benchmarks/make_class.py class40": MAKE_CLASS,
    "pip install -r requirements/torch-cpu.txt -e .": ByCI(),
    'python -c "import torch"': Here((PY, "-c", "import torch"), 0, ""),
    "torchkata check activations.relu": CLI,
    "torchkata check activations.softmax": CLI,
    "torchkata grade class40 --jobs 2": GRADE,
    "nox -s learn -- check activations.relu": ByNox("learn", CLI),
    "pytest --impl=STUDENT": ByTest("test_classroom.py::test_each_student_gets_what_a_lone_pytest_run_gives"),
    "pytest --impl=STUDENT --isolate": ByTest("test_classroom.py::test_each_student_gets_what_a_lone_pytest_run_gives"),
    "pytest tests/exercises --impl=solutions -q": ByCI(),
    "pytest tests/exercises --impl=solutions": ByCI(),
    "python -m pytest tests/core -q": ByCI(),  # tests/core is part of `nox -s tests`
    "pytest tests/exercises --impl=solutions --isolate -q": ByTest("test_isolation.py::test_hostile_code_is_contained"),
}
for timing, inner in [("hyperfine -N 'python -c \"import torch\"'", Here((PY, "-c", "import torch"), 0, "")),
                      ("hyperfine -N 'python -m torchkata status'", STATUS),
                      ("hyperfine -N 'python -m torchkata check activations.softmax'", CLI)]:
    COVERED[timing] = Measurement(inner)


def documented() -> dict[str, str]:
    """Every command shown in the pages -> the page it is on."""
    found = {}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for language, block in re.findall(r"```([^\n]*)\n(.*?)```", text, re.S):
            for line in block.splitlines():
                line = re.sub(r"\s+#\s.*$", "", line).strip()
                # A shell block is all commands; elsewhere only what follows a prompt or a CI `run:`.
                command = line if language == "bash" else \
                    (re.match(r"^(?:\$ |- run: |run: )(.*)", line) or [None, ""])[1]
                if command.startswith(PROGRAMS):
                    found.setdefault(command, page.name)
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for span in re.findall(r"`([^`\n]+)`", prose):
            span = span.strip()
            if span.startswith(PROGRAMS) and not span.startswith("torchkata/"):
                found.setdefault(span, page.name)
    return found


def _long_measurements() -> set[str]:
    """The measured page's long hyperfine lines (several runs in one), covered through their parts."""
    return {c for c in documented() if c.startswith("hyperfine") and c not in COVERED}


def test_every_documented_command_is_covered():
    missing = {c: page for c, page in documented().items() if c not in COVERED and not c.startswith("hyperfine ")}
    assert not missing, f"commands in the docs that nothing here runs (add each to COVERED): {missing}"
    for timing in _long_measurements():
        inner = re.findall(r"python -m (?:torchkata|pytest)[^'\"]*", timing)
        assert inner, f"a timing command whose timed commands are not named: {timing}"


def test_nothing_covered_has_left_the_pages():
    stale = set(COVERED) - set(documented())
    assert not stale, f"COVERED lists commands no page shows any more: {stale}"


def _tests_named() -> set[str]:
    names = set()
    for path in HARNESS.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names.update(f"{path.name}::{node.name}" for node in tree.body if isinstance(node, ast.FunctionDef))
    return names


def _nox_sessions() -> set[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any("session" in ast.unparse(d) for d in node.decorator_list)}


def test_every_named_test_and_nox_session_exists():
    tests, sessions = _tests_named(), _nox_sessions()
    for command, coverage in COVERED.items():
        if isinstance(coverage, ByNox):
            assert coverage.session in sessions, f"{command}: noxfile.py has no session {coverage.session!r}"
            coverage = coverage.then
        if isinstance(coverage, Measurement):
            coverage = coverage.inner
        if isinstance(coverage, ByTest):
            assert coverage.test in tests, f"{command}: no test {coverage.test} in tests/harness"


def test_gpu_commands_say_where_they_were_last_run():
    for command, coverage in COVERED.items():
        if isinstance(coverage, OnGpu):
            page = (ROOT / coverage.page).read_text(encoding="utf-8")
            stamp = re.search(r"\*\*Last run on a GPU:\*\* (\d{4}-\d\d-\d\d), ([^,]+)", page)
            assert stamp, f"{command}: {coverage.page} must say when and where it was last run on a GPU"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m pip install --quiet -r requirements/dev.txt" in ci and "nox -s tests" in ci


def test_pages_warn_against_a_plain_torch_install():
    page = (ROOT / "docs" / "cuda.md").read_text(encoding="utf-8")
    assert "a plain `pip install torch` pulls a multi-GB CUDA build" in page


RUN_HERE = sorted({c for c in COVERED.values() if isinstance(c, Here)} |
                  {c.inner for c in COVERED.values() if isinstance(c, Measurement) and isinstance(c.inner, Here)} |
                  {c.then for c in COVERED.values() if isinstance(c, ByNox) and isinstance(c.then, Here)},
                  key=lambda h: h.argv)


@pytest.mark.parametrize("command", RUN_HERE, ids=lambda h: " ".join(h.argv[1:]))
def test_documented_commands_run(command, tmp_path):
    digests = ROOT / "torchkata" / "tests.sha256"
    before = digests.read_bytes()
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command.argv]
    run = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == command.status, run.stdout[-3000:] + run.stderr[-3000:]
    assert command.says in run.stdout + run.stderr
    assert digests.read_bytes() == before, "a documented command changed the published digests"
