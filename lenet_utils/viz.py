"""Figures the chapters share: digit grids, feature maps, filters, learning curves, confusion matrices.

Every function returns a matplotlib Figure and draws nothing else, so tests can call it and the
widgets can redraw it.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torchvision.utils import make_grid

from .hooks import capture_activations


def _as_images(x: torch.Tensor) -> torch.Tensor:
    """[N, H, W] or [N, 1, H, W] (any dtype) -> float [N, 1, H, W]."""
    x = torch.as_tensor(x).detach().cpu()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(f"expected images [N, H, W] or [N, C, H, W], got {list(x.shape)}")
    return x.float()


def show_digits(images, labels=None, preds=None, ncols: int = 10, title: str | None = None, scale: float = 1.0):
    """A grid of digits with optional labels (and predictions: wrong ones in red)."""
    images = _as_images(images)
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9 * scale, nrows * 1.05 * scale), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i, 0].numpy(), cmap="gray_r")
        text, color = "", "black"
        if labels is not None:
            text = str(int(labels[i]))
        if preds is not None:
            text = f"{text}→{int(preds[i])}" if text else str(int(preds[i]))
            if labels is not None and int(preds[i]) != int(labels[i]):
                color = "crimson"
        if text:
            ax.set_title(text, fontsize=9, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_grid(images, nrow: int = 8, normalize: bool = True, padding: int = 2, title: str | None = None, ax=None):
    """One picture of many small images, tiled with ``torchvision.utils.make_grid``."""
    grid = make_grid(_as_images(images), nrow=nrow, normalize=normalize, scale_each=normalize, padding=padding,
                     pad_value=1.0)
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(12, 1.2 * nrow), 1.2 * max(1, -(-len(images) // nrow))))
    else:
        fig = ax.figure
    ax.imshow(grid[0].numpy(), cmap="gray")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def plot_feature_maps(model: nn.Module, image: torch.Tensor, layer: str, ncols: int = 8, title: str | None = None):
    """Every feature map that ``layer`` produces for one image ([1, H, W] or [1, 1, H, W])."""
    x = image if image.dim() == 4 else image.unsqueeze(0)
    device = next(model.parameters()).device
    maps = capture_activations(model, x.to(device), [layer])[layer][0]
    if maps.dim() == 1:  # a fully connected layer: show its units as a strip
        maps = maps.view(1, 1, -1)
    maps = maps.unsqueeze(1) if maps.dim() == 3 else maps
    nrow = min(ncols, len(maps))
    fig = image_grid(maps, nrow=nrow, title=title or f"{layer}: {len(maps)} maps of {tuple(maps.shape[-2:])}")
    return fig


def plot_filters(weight: torch.Tensor, ncols: int = 8, title: str | None = None):
    """Convolution kernels [out, in, k, k] as a grid: one tile per (out, in) pair, each scaled on its own."""
    w = weight.detach().cpu()
    if w.dim() != 4:
        raise ValueError(f"expected conv weights [out, in, k, k], got {list(w.shape)}")
    tiles = w.reshape(-1, 1, *w.shape[-2:])
    return image_grid(tiles, nrow=min(ncols, len(tiles)) if w.shape[1] == 1 else w.shape[1],
                      title=title or f"{w.shape[0]} filters of {w.shape[1]}x{w.shape[2]}x{w.shape[3]}")


def plot_history(history: list[dict], title: str | None = None):
    """Training loss and train/test accuracy per epoch."""
    if not history:
        raise ValueError("history is empty: train for at least one epoch first")
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_loss.plot(epochs, [row["train_loss"] for row in history], "o-", label="train")
    if "test_loss" in history[0]:
        ax_loss.plot(epochs, [row["test_loss"] for row in history], "s--", label="test")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.plot(epochs, [100 * row["train_acc"] for row in history], "o-", label="train")
    if "test_acc" in history[0]:
        ax_acc.plot(epochs, [100 * row["test_acc"] for row in history], "s--", label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_histories(histories: dict[str, list[dict]], title: str | None = None, legend_title: str | None = None):
    """Training loss (left, log scale) and test accuracy (right) per epoch, one line per named history."""
    if not histories or any(not h for h in histories.values()):
        raise ValueError("give at least one non-empty history, e.g. {'paper': trainer.history}")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, hist in histories.items():
        epochs = [r["epoch"] for r in hist]
        ax_loss.plot(epochs, [r["train_loss"] for r in hist], "o-", label=name)
        ax_acc.plot(epochs, [100 * r["test_acc"] for r in hist], "o-", label=name)
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title="training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
    low = min(100 * r["test_acc"] for h in histories.values() for r in h)
    ax_acc.set_ylim(max(low - 0.5, 90 if low > 90.5 else low - 0.5), 100)
    longest = max(histories.values(), key=len)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(title=legend_title, fontsize=8)
        ax.set_xticks([r["epoch"] for r in longest])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion(y_true, y_pred, labels=None, title: str | None = None):
    """Confusion matrix (scikit-learn) with counts in the cells."""
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ConfusionMatrixDisplay.from_predictions(np.asarray(y_true), np.asarray(y_pred), labels=labels, ax=ax,
                                            colorbar=False, cmap="Blues")
    ax.set_title(title or "confusion matrix")
    fig.tight_layout()
    return fig


def plot_misclassified(images, y_true, y_pred, max_images: int = 20, ncols: int = 10):
    """The first ``max_images`` test images the model got wrong, titled label→prediction."""
    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    wrong = (y_true != y_pred).nonzero().flatten()[:max_images]
    if len(wrong) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        ax.axis("off")
        return fig
    return show_digits(torch.as_tensor(images)[wrong], y_true[wrong], y_pred[wrong], ncols=ncols,
                       title=f"{int((y_true != y_pred).sum())} misclassified (label→prediction)")
