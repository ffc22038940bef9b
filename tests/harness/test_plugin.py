"""The command line of the grader: --impl, --device, --exercise, and verdicts that can be trusted."""

import pytest
import torch

from .grading import ROOT, SOLUTIONS, grade, submission_with


def run_pytest(*args) -> int:
    return pytest.main([str(ROOT / "tests" / "exercises" / "test_training.py"), f"--rootdir={ROOT}",
                        "-p", "no:cacheprovider", "-q", *args])


def test_cuda_without_cuda_fails_at_start_up(capsys):
    code = run_pytest("--device=cuda", "--impl=solutions")
    if torch.cuda.is_available():
        assert code == 0, "with CUDA present, --device=cuda must run the suite"
    else:
        assert code == pytest.ExitCode.USAGE_ERROR
        assert "--device=cuda: CUDA is not available" in capsys.readouterr().err


def test_cpu_run_says_cuda_was_not_run(capsys):
    assert run_pytest("--impl=solutions", "--exercise=training.zero_grad") == 0
    assert "cuda was NOT run" in capsys.readouterr().out


def test_missing_implementation_folder_is_named(capsys):
    assert run_pytest("--impl=no/such/folder") == pytest.ExitCode.USAGE_ERROR
    assert "no/such/folder" in capsys.readouterr().err


def test_unknown_exercise_lists_the_known_ones(capsys):
    assert run_pytest("--impl=solutions", "--exercise=training.sgd") == pytest.ExitCode.USAGE_ERROR
    err = capsys.readouterr().err
    assert "training.sgd" in err and "training.sgd_step" in err


def test_exercise_option_grades_only_that_exercise(tmp_path):
    verdicts = grade(SOLUTIONS, tmp_path, ("training.zero_grad",))
    assert list(verdicts) == ["training.zero_grad"]
    assert verdicts["training.zero_grad"]["verdict"] == "done" and verdicts["training.zero_grad"]["points"] == 1
    assert verdicts["training.zero_grad"]["failures"] == [] and verdicts["training.zero_grad"]["flags"] == []


def test_a_module_that_does_not_import_costs_only_that_module(tmp_path):
    submission = submission_with(tmp_path, "losses", "def broken(:\n    pass")
    verdicts = grade(submission, tmp_path, ("losses.mse_loss", "training.zero_grad"))
    assert verdicts["training.zero_grad"]["verdict"] == "done"
    # Its code never ran: "could not load", neither right nor wrong, said with the file's own name.
    assert verdicts["losses.mse_loss"]["verdict"] == "could not load"
    assert verdicts["losses.mse_loss"]["messages"][0].startswith("losses.py could not be loaded: SyntaxError at line")
    assert str(submission) not in verdicts["losses.mse_loss"]["messages"][0]


def test_importing_the_course_folder_by_name_is_explained(tmp_path):
    """`from exercises.activations import sigmoid` finds no exercises/ beside a submission
    graded in the sandbox (the checkout's own exercises/ is hidden there, or the import would load
    the instructor's stubs); the message says to import relatively."""
    submission = submission_with(tmp_path, "losses", "from exercises.activations import sigmoid")
    verdicts = grade(submission, tmp_path, ("losses.mse_loss",), "--isolate")
    message = verdicts["losses.mse_loss"]["messages"][0]
    assert verdicts["losses.mse_loss"]["verdict"] == "could not load"
    assert "ModuleNotFoundError" in message and "relative import" in message, message


def test_learner_calling_sys_exit_is_a_wrong_answer_not_a_crash(tmp_path):
    submission = submission_with(tmp_path, "training", "import sys\ndef zero_grad(params):\n    sys.exit(0)")
    verdict = grade(submission, tmp_path, ("training.zero_grad",))["training.zero_grad"]
    assert verdict["verdict"] == "wrong" and "raised SystemExit" in verdict["messages"][0]


def test_torch_not_implemented_error_is_not_mistaken_for_a_stub(tmp_path):
    """A NotImplementedError raised inside torch is a wrong answer, not 'not attempted'."""
    code = ("def zero_grad(params):\n    torch_op_without_kernel()\n\n"
            "def torch_op_without_kernel():\n    error = NotImplementedError('no kernel for this dtype')\n    raise error\n")
    submission = submission_with(tmp_path, "training", code)
    verdict = grade(submission, tmp_path, ("training.zero_grad",))["training.zero_grad"]
    assert verdict["verdict"] == "wrong"


def test_stub_reads_as_not_attempted_with_where_to_start(tmp_path):
    verdict = grade(ROOT / "exercises", tmp_path, ("training.zero_grad",))["training.zero_grad"]
    assert verdict["verdict"] == "not attempted"
    assert "not attempted yet" in verdict["messages"][0] and "training.py" in verdict["messages"][0]


def test_stop_at_verdict_gives_the_same_verdicts_running_fewer_tests(tmp_path, capsys):
    """A submission with one wrong, one stub-like and several correct exercises."""
    submission = submission_with(tmp_path, "activations", "def softmax(x, dim):\n    e = torch.exp(x)\n"
                                 "    return e / e.sum(dim=dim, keepdim=True)\n\n"
                                 "def relu(x):\n    raise NotImplementedError('not yet')")
    ids = ("activations.softmax", "activations.relu", "activations.tanh")
    (tmp_path / "full").mkdir()
    (tmp_path / "short").mkdir()
    full = grade(submission, tmp_path / "full", ids)
    full_out = capsys.readouterr().out
    short = grade(submission, tmp_path / "short", ids, "--stop-at-verdict", "-rs")
    short_out = capsys.readouterr().out
    assert {e: v["verdict"] for e, v in short.items()} == {e: v["verdict"] for e, v in full.items()} == \
        {"activations.softmax": "wrong", "activations.relu": "not attempted", "activations.tanh": "done"}
    assert short["activations.softmax"]["messages"][0] == full["activations.softmax"]["messages"][0]
    assert "skipped" not in full_out and "already failed a test, so its verdict is settled" in short_out


# -- grading errors: the grader's own failure is never the student's wrong answer ------------
def test_an_exception_inside_the_grader_is_a_grading_error_not_wrong(tmp_path, monkeypatch):
    """A bug in torchkata's checks (simulated: the tolerance table breaks) must not cost a
    perfect submission its points; the verdict says grading error, with the reason."""
    import torchkata.engine.checks

    def broken(*args, **kwargs):
        raise KeyError("a bug in the grader")

    monkeypatch.setattr(torchkata.engine.checks, "tolerance", broken)
    verdict = grade(SOLUTIONS, tmp_path, ("activations.relu",))["activations.relu"]
    assert verdict["verdict"] == "grading error"
    assert "the grader failed, not your code" in verdict["messages"][0] and "a bug in the grader" in verdict["messages"][0]


def test_a_wrong_answer_is_still_wrong_beside_the_grading_error_rule(tmp_path):
    submission = submission_with(tmp_path, "activations", "def relu(x):\n    return x.clamp(min=1)")
    assert grade(submission, tmp_path, ("activations.relu",))["activations.relu"]["verdict"] == "wrong"


@pytest.mark.forks
def test_a_sandbox_that_cannot_start_is_a_grading_error(tmp_path, monkeypatch):
    import torchkata.engine.confinement

    def cannot(*args, **kwargs):
        raise PermissionError("mount refused (simulated)")

    monkeypatch.setattr(torchkata.engine.confinement, "confine", cannot)
    verdict = grade(SOLUTIONS, tmp_path, ("training.zero_grad",), "--isolate")["training.zero_grad"]
    assert verdict["verdict"] == "grading error", verdict
    assert "the sandbox could not be set up" in verdict["messages"][0]


@pytest.mark.forks
def test_a_fork_that_cannot_run_autograd_is_a_grading_error_in_the_sandbox(tmp_path, monkeypatch):
    """What an H100 did to forked sandboxes (autograd's GPU threads), simulated: the student's
    perfect answer is not blamed."""
    import torchkata.engine.channel

    def fork_broken(device="cpu"):
        raise torchkata.engine.channel.GradingError("this grading process cannot run autograd on cpu (simulated)")

    monkeypatch.setattr(torchkata.engine.channel, "self_check", fork_broken)
    verdict = grade(SOLUTIONS, tmp_path, ("activations.sigmoid",), "--isolate")["activations.sigmoid"]
    assert verdict["verdict"] == "grading error" and "cannot run autograd" in verdict["messages"][0]


# -- tampering: flagged where it happens; it costs points only when the answer is wrong ---------
PATCHES = "    torch.allclose = lambda *a, **k: True\n    torch.testing.assert_close = lambda *a, **k: None\n"


@pytest.mark.forks
@pytest.mark.parametrize("isolate", [False, True], ids=["in_process", "isolated"])
@pytest.mark.parametrize("body,verdict", [("    return x.clamp(min=0)", "done"), ("    return x", "wrong")],
                         ids=["right_answer", "wrong_answer"])
def test_tampering_is_flagged_and_judged_on_the_answer(tmp_path, isolate, body, verdict):
    submission = submission_with(tmp_path, "activations", "def relu(x):\n" + PATCHES + body)
    graded = grade(submission, tmp_path, ("activations.relu",), *(["--isolate"] if isolate else []))["activations.relu"]
    assert graded["verdict"] == verdict, graded
    assert graded["flags"] == ["patched torch or the grader"]


def test_a_stub_reached_through_another_exercise_is_named(tmp_path):
    """kaiming_normal_ written, the fan helper it uses still a stub: the message names the helper."""
    stub = ("def calculate_fan_in_and_fan_out(tensor):\n"
            "    raise NotImplementedError('calculate_fan_in_and_fan_out: replace this line')")
    submission = submission_with(tmp_path, "initialization", stub)
    verdict = grade(submission, tmp_path, ("initialization.kaiming_normal_",))["initialization.kaiming_normal_"]
    assert verdict["verdict"] == "not attempted"
    message = verdict["messages"][0]
    assert "it calls calculate_fan_in_and_fan_out, which is still a stub" in message
    assert "Finish initialization.calculate_fan_in_and_fan_out first" in message
    assert "kaiming_normal_ is not attempted yet" not in message


def test_a_syntax_error_in_a_module_the_capstone_imports_names_that_file(tmp_path):
    submission = submission_with(tmp_path, "training", "def oops(:\n    pass")
    verdicts = grade(submission, tmp_path, ("capstone.fit",))
    assert verdicts["capstone.fit"]["verdict"] == "could not load"
    assert verdicts["capstone.fit"]["messages"][0].startswith("training.py could not be loaded: SyntaxError at line")
