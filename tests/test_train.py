import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from lenet_utils.data import TensorLoader
from lenet_utils.models import LeNet5Classic, LeNet5Modern, LeNet5Paper
from lenet_utils.models import MODELS, MAPLoss
from lenet_utils.train import (RECIPES, CheckpointError, Trainer, accuracy, describe_machine, evaluate, get_device,
                               load_checkpoint, predict, recipe_loss, save_checkpoint, set_seed, train_model,
                               train_recipe)

TIMING_KEYS = {"seconds", "samples_per_s"}


def _strip_timing(history):
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in history]


def _modern(seed):
    set_seed(seed)  # the seed must be set before the weights are drawn
    return LeNet5Modern()


@pytest.fixture(scope="module")
def trained(data_root):
    return train_model(_modern(1), epochs=2, lr=3e-3, subset=4000, test_subset=2000, seed=1, progress=False)


def test_trainer_learns_and_records_history(trained):
    history = trained.history
    assert [row["epoch"] for row in history] == [1, 2]
    assert set(history[0]) == {"epoch", "train_loss", "train_acc", "seconds", "samples_per_s", "test_loss", "test_acc"}
    assert history[1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.90  # 4,000 images, 2 epochs: a working pipeline is well above this


def test_seeded_runs_repeat_exactly(data_root, trained):
    again = train_model(_modern(1), epochs=2, lr=3e-3, subset=4000, test_subset=2000, seed=1, progress=False)
    assert _strip_timing(again.history) == _strip_timing(trained.history)
    other = train_model(_modern(2), epochs=1, lr=3e-3, subset=4000, test_subset=2000, seed=2, progress=False)
    assert other.history[0]["train_loss"] != trained.history[0]["train_loss"]


def test_predict_and_accuracy(trained, data_root):
    from lenet_utils.data import load_mnist, prepare

    x, y = load_mnist(False)
    preds = trained.predict(prepare(x[:500]))
    assert preds.shape == (500,) and preds.dtype == torch.int64
    assert (preds == y[:500]).float().mean().item() > 0.9
    assert accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])) == 0.5


def test_scheduler_and_epoch_hook_are_called(data_root):
    from lenet_utils.data import mnist_loaders

    train, test = mnist_loaders(batch_size=100, subset=300, test_subset=100)
    model = LeNet5Classic()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    seen = []
    trainer = Trainer(model, opt, device="cpu", scheduler=sched, scheduler_step="epoch",
                      on_epoch_start=lambda t, epoch: seen.append(epoch))
    trainer.fit(train, test, epochs=3, progress=False)
    assert seen == [1, 2, 3]
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    with pytest.raises(ValueError, match="scheduler_step must be"):
        Trainer(model, opt, scheduler_step="step")


def test_get_device(monkeypatch):
    assert get_device("cpu") == torch.device("cpu") and get_device("cuda:1") == torch.device("cuda:1")
    mps = getattr(torch.backends, "mps", None)
    # no GPU at all: the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    # Apple's MPS when there is no CUDA
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: True)
        assert get_device() == torch.device("mps")
    # CUDA first, and of several GPUs the one with the most free memory
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    free = {0: 2e9, 1: 9e9, 2: 5e9}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (free[i], 16e9))
    assert get_device() == torch.device("cuda:1")


def test_evaluate_and_predict_need_no_optimizer_and_restore_the_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).train()
    x, y = torch.randn(10, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    with torch.no_grad():
        scores = model(x)
    expected_acc = (scores.argmax(1) == y).float().mean().item()
    expected_loss = nn.functional.cross_entropy(scores, y).item()
    for data in ((x, y), TensorLoader(x, y, batch_size=3)):
        result = evaluate(model, data)
        assert result["acc"] == pytest.approx(expected_acc) and result["loss"] == pytest.approx(expected_loss)
        assert model.training
    assert evaluate(model, (x, y), loss_fn=nn.MultiMarginLoss())["loss"] == pytest.approx(
        nn.functional.multi_margin_loss(scores, y).item())
    assert torch.equal(predict(model, x, batch_size=4), scores.argmax(1)) and model.training
    with pytest.raises(ValueError, match="no samples to evaluate"):
        evaluate(model, [])
def test_checkpoint_round_trip(tmp_path, trained):
    path = trained.save(tmp_path / "modern.pt")
    fresh = LeNet5Modern()
    ckpt = load_checkpoint(fresh, path)
    assert ckpt["arch"] == "LeNet5Modern" and ckpt["history"] == trained.history
    x = torch.randn(3, 1, 28, 28)
    trained.model.eval()
    assert torch.equal(fresh(x), trained.model.cpu()(x))


def test_checkpoint_from_another_architecture_is_refused(tmp_path):
    path = save_checkpoint(LeNet5Paper(), tmp_path / "paper.pt")
    with pytest.raises(CheckpointError, match="holds a LeNet5Paper checkpoint, but the model is a LeNet5Modern"):
        load_checkpoint(LeNet5Modern(), path)


def test_checkpoint_with_other_configuration_is_refused(tmp_path):
    path = save_checkpoint(LeNet5Classic(num_classes=5), tmp_path / "five.pt")
    with pytest.raises(CheckpointError, match="does not fit this LeNet5Classic"):
        load_checkpoint(LeNet5Classic(), path)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        load_checkpoint(LeNet5Modern(), tmp_path / "nothing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(LeNet5Modern(), junk)
    plain = tmp_path / "plain.pt"
    torch.save(LeNet5Modern().state_dict(), plain)
    with pytest.raises(CheckpointError, match="not written by lenet_utils.save_checkpoint"):
        load_checkpoint(LeNet5Modern(), plain)


def test_loading_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"arch": "LeNet5Modern", "state_dict": {}, "payload": os.system}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(LeNet5Modern(), path)


def test_extra_values_are_stored_as_plain_data(tmp_path):
    path = save_checkpoint(LeNet5Modern(), tmp_path / "m.pt", extra={"torch": torch.__version__, "sizes": (1, 2)})
    ckpt = load_checkpoint(LeNet5Modern(), path)
    assert ckpt["extra"] == {"torch": str(torch.__version__), "sizes": [1, 2]}
    assert type(ckpt["extra"]["torch"]) is str


def test_failed_save_keeps_the_earlier_checkpoint(tmp_path):
    path = save_checkpoint(LeNet5Modern(), tmp_path / "model.pt")
    before = path.read_bytes()
    with pytest.raises(TypeError, match="holds a function; a checkpoint keeps only"):
        save_checkpoint(LeNet5Modern(), path, extra={"unpicklable": lambda: None})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_train_model_rejects_unknown_optimizer(data_root):
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        train_model(LeNet5Modern(), optimizer="rmsprop", subset=100, progress=False)


def test_set_seed_repeats_random_draws():
    set_seed(5)
    draws = torch.rand(3), np.random.rand(3), random.random()
    set_seed(5)
    assert torch.equal(draws[0], torch.rand(3))
    assert np.array_equal(draws[1], np.random.rand(3)) and draws[2] == random.random()
    set_seed(6)
    assert not torch.equal(draws[0], torch.rand(3))


def test_interrupted_write_keeps_the_earlier_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(LeNet5Modern(), tmp_path / "model.pt")
    before = path.read_bytes()

    def crash(obj, f):
        open(f, "wb").write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(LeNet5Modern(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_describe_machine():
    info = describe_machine()
    assert set(info) == {"device", "cpu", "cpu_count", "torch_threads", "load_average_1min", "platform", "python",
                         "torch"}
    assert info["device"] == "cpu" and info["cpu_count"] == os.cpu_count()
    assert info["torch_threads"] == torch.get_num_threads() and info["torch"] == str(torch.__version__)
    assert isinstance(info["cpu"], str) and info["cpu"] and info["load_average_1min"] >= 0


def test_recipes_name_every_model_once():
    assert sorted(spec["model"] for spec in RECIPES.values()) == sorted(MODELS)
    assert isinstance(recipe_loss("faithful"), MAPLoss) and isinstance(recipe_loss("paper"), nn.CrossEntropyLoss)
    with pytest.raises(ValueError, match="unknown recipe 'lenet7'; choose one of"):
        train_recipe("lenet7")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        train_recipe("modern", epochs=0)


def test_train_recipe_trains_the_faithful_model_with_its_loss(data_root):
    trainer = train_recipe("faithful", epochs=1, subset=256, test_subset=100, progress=False)
    assert type(trainer.model).__name__ == "LeNet5Faithful" and isinstance(trainer.loss_fn, MAPLoss)
    assert len(trainer.history) == 1 and 0 <= trainer.history[0]["test_acc"] <= 1
