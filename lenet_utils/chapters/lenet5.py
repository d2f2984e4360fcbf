"""Chapter 8, the code of LeNet-5: the book's three LeNet variants, each trained the way its source trains
it, with saved results, and the chapter's figures.

Run ``python -m lenet_utils.cli.variants`` (see ``--help``) to train the variants fully and write, into
``results/variants/``, one checkpoint per variant (``<name>.pt``: weights and per-epoch history) and
``summary.json`` (parameters, final and best test accuracy, seconds per epoch, machine, load, seed).
Chapter 8 loads these files instead of training for minutes. The recipes (model, input scaling, learning
rate, batch size, epochs, schedule) are ``VARIANTS``, three rows of ``lenet_utils.train.RECIPES``;
``lenet_utils.train.train_recipe`` trains one.

``plot_prediction`` and ``prediction_widget`` draw what chapter 8 shows.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from ..data import TensorLoader, load_mnist, prepare
from ..models import build_model
from ..hooks import capture_activations
from ..shapes import count_parameters
from ..train import RECIPES, RESULTS_DIR as _RESULTS, Trainer, describe_machine, load_checkpoint, seeded
from ..widgets import interactive_figure

# The three variants chapter 8 compares, each with the recipe of its source (``lenet_utils.train.RECIPES``).
VARIANTS = {name: RECIPES[name] for name in ("paper", "classic", "modern")}
# The module whose output is each variant's first feature maps (C1, before the activation).
C1_LAYER = {"paper": "c1", "classic": "features.0", "modern": "features.0"}
# Where ``python -m lenet_utils.cli.variants`` writes and chapter 8 reads: results/variants/.
RESULTS_DIR = _RESULTS / "variants"


def _check_name(name: str) -> dict:
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose one of {sorted(VARIANTS)}")
    return VARIANTS[name]


def test_inputs(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The 10,000 MNIST test images prepared as variant ``name`` expects them: float [10000, 1, 28, 28],
    and the labels int64 [10000]."""
    spec = _check_name(name)
    images, labels = load_mnist(train=False)
    return prepare(images, spec["normalize"]), labels


def load_variant(name: str, results_dir=None) -> tuple[torch.nn.Module, dict]:
    """(model with the saved weights, checkpoint dict with "history" and "extra") for variant ``name``."""
    spec = _check_name(name)
    path = Path(results_dir or RESULTS_DIR) / f"{name}.pt"
    model = build_model(spec["model"])
    ckpt = load_checkpoint(model, path)
    model.eval()
    return model, ckpt


def load_summary(results_dir=None) -> dict:
    """summary.json of a finished ``python -m lenet_utils.cli.variants`` run: {variant name: row}."""
    path = Path(results_dir or RESULTS_DIR) / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"No {path}. Train the variants first: python -m lenet_utils.cli.variants")
    return json.loads(path.read_text())["variants"]


def summarize(name: str, trainer: Trainer, seed: int) -> dict:
    """One row of summary.json for a trained variant."""
    spec = VARIANTS[name]
    hist = trainer.history
    return {
        "variant": name, "model": spec["model"], "source": spec["source"], "seed": seed,
        "recipe": {k: spec[k] for k in ("lr", "batch_size", "normalize", "one_cycle")},
        "epochs": len(hist), "parameters": count_parameters(trainer.model),
        "final_test_acc": hist[-1]["test_acc"], "best_test_acc": max(r["test_acc"] for r in hist),
        "best_epoch": max(hist, key=lambda r: r["test_acc"])["epoch"],
        "seconds_per_epoch": sum(r["seconds"] for r in hist) / len(hist),
        "samples_per_s": sum(r["samples_per_s"] for r in hist) / len(hist),
    }


def measure_speed(name: str, samples: int = 10_000, seed: int = 0) -> dict:
    """Time one pass over ``samples`` training images with the variant's recipe (after a short warm-up)
    and extrapolate to a 60,000-image epoch. Records the load average, since shared machines are noisy."""
    spec = _check_name(name)
    if not isinstance(samples, int) or samples < spec["batch_size"]:
        raise ValueError(f"samples must be an integer of at least one batch ({spec['batch_size']}), got {samples!r}")
    images, labels = load_mnist(train=True)
    loader = TensorLoader(prepare(images[:samples], spec["normalize"]), labels[:samples], spec["batch_size"],
                          shuffle=True, seed=seed)
    with seeded(seed):
        model = build_model(spec["model"])
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=spec["lr"]), device="cpu")
    warm = TensorLoader(loader.x[:4 * spec["batch_size"]], loader.y[:4 * spec["batch_size"]], spec["batch_size"])
    trainer.train_epoch(warm, progress=False)
    machine = describe_machine()
    row = trainer.train_epoch(loader, progress=False)
    return {"samples": samples, "samples_per_s": round(row["samples_per_s"]),
            "seconds_per_60k_epoch": round(60_000 / row["samples_per_s"], 1),
            "load_average_1min": machine["load_average_1min"], "machine": machine,
            "date": time.strftime("%Y-%m-%d %H:%M")}


@torch.no_grad()
def plot_prediction(model: torch.nn.Module, x: torch.Tensor, c1_layer: str, label: int | None = None,
                    title: str | None = None):
    """One prepared digit ``x`` ([1, 28, 28] or [1, 1, 28, 28]): the image, the model's class probabilities
    (softmax of its scores) and the feature maps of ``c1_layer``. 2 + (number of C1 maps) axes."""
    x = x.unsqueeze(0) if x.dim() == 3 else x
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one prepared image [1, 28, 28] or [1, 1, 28, 28], got {list(x.shape)}")
    maps = capture_activations(model, x, [c1_layer])[c1_layer][0]
    model.eval()
    probs = torch.softmax(model(x), dim=1)[0]
    pred = int(probs.argmax())
    n = len(maps)
    fig = plt.figure(figsize=(10, 3.6))
    grid = fig.add_gridspec(2, max(n, 4), height_ratios=[2, 1])
    ax_img = fig.add_subplot(grid[0, :2])
    ax_img.imshow(x[0, 0].numpy(), cmap="gray_r")
    ax_img.set_title(f"label {label}, predicted {pred}" if label is not None else f"predicted {pred}",
                     color="crimson" if label is not None and label != pred else "black")
    ax_img.axis("off")
    ax_bar = fig.add_subplot(grid[0, 2:])
    colors = ["tab:orange" if i == pred else "tab:blue" for i in range(len(probs))]
    ax_bar.bar(range(len(probs)), probs.numpy(), color=colors)
    ax_bar.set(xticks=range(len(probs)), ylim=(0, 1), xlabel="digit", ylabel="probability",
               title="softmax of the scores")
    for i in range(n):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(maps[i].numpy(), cmap="gray")
        ax.set_title(f"C1 map {i}", fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def prediction_widget(models: dict, inputs: dict, labels: torch.Tensor):
    """Pick a variant and a test image: redraws ``plot_prediction``. ``models`` and ``inputs`` are keyed by
    variant name (``inputs[name]`` the test images prepared for that variant)."""
    import ipywidgets as widgets

    def figure(variant, index):
        return plot_prediction(models[variant], inputs[variant][index], C1_LAYER[variant], int(labels[index]),
                               title=f"{variant}: test image {index}")

    return interactive_figure(figure, variant=widgets.Dropdown(options=list(models), description="variant"),
                              index=widgets.IntSlider(0, 0, len(labels) - 1, description="test image"))
