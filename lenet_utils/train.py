"""Seeding, device choice, evaluation, a small Trainer with a progress bar and history, and checkpoints."""
from __future__ import annotations

import contextlib
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .data import TensorLoader
from .models import MAPLoss, build_model

CHECKPOINT_FORMAT = 1
# How the book trains each model, by name: the first three as their sources do (chapter 8 compares them),
# the paper-faithful one with Adam (chapter 9 also trains it with the paper's SDLM). The bench times them.
RECIPES = {
    "paper": {"model": "LeNet5Paper", "epochs": 10, "lr": 1e-3, "batch_size": 64, "normalize": "standard",
              "pad": False, "one_cycle": False, "loss": "cross_entropy",
              "source": "first document (paper-style LeNet-5)"},
    "classic": {"model": "LeNet5Classic", "epochs": 5, "lr": 1e-3, "batch_size": 256, "normalize": "unit",
                "pad": False, "one_cycle": False, "loss": "cross_entropy",
                "source": "second document (sigmoid / max-pool LeNet)"},
    "modern": {"model": "LeNet5Modern", "epochs": 5, "lr": 3e-3, "batch_size": 128, "normalize": "standard",
               "pad": False, "one_cycle": True, "loss": "cross_entropy", "source": "ReLU LeNet with a one-cycle schedule"},
    "faithful": {"model": "LeNet5Faithful", "epochs": 20, "lr": 2e-3, "batch_size": 32, "normalize": "paper",
                 "pad": True, "one_cycle": True, "loss": "map",
                 "source": "the 1998 paper's LeNet-5 (sparse C3, RBF output, MAP loss), trained with Adam"},
}
# The repository's committed results (checkpoints and JSON), next to the lenet_utils package.
RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so runs repeat exactly on the same machine.

    For entry points (a notebook's first cell, a command's main): library functions never call it, they
    take a seed and draw from their own generator (``seeded``)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int):
    """Inside the block torch's global CPU generator starts from ``seed``, as after ``torch.manual_seed(seed)``,
    so a model built there always gets the same initial weights; afterwards the caller's generator goes on
    where it was (``torch.random.fork_rng``), as if the block had drawn nothing."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA (the GPU with the most free memory), else Apple MPS, else CPU. ``prefer`` forces one."""
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        free = [torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count())]
        return torch.device(f"cuda:{int(np.argmax(free))}")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_machine(device=None) -> dict:
    """Where and with what a run happens, as every saved result records it: the device, the CPU model and
    core count, torch's CPU threads, the 1-minute load average (other jobs slow a shared machine down), the
    operating system, and the Python and torch versions; on a GPU also its name and the CUDA version."""
    device = torch.device("cpu") if device is None else torch.device(device)
    cpu = platform.processor() or platform.machine()
    try:  # Linux names the CPU model here; elsewhere the architecture has to do
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    info = {"device": str(device), "cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "platform": platform.platform(), "python": platform.python_version(), "torch": str(torch.__version__)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose largest score sits at the label."""
    return (scores.argmax(1) == labels).float().mean().item()


def _device_of(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@torch.inference_mode()
def evaluate(model: nn.Module, data, loss_fn=None, device=None, batch_size: int = 1000) -> dict:
    """Mean loss and accuracy of ``model`` on ``data``: an iterable of (x, y) batches (a loader) or a pair of
    tensors (x, y), cut into batches of ``batch_size``. ``loss_fn`` defaults to cross-entropy; the batches go
    to ``device`` (default: where the model's parameters are). Runs in eval mode and restores the model's
    mode afterwards. Returns {"loss", "acc"}."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        data = TensorLoader(data[0], data[1], batch_size)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    device = _device_of(model) if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    try:
        for x, y in data:
            x, y = x.to(device), y.to(device)
            scores = model(x)
            total_loss += loss_fn(scores, y).item() * len(y)
            correct += (scores.argmax(1) == y).sum().item()
            seen += len(y)
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("no samples to evaluate: the loader or tensors are empty")
    return {"loss": total_loss / seen, "acc": correct / seen}


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 2000, device=None) -> torch.Tensor:
    """Predicted classes (int64 [N], on the CPU) for a tensor of inputs, in eval mode (restored afterwards)."""
    device = _device_of(model) if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    try:
        out = [model(x[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


class Trainer:
    """Train and evaluate any model with any optimizer and loss.

    Models return class scores [N, classes] where the largest score is the prediction.
    ``scheduler`` is stepped after every batch (``scheduler_step="batch"``) or every epoch.
    ``on_epoch_start(trainer, epoch)`` runs before each epoch (e.g. to re-estimate curvature).
    """

    def __init__(self, model, optimizer, loss_fn=None, device=None, scheduler=None, scheduler_step="batch",
                 on_epoch_start=None):
        if scheduler_step not in ("batch", "epoch"):
            raise ValueError(f"scheduler_step must be 'batch' or 'epoch', got {scheduler_step!r}")
        self.device = torch.device(device) if device is not None else get_device()
        self.model = model.to(self.device)
        self.optimizer, self.scheduler, self.scheduler_step = optimizer, scheduler, scheduler_step
        self.loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
        self.on_epoch_start = on_epoch_start
        self.history: list[dict] = []

    def train_epoch(self, loader, progress=True, desc="train") -> dict:
        self.model.train()
        total_loss, correct, seen, start = 0.0, 0, 0, time.perf_counter()
        bar = tqdm(loader, desc=desc, leave=False, disable=not progress)
        for x, y in bar:
            x, y = x.to(self.device), y.to(self.device)
            scores = self.model(x)
            loss = self.loss_fn(scores, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_step == "batch":
                self.scheduler.step()
            total_loss += loss.item() * len(y)
            correct += (scores.argmax(1) == y).sum().item()
            seen += len(y)
        seconds = time.perf_counter() - start
        return {"train_loss": total_loss / seen, "train_acc": correct / seen, "seconds": seconds,
                "samples_per_s": seen / seconds}

    def evaluate(self, loader) -> dict:
        """Mean loss and accuracy over a loader (``evaluate`` with this Trainer's loss and device)."""
        return evaluate(self.model, loader, self.loss_fn, self.device)

    def predict(self, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
        """Predicted classes for a tensor of inputs (``predict`` on this Trainer's device)."""
        return predict(self.model, x, batch_size, self.device)

    def fit(self, train_loader, test_loader=None, epochs: int = 1, progress: bool = True) -> list[dict]:
        """Train for ``epochs`` passes; returns (and extends) ``self.history``, one dict per epoch."""
        bar = tqdm(range(epochs), desc=type(self.model).__name__, disable=not progress)
        for _ in bar:
            epoch = len(self.history) + 1
            if self.on_epoch_start is not None:
                self.on_epoch_start(self, epoch)
            row = {"epoch": epoch, **self.train_epoch(train_loader, progress, desc=f"epoch {epoch}")}
            if self.scheduler is not None and self.scheduler_step == "epoch":
                self.scheduler.step()
            if test_loader is not None:
                result = self.evaluate(test_loader)
                row["test_loss"], row["test_acc"] = result["loss"], result["acc"]
            self.history.append(row)
            bar.set_postfix(loss=f"{row['train_loss']:.4f}", test_acc=f"{row.get('test_acc', float('nan')):.4f}")
        return self.history

    def plot(self):
        """Learning curves of the history so far (a matplotlib Figure)."""
        from .viz import plot_history

        return plot_history(self.history, title=type(self.model).__name__)

    def save(self, path) -> Path:
        return save_checkpoint(self.model, path, history=self.history)


def train_model(model, epochs=1, lr=1e-3, batch_size=128, optimizer="adam", normalize="standard", pad=False,
                subset=None, test_subset=None, seed=0, one_cycle=False, progress=True, device="cpu",
                loss_fn=None) -> Trainer:
    """The book's one-line training recipe: seeded MNIST loaders, Adam (or SGD with momentum 0.9),
    optionally a one-cycle learning-rate schedule peaking at ``lr``, cross-entropy unless ``loss_fn``
    says otherwise; returns the fitted Trainer.

    ``seed`` fixes the batch order; the initial weights are those ``model`` was built with (build it inside
    ``seeded(seed)``, as ``train_recipe`` does, to fix them)."""
    from .data import mnist_loaders

    train, test = mnist_loaders(batch_size=batch_size, normalize=normalize, pad=pad, subset=subset,
                                test_subset=test_subset, seed=seed)
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(train))
             if one_cycle else None)
    trainer = Trainer(model, opt, loss_fn, device=device, scheduler=sched)
    trainer.fit(train, test, epochs=epochs, progress=progress)
    return trainer


def recipe(name: str) -> dict:
    """``RECIPES[name]``, or a ValueError that lists the recipes."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {sorted(RECIPES)}")
    return RECIPES[name]


def recipe_loss(name: str) -> nn.Module:
    """The loss recipe ``name`` trains with: cross-entropy, or the paper's MAP criterion."""
    return MAPLoss() if recipe(name)["loss"] == "map" else nn.CrossEntropyLoss()


def train_recipe(name: str, epochs: int | None = None, seed: int = 0, subset: int | None = None,
                 test_subset: int | None = None, progress: bool = True, device="cpu") -> Trainer:
    """Build ``RECIPES[name]``'s model with initial weights drawn from ``seed`` and train it with that recipe
    (``epochs`` overrides the recipe's count) on the first ``subset`` training images, the batches shuffled
    with ``seed``; returns the fitted Trainer. The caller's random state is left as it was."""
    spec = recipe(name)
    epochs = spec["epochs"] if epochs is None else epochs
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    with seeded(seed):
        model = build_model(spec["model"])
    return train_model(model, epochs=epochs, lr=spec["lr"], batch_size=spec["batch_size"],
                       normalize=spec["normalize"], pad=spec["pad"], subset=subset, test_subset=test_subset,
                       seed=seed, one_cycle=spec["one_cycle"], progress=progress, device=device,
                       loss_fn=recipe_loss(name))


class CheckpointError(ValueError):
    """A checkpoint that does not fit the model it is loaded into."""


def _plain(value, where="extra"):
    """Turn ``value`` into what ``torch.load(weights_only=True)`` accepts: tensors and plain containers."""
    if value is None or isinstance(value, (bool, int, float, torch.Tensor)):
        return value
    if isinstance(value, str):
        return str(value)  # drops str subclasses such as torch.__version__'s TorchVersion
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, where) for k, v in value.items()}
    raise TypeError(f"{where} holds a {type(value).__name__}; a checkpoint keeps only numbers, strings, "
                    f"tensors, lists and dicts, so that it loads with weights_only=True. Convert it first.")


def save_checkpoint(model: nn.Module, path, history=None, extra=None) -> Path:
    """Write state dict, architecture name and history. The file is replaced atomically, so an
    interrupted save never destroys an earlier checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "arch": type(model).__name__,
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "history": _plain(list(history or []), "history"), "extra": _plain(dict(extra or {}))}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_checkpoint(model: nn.Module, path, map_location="cpu") -> dict:
    """Load a checkpoint written by ``save_checkpoint`` into ``model`` (weights_only=True).

    Returns the checkpoint dict (its "history" and "extra"). Raises CheckpointError when the file
    belongs to another architecture or its tensors do not fit, and FileNotFoundError when missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Train the model and save it first (Trainer.save).")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path} is not a readable checkpoint ({err}).") from err
    if not isinstance(ckpt, dict) or "arch" not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} was not written by lenet_utils.save_checkpoint (no 'arch'/'state_dict').")
    arch = type(model).__name__
    if ckpt["arch"] != arch:
        raise CheckpointError(
            f"{path} holds a {ckpt['arch']} checkpoint, but the model is a {arch}. "
            f"Build a {ckpt['arch']} to load it, or pick the checkpoint saved for {arch}."
        )
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"{path} does not fit this {arch} (a different configuration?): {err}") from err
    return ckpt
