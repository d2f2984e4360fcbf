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
from lenet_utils.paper import PAPER_COUNTS
from lenet_utils.train import describe_machine

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model(faithful_model):
    return faithful_model


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


def test_figures_show_the_table_the_bitmaps_and_the_runs(model):
    import matplotlib.pyplot as plt

    from lenet_utils.chapters.reproduction import (plot_connection_table, plot_f6_against_rbf, plot_rbf_bitmaps,
                                                   plot_reproduction_curves)
    from lenet_utils.models import connection_table, rbf_centres

    ax = plot_connection_table().axes[0]
    assert (ax.images[0].get_array() == connection_table().T.numpy()).all()       # rows S2 maps, columns C3 maps
    assert ax.get_title() == "C3 connection table: 60 of 96 map pairs connected"
    fig = plot_rbf_bitmaps()
    for digit, ax in enumerate(fig.axes):
        assert ax.get_title() == str(digit)
        assert (ax.images[0].get_array() == rbf_centres()[digit].view(12, 7).numpy()).all()
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        f6 = model.f6_output(x)
        penalties = model.output(f6)
    fig = plot_f6_against_rbf(x[0], f6[0], penalties[0], label=3)
    nearest = int(penalties.argmin())
    assert fig.axes[0].get_title() == "input (label 3)" and fig.axes[2].get_title() == f"nearest: {nearest}"
    assert [p.get_height() for p in fig.axes[3].patches] == pytest.approx(penalties[0].tolist())
    assert (fig.axes[1].images[0].get_array() == f6[0].view(12, 7).numpy()).all()
    plt.close("all")
    records = [{"run": "plain", "optimizer": "adam", "test_error_per_pass": [2.0, 1.2, 0.9]},
               {"run": "distorted", "optimizer": "adam", "test_error_per_pass": [2.5, 1.0, 0.8]}]
    ax = plot_reproduction_curves(records, paper={"LeNet-5": 0.95, "with distortions": 0.8}).axes[0]
    runs = [line for line in ax.lines if len(line.get_xdata()) == 3]
    assert [list(line.get_ydata()) for line in runs] == [[2.0, 1.2, 0.9], [2.5, 1.0, 0.8]]
    assert runs[1].get_linestyle() == "--"                                            # distorted runs dashed
    paper_lines = sorted(line.get_ydata()[0] for line in ax.lines if len(line.get_xdata()) == 2)
    assert paper_lines == [0.8, 0.95]
    assert [t.get_text() for t in ax.texts] == ["paper, LeNet-5: 0.95%", "paper, with distortions: 0.8%"]
