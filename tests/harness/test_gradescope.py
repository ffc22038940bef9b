"""The Gradescope autograder bundle, run the way Gradescope runs it, in a stand-in of its folders."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from .grading import submission_with, torchkata


def test_the_bundle_grades_a_submission_as_gradescope_runs_it(tmp_path):
    bundle = tmp_path / "bundle"
    made = torchkata("gradescope-autograder", str(bundle), cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    names = zipfile.ZipFile(bundle / "autograder.zip").namelist()
    for needed in ("setup.sh", "run_autograder", "torchkata/pyproject.toml", "torchkata/torchkata/engine/plugin.py",
                   "torchkata/tests/exercises/test_losses.py", "torchkata/solutions/losses.py"):
        assert needed in names, f"{needed} is not in the bundle"
    assert not any("__pycache__" in name for name in names)

    # /autograder as the container has it: the bundle unpacked in source/, the student's files in submission/.
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle / "autograder.zip") as archive:
        archive.extractall(root / "source")
    student = submission_with(tmp_path, "activations", "def relu(x):\n    return x")  # negatives kept
    shutil.copytree(student, root / "submission")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "TORCHKATA_PYTHON": sys.executable}
    ran = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                         timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr

    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 61 and isinstance(results["execution_time"], int) and results["execution_time"] > 0
    assert results["output"].startswith("39 of 40 exercises pass: 61 of 62 points.")
    assert "Sandbox" not in results["output"], "what the sandbox lacks is the instructor's to know, not every student's"
    assert "61 of 62 points" in ran.stdout and "failed  0/1  activations.relu" in ran.stdout, \
        "the run's log, which Gradescope keeps for the instructor"
    assert (root / "results" / "stdout").read_text() == ran.stdout + ran.stderr, "results/stdout holds the run's log"
    assert set(results["extra_data"]) == {"flags", "sandbox_weaknesses"}
    tests = {t["name"]: t for t in results["tests"]}
    assert [t["number"] for t in results["tests"]] == [str(n) for n in range(1, 41)]
    relu = tests["activations.relu"]
    assert relu["status"] == "failed" and relu["score"] == 0 and relu["max_score"] == 1
    assert relu["tags"] == ["activations"] and "relu" in relu["output"]
    assert tests["activations.softmax"]["status"] == "passed" and tests["activations.softmax"]["score"] == 2


def test_a_bundle_needs_a_folder(tmp_path):
    (tmp_path / "taken").write_text("")
    made = torchkata("gradescope-autograder", "taken", cwd=tmp_path)
    assert made.returncode == 2 and "taken is a file; give a folder" in made.stderr


def test_a_bundle_never_overwrites_the_project_nor_packs_what_else_its_folder_holds(tmp_path):
    from torchkata.classroom.gradescope import write_bundle
    from torchkata.core.paths import ROOT

    for overlapping in (ROOT, ROOT / "torchkata", ROOT / "tests" / "bundle"):
        with pytest.raises(ValueError, match="overlaps the project"):
            write_bundle(overlapping)
    out = tmp_path / "gs"
    (out / "grades" / "feedback").mkdir(parents=True)
    (out / "grades" / "feedback" / "Anna.md").write_text("a student's grade")
    names = zipfile.ZipFile(write_bundle(out)).namelist()
    assert not any(name.startswith("grades/") for name in names)
    write_bundle(out)  # an earlier bundle is replaced
    (tmp_path / "other" / "torchkata").mkdir(parents=True)
    with pytest.raises(ValueError, match="not an earlier bundle"):
        write_bundle(tmp_path / "other")


def test_setup_takes_torch_from_the_index_the_bundle_names_and_refuses_what_is_not_one(tmp_path):
    from torchkata.classroom.gradescope import write_bundle

    write_bundle(tmp_path / "cpu", torch_index="https://example.org/whl/cpu")
    setup = (tmp_path / "cpu" / "setup.sh").read_text()
    assert "torch_index=https://example.org/whl/cpu\n" in setup
    assert 'python3 -m venv' not in setup and '"$python" -m venv "$venv"' in setup, "setup.sh keeps to its own venv"
    write_bundle(tmp_path / "default")
    assert "torch_index=''\n" in (tmp_path / "default" / "setup.sh").read_text()
    made = torchkata("gradescope-autograder", "gs", "--torch-index", "cpu-please", cwd=tmp_path)
    assert made.returncode == 2 and "--torch-index must be the address of a package index" in made.stderr
    assert "'cpu-please'" in made.stderr and not (tmp_path / "gs").exists(), "nothing written for a refused bundle"


def test_the_bundle_grades_in_the_language_it_was_written_in(tmp_path):
    made = torchkata("--lang", "zh", "gradescope-autograder", "gs", cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "gs" / "autograder.zip") as archive:
        archive.extractall(root / "source")
    shutil.copytree(submission_with(tmp_path, "activations", "def relu(x):\n    return x"), root / "submission")
    env = {k: v for k, v in os.environ.items() if k != "TORCHKATA_LANG"}
    env.update(AUTOGRADER_ROOT=str(root), TORCHKATA_PYTHON=sys.executable)
    ran = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                         timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["output"].startswith("40 道练习通过了 39 道"), results["output"]
