"""Tests of lenet_utils.chapters.lenet5 and its command (lenet_utils.cli.variants): recipes, the training script,
checkpoints and the chapter 8 figures."""
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lenet_utils import CheckpointError, LeNet5Modern, load_checkpoint  # noqa: E402
from lenet_utils.train import describe_machine  # noqa: E402
from lenet_utils.chapters import lenet5 as variants  # noqa: E402
from lenet_utils.cli import variants as variants_cli  # noqa: E402


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_root):
    """The script, for real, on a tiny subset: one epoch of two variants."""
    out = tmp_path_factory.mktemp("variants")
    summary = variants_cli.main(["--variants", "modern", "classic", "--epochs", "1", "--subset", "512",
                             "--out", str(out), "--no-progress"])
    return out, summary


def test_recipes():
    assert set(variants.VARIANTS) == {"paper", "classic", "modern"} == set(variants.C1_LAYER)
    paper = variants.VARIANTS["paper"]
    assert (paper["epochs"], paper["lr"], paper["batch_size"], paper["model"]) == (10, 1e-3, 64, "LeNet5Paper")
    assert (variants.VARIANTS["classic"]["batch_size"], variants.VARIANTS["classic"]["normalize"]) == (256, "unit")
    assert variants.VARIANTS["modern"]["one_cycle"] is True


def test_script_writes_checkpoints_and_summary(smoke_run):
    out, summary = smoke_run
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    row = summary["variants"]["modern"]
    assert row["parameters"] == 61_706 and row["epochs"] == 1 and row["subset"] == 512
    assert row["best_test_acc"] >= row["final_test_acc"] > 0
    assert row["measured_on"].keys() == describe_machine().keys() and row["measured_on"]["cpu_count"] >= 1
    assert variants.load_summary(out)["classic"]["parameters"] == 44_426


def test_load_variant_reproduces_stored_accuracy(smoke_run):
    out, summary = smoke_run
    model, ckpt = variants.load_variant("modern", out)
    x, y = variants.test_inputs("modern")
    assert x.shape == (10_000, 1, 28, 28) and y.shape == (10_000,)
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(summary["variants"]["modern"]["final_test_acc"], abs=1e-4)
    assert len(ckpt["history"]) == 1


def test_wrong_architecture_and_missing_files(smoke_run, tmp_path):
    out, _ = smoke_run
    with pytest.raises(CheckpointError, match="holds a LeNet5Classic checkpoint, but the model is a LeNet5Modern"):
        load_checkpoint(LeNet5Modern(), out / "classic.pt")
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        variants.load_variant("paper", tmp_path)
    with pytest.raises(FileNotFoundError, match="Train the variants first"):
        variants.load_summary(tmp_path)


def test_unknown_variant_and_bad_arguments():
    for fn in (variants.test_inputs, variants.load_variant, variants.measure_speed):
        with pytest.raises(ValueError, match="unknown variant 'lenet7'"):
            fn("lenet7")
    with pytest.raises(ValueError, match="samples must be an integer of at least one batch"):
        variants.measure_speed("paper", samples=10)
    with pytest.raises(SystemExit):
        variants_cli.main(["--threads", "0"])


def test_measure_speed(data_root):
    speed = variants.measure_speed("modern", samples=512)
    assert speed["samples"] == 512 and speed["samples_per_s"] > 0
    assert speed["seconds_per_60k_epoch"] == pytest.approx(60_000 / speed["samples_per_s"], abs=0.06)  # to 0.1 s


def test_plot_prediction_and_widget():
    torch.manual_seed(0)
    model = LeNet5Modern().eval()
    x = torch.randn(1, 28, 28)
    fig = variants.plot_prediction(model, x, variants.C1_LAYER["modern"], label=3)
    assert len(fig.axes) == 2 + 6  # image, probabilities, six C1 maps
    with torch.no_grad():
        probs = torch.softmax(model(x.unsqueeze(0)), 1)[0]
        c1 = model.features[0](x.unsqueeze(0))[0]
    assert [p.get_height() for p in fig.axes[1].patches] == pytest.approx(probs.tolist(), abs=1e-6)
    pred = int(probs.argmax())
    assert fig.axes[0].get_title() == f"label 3, predicted {pred}"
    assert (fig.axes[0].images[0].get_array() == x[0].numpy()).all()
    for i, ax in enumerate(fig.axes[2:]):
        assert ax.get_title() == f"C1 map {i}" and torch.allclose(torch.as_tensor(ax.images[0].get_array()), c1[i])
    plt.close(fig)
    with pytest.raises(ValueError, match="one prepared image"):
        variants.plot_prediction(model, torch.randn(2, 1, 28, 28), "features.0")
    widget = variants.prediction_widget({"modern": model}, {"modern": torch.randn(5, 1, 28, 28)},
                                        torch.arange(5))
    assert widget.children[1].max == 4
    plt.close("all")


def _notebook_training_loop():
    """``train_by_hand`` exactly as chapter 8 writes it (the notebook cell that defines it), so that the
    test checks the book's own loop, not a copy of it."""
    from pathlib import Path

    nb = json.loads((Path(__file__).parent.parent / "notebooks" / "08_lenet5_code.ipynb").read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    cells = [s for s in sources if s.startswith("def train_by_hand(")]
    assert len(cells) == 1, "chapter 8 should define train_by_hand in exactly one code cell"
    namespace = {"nn": torch.nn, "torch": torch}
    exec(compile(cells[0], "08_lenet5_code.ipynb:train_by_hand", "exec"), namespace)
    return namespace["train_by_hand"]


def test_plain_loop_and_trainer_give_the_identical_history(data_root):
    """Chapter 8's claim: its hand-written loop and Trainer, from the same initial weights and seed, produce
    the same history number for number and the same final weights on the CPU; without zero_grad they don't."""
    import copy

    from lenet_utils import LeNet5Paper
    from lenet_utils.data import TensorLoader, mnist_tensors
    from lenet_utils.train import Trainer, seeded

    train_by_hand = _notebook_training_loop()
    spec = variants.VARIANTS["paper"]
    xtr, ytr, xte, yte = mnist_tensors(spec["normalize"], subset=640, test_subset=300)
    with seeded(3):
        start = LeNet5Paper()

    def by_hand(optimizer_class):
        model = copy.deepcopy(start)
        history = train_by_hand(model, optimizer_class(model.parameters(), lr=spec["lr"]), xtr, ytr, xte, yte,
                                epochs=2, batch_size=spec["batch_size"], seed=5)
        return model, history

    model, history = by_hand(torch.optim.Adam)
    other = copy.deepcopy(start)
    trainer = Trainer(other, torch.optim.Adam(other.parameters(), lr=spec["lr"]), device="cpu")
    trainer.fit(TensorLoader(xtr, ytr, spec["batch_size"], shuffle=True, seed=5), TensorLoader(xte, yte, 1000),
                epochs=2, progress=False)
    keys = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc"]
    assert history == [{k: row[k] for k in keys} for row in trainer.history]
    assert len(history) == 2 and history[0]["train_loss"] != history[1]["train_loss"]
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(model.c1.weight, start.c1.weight)

    class NoZeroGrad(torch.optim.Adam):
        def zero_grad(self, set_to_none=True):
            pass

    _, forgetful = by_hand(NoZeroGrad)
    assert forgetful[0]["train_loss"] != history[0]["train_loss"]
