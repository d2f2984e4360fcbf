import json

import pytest

from lenet_utils.cli import bench


def test_bench_smoke_run_prints_json(data_root, capsys):
    result = bench.main(["--subset", "1024", "--target", "0.5", "--max-epochs", "2"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == result
    assert result["train_images"] == 1024 and result["target_acc"] == 0.5
    assert result["conventional_samples_per_s"] > 0 and result["lenet_utils_samples_per_s"] > 0
    assert abs(result["ratio"] - result["lenet_utils_samples_per_s"] / result["conventional_samples_per_s"]) < 0.02
    assert 0 < result["eval_seconds_10k"]
    assert result["seconds_to_target"] is not None and result["test_acc_at_stop"] >= 0.5


def test_overhead_mode_times_every_recipe(data_root, capsys):
    result = bench.main(["--overhead", "--samples", "128", "--repeats", "1", "--models", "modern", "faithful"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    assert list(result["overhead"]) == ["modern", "faithful"]
    for row in result["overhead"].values():
        assert row["samples"] == 128 and row["repeats"] == 1
        for prefix in ("", "cpu_"):  # by the wall clock and by CPU time
            for mode in ("bare_slices", "bare_loader", "trainer"):
                assert row[f"{prefix}{mode}_samples_per_s"] > 0 and len(row[f"{prefix}runs_samples_per_s"][mode]) == 1
        # the speeds are rounded to whole samples/s, the percentage is computed before rounding
        expected = 100 * (row["bare_loader_samples_per_s"] / row["trainer_samples_per_s"] - 1)
        assert row["trainer_overhead_percent"] == pytest.approx(expected, abs=1 + 300 / row["trainer_samples_per_s"])
