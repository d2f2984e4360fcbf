"""Chapter 9 (lenet_utils.chapters.reproduction) and its command (python -m lenet_utils.cli.reproduce):
the paper's counts, the training run's record, run names, the figures."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lenet_utils.chapters.reproduction import connection_counts, run_name
from lenet_utils.models import LeNet5Faithful
from lenet_utils.paper import PAPER_COUNTS
from lenet_utils.train import describe_machine

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model():
    torch.manual_seed(0)
    return LeNet5Faithful()


def test_counts_equal_the_papers_table(model):
    rows = connection_counts(model)
    assert [r["layer"] for r in rows] == list(PAPER_COUNTS)
    for r in rows:
        assert (r["params"], r["connections"]) == PAPER_COUNTS[r["layer"]], r
    assert sum(p.numel() for p in model.parameters()) == 60_000


def test_reproduce_short_writes_valid_json(tmp_path, data_root):
    env = dict(os.environ, LENET_DATA=str(data_root))
    cmd = [sys.executable, "-m", "lenet_utils.cli.reproduce", "--short", "--optimizer", "adam", "--run", "plain",
           "--subset", "1000", "--test-subset", "500", "--device", "cpu", "--no-progress", "--out", str(tmp_path)]
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, timeout=120)
    record = json.loads((tmp_path / "adam_plain.json").read_text())
    assert record["epochs"] == 1 and len(record["test_error_per_pass"]) == 1
    assert 0 <= record["final_test_error"] <= 100 and record["seed"] == 0
    assert record["machine"]["device"] == "cpu" and record["machine"]["torch"] == str(torch.__version__)
    assert record["machine"].keys() == describe_machine("cpu").keys()
    assert (tmp_path / "adam_plain.pt").is_file()


def test_run_names_keep_seeds_apart():
    assert run_name("adam", "plain") == "adam_plain"
    assert run_name("sdlm", "distorted", eta_scale=0.02) == "sdlm-eta0.02_distorted"
    assert run_name("adam", "plain", seed=3) == "adam_plain_seed3"
    assert len({run_name("adam", "plain", seed=s) for s in range(4)}) == 4
