"""dynamo_marks: a grading run builds models on the meta device and optimisers without torch
importing its compiler, and torch.compile still skips what torch marked for it to skip."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

META_BUILD = ("from solutions.networks import Model\nModel(device='meta')\n"
              "import torch\ntorch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1).zero_grad()\n")


def dynamo_imported_after(code: str, settle: bool) -> bool:
    prelude = "import sys\nimport torch\n" + \
        ("from torchkata.engine import dynamo_marks\nassert dynamo_marks.settle() > 0\n" if settle else "")
    out = subprocess.run([sys.executable, "-c", prelude + code + "\nprint('torch._dynamo' in sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize("settle", [False, True], ids=["as_torch_does", "settled"])
def test_a_meta_model_and_an_optimiser_import_torch_dynamo_only_unsettled(settle):
    """Unsettled is torch's own behaviour, the cost this module removes: were it gone from
    torch, this test says dynamo_marks is no longer needed."""
    assert dynamo_imported_after(META_BUILD, settle) is not settle


def test_torch_compile_still_runs_settled_functions_as_torch_marked_them():
    code = ("f = torch.compile(lambda x: torch.nn.functional.relu(x).tanh() * 2, backend='aot_eager')\n"
            "x = torch.randn(5)\nassert torch.equal(f(x), torch.relu(x).tanh() * 2)\n")
    assert dynamo_imported_after(code, settle=True)  # compiling imports it, and works


def test_a_check_of_the_network_model_never_imports_torch_dynamo(tmp_path):
    """End to end: the grading run of networks.Model (its meta-device test included)."""
    (tmp_path / "report_dynamo.py").write_text(
        "import sys\n\ndef pytest_unconfigure(config):\n"
        "    print('DYNAMO IMPORTED' if 'torch._dynamo' in sys.modules else 'DYNAMO NOT IMPORTED')\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/exercises/test_networks.py", "--impl=solutions",
                             "--exercise=networks.Model", "-p", "report_dynamo", "-q", "-p", "no:cacheprovider"],
                            cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DYNAMO NOT IMPORTED" in result.stdout, result.stdout
