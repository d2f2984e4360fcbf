"""Figures for the reproduction chapter: Table I, the RBF bitmaps, F6 against the bitmaps, curves.

Every function is pure: it takes data, draws a new matplotlib Figure and returns it.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .faithful import BITMAP_HEIGHT, BITMAP_WIDTH, connection_table, rbf_centres


def plot_connection_table(table: torch.Tensor | None = None):
    """Table I: rows = the 6 S2 maps, columns = the 16 C3 maps, filled where connected."""
    table = connection_table() if table is None else table
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.imshow(table.T.numpy(), cmap="Greys", vmin=0, vmax=1.4)
    ax.set_xticks(range(16))
    ax.set_yticks(range(6))
    ax.set_xlabel("C3 map")
    ax.set_ylabel("S2 map")
    ax.set_xticks(np.arange(-0.5, 16), minor=True)
    ax.set_yticks(np.arange(-0.5, 6), minor=True)
    ax.grid(which="minor", color="0.7", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_title(f"C3 connection table: {int(table.sum())} of {table.numel()} map pairs connected")
    fig.tight_layout()
    return fig


def plot_rbf_bitmaps(centres: torch.Tensor | None = None):
    """The 10 fixed RBF centres as 7x12 bitmaps (+1 black, -1 white)."""
    centres = rbf_centres() if centres is None else centres
    fig, axes = plt.subplots(1, 10, figsize=(10, 2.2))
    for digit, ax in enumerate(axes):
        ax.imshow(centres[digit].view(BITMAP_HEIGHT, BITMAP_WIDTH).numpy(), cmap="Greys", vmin=-1, vmax=1)
        ax.set_title(str(digit))
        ax.axis("off")
    fig.suptitle("RBF centres: one 7x12 bitmap of +1/-1 per digit (fixed, not trained)")
    fig.tight_layout()
    return fig


def plot_f6_against_rbf(image: torch.Tensor, f6: torch.Tensor, penalties: torch.Tensor, label: int | None = None,
                        centres: torch.Tensor | None = None):
    """One input digit, its 84 F6 outputs drawn as a 7x12 picture, and its squared distance to each
    digit's bitmap (the RBF penalties y_i; the smallest is the prediction)."""
    centres = rbf_centres() if centres is None else centres
    f6, penalties = f6.detach().cpu().flatten(), penalties.detach().cpu().flatten()
    pred = int(penalties.argmin())
    fig = plt.figure(figsize=(10, 3.2))
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 0.7, 0.7, 2.4])
    ax = fig.add_subplot(grid[0])
    ax.imshow(image.detach().cpu().squeeze().numpy(), cmap="Greys")
    ax.set_title("input" + (f" (label {label})" if label is not None else ""))
    ax.axis("off")
    ax = fig.add_subplot(grid[1])
    ax.imshow(f6.view(BITMAP_HEIGHT, BITMAP_WIDTH).numpy(), cmap="Greys", vmin=-1.7, vmax=1.7)
    ax.set_title("F6 output")
    ax.axis("off")
    ax = fig.add_subplot(grid[2])
    ax.imshow(centres[pred].view(BITMAP_HEIGHT, BITMAP_WIDTH).numpy(), cmap="Greys", vmin=-1, vmax=1)
    ax.set_title(f"nearest: {pred}")
    ax.axis("off")
    ax = fig.add_subplot(grid[3])
    colors = ["tab:green" if i == pred else "tab:gray" for i in range(10)]
    ax.bar(range(10), penalties.numpy(), color=colors)
    ax.set_xticks(range(10))
    ax.set_xlabel("RBF unit (digit)")
    ax.set_ylabel("penalty $y_i$ = squared distance")
    ax.set_title("distance of F6 to each bitmap")
    fig.tight_layout()
    return fig


def plot_reproduction_curves(records: list[dict], paper: dict | None = None):
    """Test error per pass for each run record (as written by ``lenet_utils.reproduce``), with the
    paper's final figures as horizontal lines."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for r in records:
        errors = r["test_error_per_pass"]
        style = "--" if r["run"] == "distorted" else "-"
        ax.plot(range(1, len(errors) + 1), errors, style, marker=".", label=r.get("label", f"{r['optimizer']} {r['run']}"))
    for name, value in (paper or {}).items():
        ax.axhline(value, color="k", linestyle=":" if "dist" in name else "-.", linewidth=1)
        ax.annotate(f"paper, {name}: {value}%", (20, value), xytext=(-4, 3), textcoords="offset points",
                    ha="right", fontsize=8)
    ax.set_ylim(0.4, 3.0)
    ax.set_xlabel("pass over the training set")
    ax.set_ylabel("test error (%)")
    ax.set_title("Faithful LeNet-5 on MNIST: test error per pass")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
