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
    assert run_name("sdlm-batch", "distorted", eta_scale=0.02) == "sdlm-batch-eta0.02_distorted"
    assert run_name("adam", "plain", seed=3) == "adam_plain_seed3"
    assert len({run_name("adam", "plain", seed=s) for s in range(4)}) == 4
    # the paper's online SDLM: its own names, always with the seed; a non-default init or mu is named
    assert run_name("sdlm", "plain", seed=0) == "sdlm-online_plain_seed0"
    assert run_name("sdlm", "distorted", seed=1, init="efficient-backprop") == "sdlm-online_distorted_seed1"
    assert run_name("sdlm", "plain", eta_scale=0.1, init="paper") == "sdlm-online-eta0.1-init-paper_plain_seed0"
    assert run_name("sdlm", "plain", init="paper", mu=0.02) == "sdlm-online-mu0.02-init-paper_plain_seed0"
    assert run_name("sdlm", "plain", mu=0.1) == "sdlm-online_plain_seed0"
    committed = {"adam_plain", "adam_distorted", "sdlm-eta0.02_plain", "sdlm-eta0.02_distorted", "sdlm_plain"}
    assert not committed & {run_name(o, r, s, seed=k) for o in ("sdlm", "sdlm-batch") for r in ("plain", "distorted")
                            for s in (1.0, 0.02) for k in (0, 1)}


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


# ---------------------------------------------------------------- where runs go, and that nothing is lost

COMMITTED = ROOT / "results" / "reproduction"


def _fingerprint(folder: Path) -> dict:
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _small(tmp_path, *extra):
    return ["--run", "plain", "--subset", "300", "--test-subset", "200", "--curvature-samples", "50",
            "--no-progress", "--out", str(tmp_path), *extra]


def test_smoke_run_touches_no_committed_result(data_root):
    """`--short` as a new reader types it: it writes into a new temporary folder and leaves the committed
    records (results/reproduction/) byte for byte as they were."""
    before = _fingerprint(COMMITTED)
    env = dict(os.environ, LENET_DATA=str(data_root))
    done = subprocess.run([sys.executable, "-m", "lenet_utils.cli.reproduce", "--short", "--run", "plain",
                           "--no-progress"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert _fingerprint(COMMITTED) == before
    out = Path(done.stdout.split("writing to ", 1)[1].split("\n", 1)[0])
    assert not out.resolve().is_relative_to(ROOT.resolve())
    record = json.loads((out / "sdlm-online_plain_seed0.json").read_text())
    assert record["optimizer"] == "sdlm-online" and record["passes_done"] == 1 and record["complete"]
    assert record["optimizer_settings"]["update"].startswith("online")
    assert len(record["commit"]) == 40
    for path in out.iterdir():
        path.unlink()
    out.rmdir()


def test_default_folder_is_not_the_committed_one():
    from lenet_utils.chapters import reproduction

    assert reproduction.DEFAULT_OUT.resolve() != reproduction.COMMITTED_OUT.resolve()
    assert not reproduction.DEFAULT_OUT.is_absolute() and reproduction.DEFAULT_OUT.parts[0] == "runs"


def test_online_record_has_the_curves_chapter_9_needs(tmp_path, data_root):
    from lenet_utils.cli import reproduce
    from lenet_utils.models import LeNet5Faithful
    from lenet_utils.train import load_checkpoint

    assert reproduce.main(_small(tmp_path, "--epochs", "2")) == 0
    record = json.loads((tmp_path / "sdlm-online_plain_seed0.json").read_text())
    for key in ("test_error_per_pass", "train_error_per_pass", "train_error_online_per_pass", "eta_per_pass",
                "step_sizes_per_pass", "seconds_per_pass", "saturation_per_pass"):
        assert len(record[key]) == 2, key
    assert record["eta_per_pass"] == [0.0005, 0.0005]
    assert record["paper_curve"]["train_error"] == 0.35 and record["paper_test_error"] == 0.95
    assert set(record["step_sizes_per_pass"][0]) == {"c1", "s2", "c3", "s4", "c5", "f6", "all"}
    extra = load_checkpoint(LeNet5Faithful(init=False), tmp_path / "sdlm-online_plain_seed0.pt")["extra"]
    assert extra["final_test_error"] == record["final_test_error"]


def test_existing_records_are_not_replaced(tmp_path, data_root, capsys):
    from lenet_utils.cli import reproduce

    assert reproduce.main(_small(tmp_path)) == 0
    before = _fingerprint(tmp_path)
    with pytest.raises(SystemExit):
        reproduce.main(_small(tmp_path))
    assert "--overwrite" in capsys.readouterr().err
    assert _fingerprint(tmp_path) == before
    assert reproduce.main(_small(tmp_path, "--overwrite")) == 0


def test_no_command_writes_into_the_committed_results_unless_named(monkeypatch, tmp_path, data_root):
    """Every command of chapter 9 run with its defaults from the repository root leaves results/ alone."""
    from lenet_utils.cli import reproduce

    monkeypatch.chdir(tmp_path)            # the default folder runs/reproduction/ is relative to here
    before = _fingerprint(COMMITTED)
    assert reproduce.main(["--run", "plain", "--subset", "200", "--test-subset", "100", "--curvature-samples",
                           "20", "--epochs", "1", "--no-progress"]) == 0
    assert (tmp_path / "runs" / "reproduction" / "sdlm-online_plain_seed0.json").is_file()
    assert _fingerprint(COMMITTED) == before


def test_a_run_cut_short_keeps_the_passes_it_finished(tmp_path, data_root, monkeypatch):
    """Interrupted (Ctrl-C) during pass 2 of 3: the record and checkpoint of pass 1 stay, marked incomplete."""
    from lenet_utils.cli import reproduce
    from lenet_utils.models import LeNet5Faithful
    from lenet_utils.train import load_checkpoint

    calls = []
    original = reproduce._progress

    def progress_then_interrupt(out, model, history, record):
        original(out, model, history, record)
        calls.append(len(history))
        if len(history) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(reproduce, "_progress", progress_then_interrupt)
    assert reproduce.main(_small(tmp_path, "--epochs", "3")) == 130
    assert calls == [1]
    record = json.loads((tmp_path / "sdlm-online_plain_seed0.json").read_text())
    assert record["passes_done"] == 1 and record["epochs"] == 3 and record["complete"] is False
    load_checkpoint(LeNet5Faithful(init=False), tmp_path / "sdlm-online_plain_seed0.pt")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


@pytest.mark.parametrize("run", ["plain", "distorted"])
def test_resume_gives_the_numbers_of_an_uninterrupted_run(tmp_path, data_root, run):
    """2 passes straight against 1 pass, then --resume to 2: the same weights, bit for bit, and the same
    record (but for timings), which says where its first pass came from."""
    from lenet_utils.cli import reproduce

    args = ["--run", run, "--subset", "300", "--test-subset", "200", "--curvature-samples", "50", "--no-progress"]
    assert reproduce.main([*args, "--epochs", "2", "--out", str(tmp_path / "straight")]) == 0
    assert reproduce.main([*args, "--epochs", "1", "--out", str(tmp_path / "resumed")]) == 0
    assert reproduce.main([*args, "--epochs", "2", "--out", str(tmp_path / "resumed"), "--resume"]) == 0
    stem = f"sdlm-online_{run}_seed0"
    a = torch.load(tmp_path / "straight" / f"{stem}.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed" / f"{stem}.pt", weights_only=True)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    ra, rb = (json.loads((tmp_path / d / f"{stem}.json").read_text()) for d in ("straight", "resumed"))
    for key in ("test_error_per_pass", "train_error_per_pass", "train_loss_online_per_pass", "step_sizes_per_pass",
                "passes_done", "complete", "eta_per_pass"):
        assert ra[key] == rb[key], key
    assert rb["passes_done"] == 2 and rb["resumed"][0]["after_pass"] == 1 and "resumed" not in ra


def test_resume_needs_a_run_to_continue(tmp_path, data_root, capsys):
    from lenet_utils.cli import reproduce

    with pytest.raises(SystemExit):
        reproduce.main(_small(tmp_path, "--resume"))
    assert "nothing to resume" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        reproduce.main(_small(tmp_path, "--resume", "--optimizer", "adam"))


def test_batch_sdlm_keeps_its_own_name(tmp_path, data_root):
    from lenet_utils.cli import reproduce

    args = ["--optimizer", "sdlm-batch", "--eta-scale", "0.02", "--epochs", "1", "--device", "cpu"]
    assert reproduce.main(_small(tmp_path, *args)) == 0
    record = json.loads((tmp_path / "sdlm-batch-eta0.02_plain.json").read_text())
    assert record["optimizer"] == "sdlm-batch" and record["optimizer_settings"]["batch_size"] == 16
    assert record["optimizer_settings"]["init"] == "paper"


def test_online_curves_figure_draws_every_pass_and_the_papers_numbers():
    from lenet_utils.chapters.reproduction import plot_online_curves

    records = [{"run": "plain", "seed": 0, "test_error_per_pass": [2.0, 1.2, 1.1], "train_error_per_pass": [2.2, 1.0, 0.8]},
               {"run": "distorted", "seed": 1, "test_error_per_pass": [2.1, 1.3], "train_error_per_pass": [2.5, 1.4]}]
    fig = plot_online_curves(records)
    ax_test, ax_train = fig.axes
    runs = [line for line in ax_test.lines if line.get_label() in ("plain, seed 0", "distorted, seed 1")]
    assert [list(line.get_ydata()) for line in runs] == [[2.0, 1.2, 1.1], [2.1, 1.3]]
    assert list(runs[0].get_xdata()) == [1, 2, 3] and runs[1].get_linestyle() == "--"
    assert sorted(line.get_ydata()[0] for line in ax_test.lines if len(line.get_xdata()) == 2
                  and line not in runs) == [0.8, 0.95]
    star = [line for line in ax_train.lines if line.get_marker() == "*"]
    assert len(star) == 1 and list(star[0].get_xdata()) == [19] and list(star[0].get_ydata()) == [0.35]
    assert [list(line.get_ydata()) for line in ax_train.lines if line.get_marker() != "*"] == [[2.2, 1.0, 0.8], [2.5, 1.4]]


def test_step_size_figure_shows_each_layers_range_and_mu_share():
    from lenet_utils.chapters.reproduction import plot_step_sizes

    def row(lo, med, hi, share):
        return {"eps_min": lo, "eps_median": med, "eps_max": hi, "mu_dominates": share}

    stats = {"c1": row(1e-4, 1e-3, 1e-2, 0.5), "f6": row(2e-5, 3e-4, 5e-3, 0.0), "all": row(2e-5, 5e-4, 1e-2, 0.3)}
    ax = plot_step_sizes(stats).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["C1", "F6"]
    bars = [line for line in ax.lines if len(line.get_xdata()) == 2]
    assert [list(line.get_ydata()) for line in bars] == [[1e-4, 1e-2], [2e-5, 5e-3]]
    medians = [line.get_ydata()[0] for line in ax.lines if line.get_marker() == "o"]
    assert medians == [1e-3, 3e-4]
    assert [t.get_text() for t in ax.texts] == ["mu>h: 50%", "mu>h: 0%"]
    assert ax.get_yscale() == "log"
