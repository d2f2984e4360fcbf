import json

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
