"""Chapter 5, fully connected layers: following a batch's shape through a LeNet up to and through its fully
connected layers, where the parameters sit, and the figures and widget of the chapter."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.patches import Patch
import torch
from torch import nn

from ..data import load_mnist, prepare
from ..hooks import record_calls
from ..models import MODELS
from ..shapes import layer_table
from ..widgets import interactive_figure


def trace_flow(model: nn.Module, x: torch.Tensor) -> list[dict]:
    """Run ``x`` ([N, C, H, W]) through ``model`` and list every step in call order.

    One row per leaf-module call: {"name", "type", "in_shape", "out_shape"}. Where a tensor changes
    shape between two modules (a ``view``/``flatten`` or ``F.pad`` written in ``forward``), a row of
    type "forward()" is inserted for that step. The first row is the input itself (type "input").
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"trace_flow expects a batch of images [N, C, H, W], got "
                         f"{list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    _, calls = record_calls(model, x)
    rows = [{"name": "input", "type": "input", "in_shape": tuple(x.shape), "out_shape": tuple(x.shape)}]
    for call in calls:
        name, kind = call.name, type(call.module).__name__
        in_shape, out_shape = tuple(call.input.shape), tuple(call.output.shape)
        previous = rows[-1]["out_shape"]
        if in_shape != previous:
            step = "flatten" if len(in_shape) < len(previous) else "reshape/pad"
            rows.append({"name": f"({step} in forward)", "type": "forward()", "in_shape": previous,
                         "out_shape": in_shape})
        rows.append({"name": name, "type": kind, "in_shape": in_shape, "out_shape": out_shape})
    return rows


def parameter_share(model: nn.Module, input_size=(1, 1, 28, 28)) -> list[dict]:
    """``layer_table`` rows of every layer that has parameters, each with "share": its fraction of
    all trainable parameters. The shares add up to 1."""
    rows = [row for row in layer_table(model, input_size=input_size, depth=2) if row["params"] > 0]
    total = sum(row["params"] for row in rows)
    if total == 0:
        raise ValueError(f"{type(model).__name__} has no trainable parameters to share out")
    return [{**row, "share": row["params"] / total} for row in rows]


def plot_shape_flow(model_name: str = "LeNet5Classic", batch_size: int = 256):
    """A batch of ``batch_size`` real MNIST test images through ``model_name`` (a key of MODELS):
    one bar per step, its length the number of values per sample (log scale), labelled with the
    full batch shape. Returns a Figure with 1 axes."""
    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r}; choose one of {sorted(MODELS)}")
    if not isinstance(batch_size, int) or not 1 <= batch_size <= 10_000:
        raise ValueError(f"batch_size must be an integer from 1 to 10000 (the test set's size), got {batch_size!r}")
    images, _ = load_mnist(train=False)
    x = prepare(images[:batch_size])
    rows = trace_flow(MODELS[model_name](), x)
    sizes = [math.prod(row["out_shape"][1:]) for row in rows]
    groups = {"Conv2d": ("C0", "convolution"), "Linear": ("C1", "fully connected (Linear)"),
              "MaxPool2d": ("C9", "pooling"), "Subsampling": ("C9", "pooling"),
              "input": ("C7", "input / reshape"), "forward()": ("C7", "input / reshape"),
              "Flatten": ("C7", "input / reshape")}
    colors = [groups.get(r["type"], ("C2", "activation"))[0] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.34 * len(rows) + 1.3))
    y = list(range(len(rows)))
    ax.barh(y, sizes, color=colors)
    for i, (row, size) in enumerate(zip(rows, sizes)):
        ax.text(size * 1.15, i, f"{list(row['out_shape'])}", va="center", fontsize=8, family="monospace")
    labels = [r["name"] if r["type"] in ("input", "forward()") else f"{r['name']} ({r['type']})" for r in rows]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(1, max(sizes) * 12)
    ax.set_xlabel("values per sample (log scale); label = shape of the whole batch")
    ax.set_title(f"{model_name}, a batch of {batch_size} MNIST images")
    legend = {label: color for color, label in groups.values()} | {"activation": "C2"}
    ax.legend(handles=[Patch(color=c, label=l) for l, c in legend.items()], fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def plot_class_means(activations: dict, labels, title: str | None = None):
    """Per-class mean of a layer's outputs as a heatmap, one panel per entry of ``activations``
    ({panel title: tensor [N, D]}); ``labels`` int [N]. Rows are the classes, columns the D units.
    Returns a Figure with one axes per panel."""
    labels = torch.as_tensor(labels)
    if not activations:
        raise ValueError("activations is empty: pass {title: tensor [N, D]}")
    for name, h in activations.items():
        if h.dim() != 2 or len(h) != len(labels):
            raise ValueError(f"activations[{name!r}] must be [N, D] with N = len(labels) = {len(labels)}, "
                             f"got {list(h.shape)}")
    classes = sorted(int(c) for c in labels.unique())
    fig, axes = plt.subplots(len(activations), 1, figsize=(9, 1.9 * len(activations) + 0.4), squeeze=False)
    for ax, (name, h) in zip(axes[:, 0], activations.items()):
        means = torch.stack([h[labels == c].float().mean(0) for c in classes])
        image = ax.imshow(means.numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set(ylabel="digit", title=f"{name}: mean of each unit per digit")
        fig.colorbar(image, ax=ax, pad=0.01)
    axes[-1, 0].set_xlabel("unit")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def shape_flow_widget():
    """Pick a model and a batch size; redraws ``plot_shape_flow``."""
    import ipywidgets as widgets

    return interactive_figure(
        plot_shape_flow,
        model_name=widgets.Dropdown(options=sorted(MODELS), value="LeNet5Classic", description="model"),
        batch_size=widgets.IntSlider(value=256, min=1, max=1024, step=1, description="batch size",
                                     continuous_update=False),
    )


__all__ = ["trace_flow", "parameter_share", "plot_shape_flow", "plot_class_means", "shape_flow_widget"]
