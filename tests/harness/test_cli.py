"""The learner's command line, used as a learner would: on a copy of exercises/."""

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .grading import EXERCISES, SOLUTIONS


@pytest.fixture
def checkout(tmp_path):
    """A learner's folder: a copy of the stubs, with the activations module solved."""
    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SOLUTIONS / "activations.py", folder / "activations.py")
    return folder


def installed_env(**extra):
    """The environment of an installed torchkata: no PYTHONPATH pointing into the checkout."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"COLUMNS": "160", **extra}


def torchkata(folder: Path, *args, timeout=120, lang="en"):
    env = installed_env()
    return subprocess.run([sys.executable, "-m", "torchkata", *args, "--exercises", str(folder), "--lang", lang],
                          cwd=folder.parent, capture_output=True, text=True, timeout=timeout, env=env)


def replace(folder: Path, module: str, code: str):
    with open(folder / f"{module}.py", "a", encoding="utf-8") as handle:
        handle.write("\n\n" + code.strip() + "\n")


def test_status_on_untouched_stubs_grades_nothing_and_shows_every_exercise(tmp_path):
    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    result = torchkata(folder, "status")
    assert result.returncode == 0, result.stderr
    assert "0/40 exercises done" in result.stdout
    assert result.stdout.count("not attempted") == 40
    assert "Next: activations.sigmoid" in result.stdout and "activations.py:" in result.stdout
    assert "Grading" not in result.stdout


def test_status_grades_what_changed_then_remembers(checkout):
    first = torchkata(checkout, "status")
    assert "8/40 exercises done" in first.stdout, first.stdout
    assert "Next: initialization.calculate_fan_in_and_fan_out" in first.stdout
    assert (checkout.parent / ".torchkata" / "progress.json").exists()
    assert (checkout.parent / ".torchkata" / ".gitignore").read_text() == "*\n"
    again = torchkata(checkout, "status", lang="zh")
    assert "已完成 8/40" in again.stdout and "未开始" in again.stdout


def test_check_passes_fails_and_says_not_attempted(checkout):
    passed = torchkata(checkout, "check", "activations.softmax")
    assert passed.returncode == 0 and "passes every test" in passed.stdout
    torchkata(checkout, "status")  # grades the rest of activations
    stub = torchkata(checkout, "check")  # the next unfinished exercise
    assert stub.returncode == 1 and "initialization.calculate_fan_in_and_fan_out is not attempted yet" in stub.stdout
    replace(checkout, "training", "def zero_grad(params):\n    for p in params:\n        if p.grad is not None:\n            p.grad.zero_()")
    wrong = torchkata(checkout, "check", "training.zero_grad")
    assert wrong.returncode == 1 and "is not right yet" in wrong.stdout and "p.grad = None" in wrong.stdout


@pytest.mark.parametrize("code,expected", [
    ("def zero_grad(params):\n    while True:\n        pass", "did not finish in 8 s"),
    ("import os\ndef zero_grad(params):\n    os._exit(3)", "exited with status 3"),
    ("def zero_grad(params):\n    return (", "SyntaxError"),
], ids=["infinite_loop", "os_exit", "syntax_error"])
def test_check_survives_code_that_hangs_crashes_or_does_not_parse(checkout, code, expected):
    replace(checkout, "training", code)
    # A check that did not kill the loop would run into the 60 s limit here (TimeoutExpired).
    result = torchkata(checkout, "check", "training.zero_grad", "--timeout", "8", timeout=60)
    assert result.returncode == 1
    assert expected in result.stdout, result.stdout + result.stderr


def test_hints_come_one_at_a_time_and_are_remembered(checkout):
    first = torchkata(checkout, "hint", "losses.cross_entropy")
    second = torchkata(checkout, "hint", "losses.cross_entropy")
    third = torchkata(checkout, "hint", "losses.cross_entropy", lang="zh")
    fourth = torchkata(checkout, "hint", "losses.cross_entropy")
    assert "Hint 1 of 3" in first.stdout and "raw logits" in first.stdout
    assert "Hint 2 of 3" in second.stdout
    assert "提示 3/3" in third.stdout and "gather" in third.stdout
    assert "Hint 3 of 3" in fourth.stdout and "last hint" in fourth.stdout


def test_solution_only_after_passing(checkout):
    locked = torchkata(checkout, "solution", "losses.mse_loss")
    assert locked.returncode == 1 and "unlocks once your version passes" in locked.stdout
    shown = torchkata(checkout, "solution", "activations.softmax")
    assert shown.returncode == 0 and "def softmax" in shown.stdout


def test_reset_restores_one_stub_and_keeps_a_backup(checkout):
    before = (checkout / "activations.py").read_text()
    result = torchkata(checkout, "reset", "activations.relu")
    assert result.returncode == 0, result.stdout + result.stderr
    after = (checkout / "activations.py").read_text()
    relu = re.search(r"def relu\(x.*?(?=\ndef )", after, flags=re.S).group(0)
    assert 'raise NotImplementedError("relu: replace this line' in relu
    assert "def sigmoid(x: torch.Tensor)" in after and "return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))" in after  # others kept
    backups = list((checkout.parent / ".torchkata" / "backups").glob("activations.relu-*.py"))
    assert len(backups) == 1 and "torch.clamp(x, min=0)" in backups[0].read_text()
    assert before != after
    assert "already the untouched stub" in torchkata(checkout, "reset", "activations.relu").stdout


def test_plots_are_png_files(checkout, tmp_path):
    for kind in ("activations", "init", "dropout", "training"):
        result = torchkata(checkout, "plot", kind, "--out", str(tmp_path / "plots"))
        assert result.returncode == 0, result.stdout + result.stderr
        png = tmp_path / "plots" / f"{kind}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
        assert str(png) in result.stdout.replace("\n", "")


def test_watch_regrades_on_save_and_moves_on(tmp_path):
    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    env = installed_env(PYTHONUNBUFFERED="1")
    watcher = subprocess.Popen([sys.executable, "-m", "torchkata", "watch", "--max-checks", "1", "--exercises",
                                str(folder), "--lang", "en"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert "Watching" in watcher.stdout.readline()
        first = watcher.stdout.readline()  # graded at start, before any save
        replace(folder, "activations",
                "def sigmoid(x):\n    e = torch.exp(-x.abs())\n    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))")
        output, _ = watcher.communicate(timeout=90)
    finally:
        watcher.kill()
    assert "activations.sigmoid is not attempted yet" in first, first
    assert "activations.sigmoid passes every test" in output
    assert "On to the next exercise: activations.sigmoid_derivative" in output


def test_watch_misses_no_save_made_while_it_starts(tmp_path):
    """A save made after the command started but before its watcher is up (here: while the
    first grading runs) is graded all the same."""
    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    watcher = subprocess.Popen([sys.executable, "-m", "torchkata", "watch", "--max-checks", "1", "--exercises",
                                str(folder), "--lang", "en"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=installed_env(PYTHONUNBUFFERED="1"))
    try:
        # "Watching ..." is said once torch has loaded, before the first grading and before the
        # watcher starts: a fixed sleep instead would race with a slow start on a busy machine.
        assert "Watching" in watcher.stdout.readline()
        replace(folder, "activations", "def tanh(x):\n    return x")  # not the exercise it starts on
        output, _ = watcher.communicate(timeout=90)
    finally:
        watcher.kill()
    assert "activations.py saved: grading activations.tanh" in output, output
    assert "activations.tanh is not right yet" in output, output


def test_watch_keeps_watching_once_every_exercise_is_done(tmp_path, monkeypatch):
    """After the last pass it says the course is done, stays, and grades the next save."""
    import io

    from rich.console import Console

    from torchkata.learn.kata import Kata
    from torchkata.learn.views import View
    from torchkata.learn.watching import on_save

    folder = tmp_path / "exercises"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    kata, view = Kata(folder), View(Console(file=io.StringIO(), width=120, highlight=False))
    monkeypatch.setattr(kata, "next_exercise", lambda: None)  # every other exercise is done
    tanh = kata.pick("activations.tanh")
    replace(folder, "activations", "def tanh(x):\n    return 2 * torch.sigmoid(2 * x) - 1")
    current = on_save(kata, view, tanh, ["activations.py"])
    assert current == tanh and "Every exercise is done" in view.console.file.getvalue()
    replace(folder, "activations", "def tanh(x):\n    return x")
    assert on_save(kata, view, current, ["activations.py"]) == tanh
    assert "activations.tanh is not right yet" in view.console.file.getvalue()


@pytest.mark.parametrize("code,check", [
    ("def zero_grad(params):\n    while True:\n        pass", lambda run: run.timed_out),
    ("import os\ndef zero_grad(params):\n    os._exit(3)", lambda run: "exited with status 3" in run.crashed),
    ("def zero_grad(params):\n    return (", lambda run: "SyntaxError" in run.verdicts["training.zero_grad"].said("en")[0]),
    ("def zero_grad(params):\n    for p in params:\n        p.grad = None",
     lambda run: run.verdicts["training.zero_grad"].verdict == "done"),
], ids=["infinite_loop", "os_exit", "syntax_error", "correct"])
@pytest.mark.forks
def test_watch_grader_forks_survive_what_the_code_does(checkout, code, check):
    from torchkata.engine.session import WarmGrader

    replace(checkout, "training", code)
    run = WarmGrader().grade(checkout, ["training.zero_grad"], timeout=5)
    assert check(run), run


def test_check_on_cuda_is_refused_at_start_where_there_is_none(checkout):
    import torch

    if torch.version.cuda is not None and shutil.which("nvidia-smi"):
        pytest.skip("this machine may have a GPU: `check --device cuda` is run on the GPU machine (docs/cuda.md)")
    result = torchkata(checkout, "check", "activations.relu", "--device", "cuda")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--device cuda: CUDA is not available here" in result.stderr and "Use --device cpu" in result.stderr
    assert "Grading" not in result.stdout


@pytest.mark.parametrize("width", [60, 80, 120])
def test_status_shows_every_id_whole_at_any_width(checkout, width):
    """With a long failure message beside a row (the case that cut every id to '…' at 80
    columns), every exercise id is printed whole, and no line is wider than the terminal."""
    import io

    import torch
    from rich.console import Console

    from torchkata.core import source
    from torchkata.core.failures import Failure, Rule
    from torchkata.core.i18n import M_
    from torchkata.core.manifest import load
    from torchkata.core.verdicts import ExerciseResult
    from torchkata.engine.learner import call_said
    from torchkata.learn.kata import Kata
    from torchkata.learn.views import View

    kata, view = Kata(checkout), View(Console(width=width, file=io.StringIO(), highlight=False))
    softmax = load().get("activations.softmax")
    failure = Failure(Rule.VALUES, M_("{call} returned what {label} gives, not the right answer: {advice}",
                                      call=call_said("softmax", [torch.zeros(4, 5)], {"dim": 1}),
                                      label="softmax over dim 0",
                                      advice="normalise along `dim`, not along the first axis " * 2))
    kata.progress.record(softmax.id, ExerciseResult("wrong", failures=[failure]), source.exercise_hash(checkout, softmax))
    for exercise in load():
        if exercise.module == "activations" and exercise.id != softmax.id:
            kata.progress.record(exercise.id, ExerciseResult("done"), source.exercise_hash(checkout, exercise))
    view.status(kata.curriculum, kata.states(), kata.where)
    screen = view.console.file.getvalue()
    for exercise in load():
        assert exercise.id in screen, f"{exercise.id} is not whole at {width} columns:\n{screen}"
    assert "softmax(…) returned" in screen, "the failure's first words are shown (the inputs elided), beside or under its row"
    assert max(len(line) for line in screen.splitlines()) <= width


def test_watch_grades_the_exercise_being_edited_and_keeps_the_others(tmp_path):
    """The scenario a learner met: sigmoid and sigmoid_derivative done, tanh being written.
    A save grades tanh (only tanh: the others' code did not change) and moves on; then an
    edit to sigmoid_derivative is graded as the exercise being edited, and tanh keeps its verdict."""
    import io

    from rich.console import Console

    from torchkata.core import source
    from torchkata.engine import session
    from torchkata.learn.kata import Kata
    from torchkata.learn.views import View
    from torchkata.learn.watching import on_save

    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    reference = (SOLUTIONS / "activations.py").read_text()

    def write(name, text=None):
        replace(folder, "activations", text or source.definition_text(reference, name))

    write("sigmoid")
    write("sigmoid_derivative")
    graded = []

    class Spy:
        @staticmethod
        def grade(exercises, ids, **options):
            graded.append(list(ids))
            return session.grade(exercises, ids, **options)

    kata, view = Kata(folder), View(Console(file=io.StringIO(), width=120, highlight=False))
    kata.grader = Spy
    kata.states()
    assert graded == [["activations.sigmoid", "activations.sigmoid_derivative"]]
    current = kata.next_exercise()
    assert current.id == "activations.tanh"

    write("tanh")
    graded.clear()
    current = on_save(kata, view, current, ["activations.py"])
    screen = view.console.file.getvalue()
    assert graded == [["activations.tanh"]], "only the exercise whose code changed is regraded"
    assert "activations.tanh passes every test" in screen
    assert current.id == "activations.tanh_derivative" and "On to the next exercise: activations.tanh_derivative" in screen

    write("sigmoid_derivative", "def sigmoid_derivative(x):\n    return sigmoid(x)")  # wrong: s, not s(1-s)
    graded.clear()
    current = on_save(kata, view, current, ["activations.py"])
    assert graded == [["activations.sigmoid_derivative"]]
    assert current.id == "activations.sigmoid_derivative"
    assert "activations.sigmoid_derivative is not right yet" in view.console.file.getvalue()
    assert kata.known_state(kata.pick("activations.tanh")).verdict == "done"
    assert kata.known_state(kata.pick("activations.sigmoid")).verdict == "done"

    # Two exercises changed in one save: the one being edited in full, the other in a line.
    write("sigmoid_derivative")
    write("relu", "def relu(x):\n    return x")  # wrong: negative values kept
    graded.clear()
    current = on_save(kata, view, current, ["activations.py"])
    assert graded == [["activations.sigmoid_derivative", "activations.relu"]]
    assert "activations.sigmoid_derivative passes every test" in view.console.file.getvalue()
    assert "activations.relu changed too: wrong (torchkata check activations.relu says more)" in \
        view.console.file.getvalue()


def test_shared_options_work_before_or_after_the_command(checkout):
    env = installed_env()

    def run(*args):
        return subprocess.run([sys.executable, "-m", "torchkata", *args], cwd=checkout.parent, capture_output=True,
                              text=True, timeout=120, env=env)

    before = run("--lang", "zh", "--exercises", str(checkout), "status")
    after = run("status", "--lang", "zh", "--exercises", str(checkout))
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert "已完成 8/40" in before.stdout and before.stdout == after.stdout
    overridden = run("--lang", "zh", "status", "--lang", "en", "--exercises", str(checkout))
    assert "8/40 exercises done" in overridden.stdout


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("folder,reason", [("/nonexistent", "no such folder"), ("/tmp", "not a kata folder")])
def test_exercises_that_is_not_a_kata_folder_is_refused(where, folder, reason):
    args = ["--exercises", folder, "status"] if where == "before" else ["status", "--exercises", folder]
    run = subprocess.run([sys.executable, "-m", "torchkata", *args], capture_output=True, text=True, timeout=60,
                         env=installed_env())
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"--exercises {folder}: {reason}" in run.stderr and "0/40" not in run.stdout


def test_edited_tests_are_said_on_every_run(checkout, monkeypatch):
    """A learner who changed a test's oracle gets no silent 'Well done!'."""
    import io

    from rich.console import Console

    from torchkata.cli import run_command
    from torchkata.core import digests
    from torchkata.learn.kata import Kata
    from torchkata.learn.views import View

    kata, view = Kata(checkout), View(Console(file=io.StringIO(), width=200, highlight=False))
    args = type("Args", (), {"exercise": "activations.relu"})()
    run_command(kata, view, "status", args)
    assert "modified tests" not in view.console.file.getvalue()
    published = digests.published()
    monkeypatch.setattr(digests, "published", lambda: {**published, "tests/exercises/test_activations.py": "0" * 64})
    run_command(kata, view, "status", args)
    assert "Your verdicts come from modified tests: tests/exercises/test_activations.py" in view.console.file.getvalue()


def test_a_changed_test_file_is_found(tmp_path):
    import shutil

    from torchkata.core import digests

    shutil.copytree(EXERCISES.parent / "tests", tmp_path / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    assert digests.changed_tests(tmp_path) == []
    oracle = tmp_path / "tests" / "exercises" / "test_activations.py"
    oracle.write_text(oracle.read_text().replace("torch.relu", "torch.abs"))
    (tmp_path / "tests" / "exercises" / "test_extra.py").write_text("")
    assert digests.changed_tests(tmp_path) == ["tests/exercises/test_activations.py", "tests/exercises/test_extra.py"]


def test_reset_needs_no_git(tmp_path):
    """A learner who downloaded a zip (no .git anywhere) can still reset an exercise."""
    folder = tmp_path / "kata" / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    replace(folder, "activations", "def relu(x):\n    return x.clamp(min=0)")
    env = installed_env(GIT_DIR=str(tmp_path / "no-such-repo"), PATH="/nonexistent")  # no git to run either
    result = subprocess.run([sys.executable, "-m", "torchkata", "reset", "activations.relu", "--exercises", str(folder)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    from torchkata.core import source

    text = (folder / "activations.py").read_text()
    assert source.is_stub(text, "relu") and "x.clamp(min=0)" not in text


def test_check_shows_what_the_code_printed_and_each_failure_once(checkout):
    replace(checkout, "training", "def zero_grad(params):\n    print('debug: zero_grad was called')")
    result = torchkata(checkout, "check", "training.zero_grad")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Your code printed (in the first failing test):" in result.stdout
    assert "debug: zero_grad was called" in result.stdout
    bullets = [line for line in result.stdout.splitlines() if line.startswith("  • ")]
    assert bullets and len(bullets) == len(set(bullets)), "a failure text is shown once, with its count"


def test_no_test_for_the_exercise_reads_as_edited_tests_not_as_a_crash(checkout, monkeypatch):
    """A learner who deleted TestRelu gets no test run at all (pytest's exit status 5): that
    is the tests' state, not the learner's code calling os._exit."""
    from torchkata.engine import session

    real = session._pytest_args
    # As if TestRelu were deleted: pytest collects the module and selects nothing of relu.
    monkeypatch.setattr(session, "_pytest_args", lambda *a: [*real(*a), "-k", "no_test_has_this_name"])
    run = session.grade(checkout, ["activations.relu"])
    assert run.grading_error.startswith("no test grades activations.relu: tests/exercises/test_activations.py has "
                                        "no test for it"), run
    assert "Restore the published tests" in run.grading_error
    assert not run.crashed and not run.verdicts


def test_an_unknown_exercise_is_a_usage_error_that_suggests_the_one_meant(checkout):
    typo = torchkata(checkout, "check", "activations.softmx")
    assert typo.returncode == 2, typo.stdout + typo.stderr
    assert "no exercise 'activations.softmx'; did you mean activations.softmax?" in typo.stderr
    wrong_module = torchkata(checkout, "check", "activations.dropout")
    assert "did you mean regularization.dropout?" in wrong_module.stderr
    unknown = torchkata(checkout, "check", "convolution")
    assert unknown.returncode == 2 and "no exercise 'convolution': `torchkata status` lists all 40." in unknown.stderr
    assert max(len(line) for line in unknown.stderr.splitlines()) <= 80


@pytest.mark.parametrize("text", [
    "activations.softmax(x, dim=1) 的返回值和 softmax（沿 dim 0）的结果一样，不是正确答案：每一行应当各自归一化，"
    "用 dim 参数，不要写死维度。这一句很长，用来检查折行是否按终端的“显示宽度”进行。",
    "softmax(x, 1): 3 of 20 values are wrong; the largest difference is 0.5 at index (1, 2): got 0.1, expected 0.6.",
    "a/path/without/spaces/" * 6,
], ids=["chinese", "english", "long-word"])
def test_a_message_wraps_to_the_terminal_by_display_width(text):
    """Chinese has no spaces and each character takes two cells: at 80 columns a wrapped
    message must stay inside the line, lose nothing, and never start a line with a comma."""
    from rich.cells import cell_len

    from torchkata.core.terminal import wrap

    lines = wrap(text, 76)
    assert len(lines) > 1 and all(cell_len(line) <= 76 for line in lines), lines
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert not any(line[:1] in "，。：；、）" for line in lines), lines
    assert not any(line[-1:] in "（“" for line in lines), lines
    english = [line.split() for line in lines] if text.isascii() and " " in text else []
    assert all(word in text.split() for words in english for word in words), "English breaks at spaces only"


def test_explain_prints_the_lesson_in_the_chosen_language(checkout):
    english = torchkata(checkout, "explain", "activations.softmax")
    assert english.returncode == 0, english.stderr
    assert "What activations.softmax teaches:" in english.stdout
    assert "Subtract the maximum along `dim` first" in english.stdout  # the stub's docstring, reflowed
    chinese = torchkata(checkout, "explain", "activations.softmax", lang="zh")
    assert chinese.returncode == 0, chinese.stderr
    assert "activations.softmax 的要点" in chinese.stdout and "dim" in chinese.stdout
    assert "Subtract the maximum" not in chinese.stdout
    unknown = torchkata(checkout, "explain", "activations.nope")
    assert unknown.returncode == 2 and "activations.nope" in unknown.stderr


def test_the_last_lang_given_is_remembered_and_the_environment_overrides_it(checkout):
    def status(*args, **env):
        return subprocess.run([sys.executable, "-m", "torchkata", "status", "--exercises", str(checkout), *args],
                              cwd=checkout.parent, capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in installed_env(LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="").items()
                                   if k != "TORCHKATA_LANG"} | env)
    assert "exercises done" in status().stdout  # the locale says English
    assert "已完成" in status("--lang", "zh").stdout
    assert "已完成" in status().stdout, "the last --lang given is remembered in the progress file"
    assert "exercises done" in status(TORCHKATA_LANG="en").stdout, "the environment comes before the memory"
    assert "exercises done" in status("--lang", "en").stdout
    assert "exercises done" in status().stdout


def test_switching_language_shows_a_remembered_failure_in_the_new_language_without_regrading(checkout):
    """A verdict graded in English, read in Chinese: its failures are records, so they are said
    in Chinese at once; nothing is regraded, and no exercise counts as edited (watch would
    otherwise announce exercises the learner never touched)."""
    from torchkata.core import source
    from torchkata.core.failures import Failure, Rule
    from torchkata.core.i18n import M_
    from torchkata.core.verdicts import ExerciseResult
    from torchkata.learn.kata import Kata

    english = Kata(checkout, "en")
    sigmoid, softmax = (next(e for e in english.curriculum if e.id == i) for i in ("activations.sigmoid",
                                                                                   "activations.softmax"))
    wrong = ExerciseResult("wrong", failures=[Failure(Rule.RETURN_TYPE, M_(
        "{call} returned None; expected a tensor of shape {shape}. Did you forget the `return`?", call="softmax(x)",
        shape=(4, 5)))])
    for exercise, result in ((sigmoid, ExerciseResult("done")), (softmax, wrong)):
        english.progress.record(exercise.id, result, source.exercise_hash(checkout, exercise))
    english.progress.save()
    chinese = Kata(checkout, "zh")
    assert chinese.known_state(sigmoid).verdict == "done"
    said = chinese.known_state(softmax).said("zh")[0]
    assert "softmax(x)" in said and re.search(r"[\u4e00-\u9fff]", said), said
    assert english.known_state(softmax).said("en")[0].startswith("softmax(x) returned None")
    assert sigmoid not in chinese.changed() and softmax not in chinese.changed()
    assert chinese.next_exercise() != sigmoid


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_syntax_error_points_at_its_line_in_either_language(checkout, lang):
    text = (checkout / "training.py").read_text().rstrip("\n") + "\n\nbroken = (\n"
    line = text.count("\n")  # the unclosed bracket, far from the exercise's own line
    (checkout / "training.py").write_text(text)
    result = torchkata(checkout, "check", "training.zero_grad", lang=lang)
    assert result.returncode == 1
    assert f"training.py:{line}" in result.stdout, result.stdout


@pytest.mark.parametrize("value", ["0", "-5", "nan", "soon"])
def test_a_time_limit_that_is_not_positive_is_refused_before_anything_is_graded(checkout, value):
    """--timeout 0 would record every learner's code as too slow: refused, exit 2, naming the
    argument and the value received, and no verdict stored. (Class grading's limits:
    test_classroom.py::test_bad_input_is_named_with_its_value_and_exits_2.)"""
    result = torchkata(checkout, "check", "activations.sigmoid", "--timeout", value)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--timeout" in result.stderr and repr(value) in result.stderr
    assert not (checkout.parent / ".torchkata").exists()


LANGUAGES_PAGE_MISTAKES = {
    "activations": """
def softmax(x, dim):
    e = torch.exp(x)
    return e / e.sum(dim=0, keepdim=True)""",
    "regularization": """
def dropout(x, p=0.5, training=True):
    if not training:
        return x
    mask = (torch.rand_like(x) < p).to(x.dtype)
    return x * mask / (1 - p)""",
}


def test_the_failure_messages_on_the_languages_page_are_what_the_grader_says(checkout):
    """docs/languages.md shows failures in English and Chinese: each block, verbatim, is
    what `torchkata check` prints at 80 columns for the mistakes it describes."""
    for module, code in LANGUAGES_PAGE_MISTAKES.items():
        replace(checkout, module, code)
    said = ""
    for lang in ("en", "zh"):
        for exercise in ("activations.softmax", "regularization.dropout"):
            result = subprocess.run([sys.executable, "-m", "torchkata", "check", exercise, "--exercises", str(checkout),
                                     "--lang", lang], cwd=checkout.parent, capture_output=True, text=True,
                                    timeout=120, env=installed_env(COLUMNS="80"))
            said += result.stdout
    page = (Path(__file__).resolve().parents[2] / "docs" / "languages.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```text\n(.*?)```", page, re.S)
    assert len(blocks) == 6
    for block in blocks:
        assert block.rstrip("\n") in said, f"docs/languages.md shows what the grader no longer says:\n{block}"


def test_in_chinese_a_learner_reads_chinese_from_the_first_line_to_the_last(checkout):
    """A wrong softmax, a wrong dropout, a stub, a time-out and a pass, checked with --lang zh
    at 80 columns: no English phrase is left outside code (`...`), quoted values ('...', which
    may be the learner's own exception text) and names, and no line is wider than 80 cells."""
    from rich.cells import cell_len

    for module, code in LANGUAGES_PAGE_MISTAKES.items():
        replace(checkout, module, code)
    replace(checkout, "activations", "def relu(x):\n    while True:\n        pass")
    stub = EXERCISES / "activations.py"
    assert "raise NotImplementedError" in stub.read_text()
    said = {}
    for exercise in ("activations.softmax", "regularization.dropout", "initialization.calculate_gain",
                     "activations.relu", "activations.sigmoid"):
        result = subprocess.run([sys.executable, "-m", "torchkata", "check", exercise, "--exercises", str(checkout),
                                 "--lang", "zh", "--timeout", "5"], cwd=checkout.parent, capture_output=True,
                                text=True, timeout=120, env=installed_env(COLUMNS="80"))
        said[exercise] = result.stdout
    assert "通过了全部测试" in said["activations.sigmoid"] and "还没有开始" in said["initialization.calculate_gain"]
    assert "没有在 5 秒内跑完" in said["activations.relu"] and "还不对" in said["activations.softmax"]
    for exercise, text in said.items():
        for line in text.splitlines():
            prose = re.sub(r"'.*'", "", re.sub(r"`[^`]*`", "", line))
            english = re.findall(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,})+\b", prose)
            assert not english, f"{exercise}: English {english} in: {line}"
            assert cell_len(line) <= 80, f"{exercise}: wider than the terminal: {line}"


def test_a_status_row_says_what_went_wrong_not_the_inputs_it_was_found_on(checkout):
    """At 80 columns a row has room for a few words: the call's arguments are elided so the
    mistake itself shows (`check` gives the message whole)."""
    replace(checkout, "activations", LANGUAGES_PAGE_MISTAKES["activations"])
    result = subprocess.run([sys.executable, "-m", "torchkata", "status", "--exercises", str(checkout), "--lang", "en"],
                            cwd=checkout.parent, capture_output=True, text=True, timeout=300,
                            env=installed_env(COLUMNS="80"))
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "activations.softmax " in line)
    row, under = lines[at], lines[at + 1]
    assert "wrong" in row, row
    assert "softmax(…) returned" in row or (under.startswith("    ") and "softmax(…) returned" in under), \
        "beside its row where it fits whole, else under it"


def test_a_failure_that_does_not_fit_beside_its_row_goes_under_it_whole(checkout):
    """At 80 columns a long first line is not cut to a few letters beside the row: it goes
    under the row, wrapped, its words whole."""
    import io

    from rich.console import Console

    from torchkata.core import source
    from torchkata.core.failures import Failure, Rule
    from torchkata.core.i18n import M_
    from torchkata.core.manifest import load
    from torchkata.core.verdicts import ExerciseResult
    from torchkata.learn.kata import Kata
    from torchkata.learn.views import View

    kata, view = Kata(checkout), View(Console(width=80, file=io.StringIO(), highlight=False))
    kaiming = load().get("initialization.kaiming_uniform_")
    replace(checkout, "initialization", "def kaiming_uniform_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'):\n"
                                        "    return tensor")
    failure = Failure(Rule.VALUES, M_("the bound is sqrt(3) * gain / sqrt(fan_in): you swapped the fans"))
    kata.progress.record(kaiming.id, ExerciseResult("wrong", failures=[failure]), source.exercise_hash(checkout, kaiming))
    view.status(kata.curriculum, kata.states(), kata.where)
    lines = view.console.file.getvalue().splitlines()
    at = next(i for i, line in enumerate(lines) if kaiming.id in line)
    assert lines[at].rstrip().endswith("wrong"), lines[at]
    assert lines[at + 1].strip() == "the bound is sqrt(3) * gain / sqrt(fan_in): you swapped the fans"
    assert max(len(line) for line in lines) <= 80


def test_the_time_limit_is_the_learners_code_not_the_graders_start(checkout, tmp_path):
    """A start-up slower than the limit (here every interpreter sleeps 3 s first, as on a
    loaded machine) is the grader's time: a relu that passes still passes under --timeout 2,
    since the limit starts when the suite is ready to call the code."""
    slow = tmp_path / "slow-start"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text("import time\ntime.sleep(3)\n")
    result = subprocess.run([sys.executable, "-m", "torchkata", "--timeout", "2", "check", "activations.relu",
                             "--exercises", str(checkout), "--lang", "en"], cwd=checkout.parent, capture_output=True,
                            text=True, timeout=120, env=installed_env(PYTHONPATH=str(slow)))
    assert result.returncode == 0 and "passes every test" in result.stdout, result.stdout + result.stderr


def test_a_grader_too_slow_to_start_is_a_grading_error_that_says_how_to_give_it_time(checkout, monkeypatch):
    from torchkata.engine import session

    monkeypatch.setattr(session, "STARTUP_SECONDS", 0.05)
    run = session.grade(checkout, ["activations.softmax"], timeout=0.05)
    assert not run.timed_out and not run.verdicts
    said = str(run.grading_error)
    assert "busy or slow" in said and "none of your code had run yet" in said and "--timeout" in said
    assert "did not finish" not in said


EIGHTY_COLUMNS = [
    ["--help"], *([command, "--help"] for command in ("status", "check", "explain", "hint", "watch", "reset",
                                                      "solution", "plot", "grade", "gradescope-autograder")),
    ["grade", "merge", "--help"], ["bogus"], ["check", "--timeout", "0"], ["check", "--timeout", "soon"],
    ["--lang", "fr"], ["plot", "bogus"], ["grade", "merge"], ["--exercises", "/", "status"],
    ["check", "no_such_exercise"], ["check", "activations.relu", "--device", "cuda"],
    ["explain", "activations.sigmoid"], ["hint", "activations.tanh"],
]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_help_refusals_and_errors_fit_80_columns(checkout, lang):
    """Every line the command line prints for help, a refusal, an error, a lesson or a hint is
    at most 80 cells wide at COLUMNS=80 (a Chinese character takes two), in either language."""
    from rich.cells import cell_len

    too_wide = []
    for argv in EIGHTY_COLUMNS:
        folder = [] if "--exercises" in argv else ["--exercises", str(checkout)]
        result = subprocess.run([sys.executable, "-m", "torchkata", *argv, *folder], cwd=checkout.parent,
                                capture_output=True, text=True, timeout=120,
                                env=installed_env(COLUMNS="80", TORCHKATA_LANG=lang))
        assert result.stdout + result.stderr, argv
        too_wide += [(argv, line) for line in (result.stdout + result.stderr).splitlines() if cell_len(line) > 80]
    assert not too_wide, "\n".join(f"{' '.join(argv)}: {line}" for argv, line in too_wide)


def test_a_remembered_language_says_so_in_one_line(checkout):
    env = {k: v for k, v in installed_env().items() if k != "TORCHKATA_LANG"}
    run = functools.partial(subprocess.run, cwd=checkout.parent, capture_output=True, text=True, timeout=120, env=env)
    run([sys.executable, "-m", "torchkata", "hint", "activations.relu", "--exercises", str(checkout), "--lang", "zh"])
    later = run([sys.executable, "-m", "torchkata", "hint", "activations.relu", "--exercises", str(checkout)])
    said = [line for line in later.stderr.splitlines() if "--lang en" in line]
    assert len(said) == 1 and "沿用上次" in said[0], later.stderr
    chosen = run([sys.executable, "-m", "torchkata", "hint", "activations.relu", "--exercises", str(checkout),
                  "--lang", "zh"])
    assert "--lang en" not in chosen.stderr, "said only when the remembered choice decides"
