"""Figures and widgets of chapter 7 (what LeNet invented).

The ``plot_*`` functions are pure: they take data, return a matplotlib Figure and draw nothing else.
The ``*_widget`` functions wrap them in ``ipywidgets.interactive`` for a live notebook.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .experiments import permute_pixels


def plot_permutation(images: torch.Tensor, perm: torch.Tensor, labels=None, n: int = 8):
    """Two rows of ``n`` digits: as written (top) and with their pixels permuted by ``perm`` (bottom).
    ``images``: [N, 28, 28] or [N, 1, 28, 28]; 2 x n axes."""
    if not 1 <= n <= len(images):
        raise ValueError(f"n must be between 1 and the number of images ({len(images)}), got {n}")
    images = images[:n].reshape(n, *images.shape[-2:]).float()
    shuffled = permute_pixels(images, perm)
    fig, axes = plt.subplots(2, n, figsize=(1.1 * n, 2.5), squeeze=False)
    for i in range(n):
        for row, batch in enumerate((images, shuffled)):
            ax = axes[row, i]
            ax.imshow(batch[i].numpy(), cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        if labels is not None:
            axes[0, i].set_title(str(int(labels[i])), fontsize=9)
    axes[0, 0].set_ylabel("original", fontsize=9)
    axes[1, 0].set_ylabel("permuted", fontsize=9)
    fig.tight_layout()
    return fig


def plot_layer_probe(features: dict, labels, accuracies: dict, layer: str, max_points: int = 1000):
    """Left: nearest-neighbour accuracy per layer (``layer`` highlighted). Right: the test features of
    ``layer`` ([N, D]) projected onto their first two principal components, coloured by digit. 2 axes."""
    from sklearn.decomposition import PCA

    if layer not in features or layer not in accuracies:
        raise ValueError(f"unknown layer {layer!r}; choose one of {list(features)}")
    names = list(accuracies)
    fig, (ax_bar, ax_pca) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1, 1.3]})
    colors = ["tab:orange" if name == layer else "tab:blue" for name in names]
    values = [100 * accuracies[name] for name in names]
    ax_bar.bar(names, values, color=colors)
    for i, v in enumerate(values):
        ax_bar.text(i, v + 0.3, f"{v:.1f}", ha="center", fontsize=9)
    low = min(values)
    ax_bar.set_ylim(max(0, low - 5), 100.5)
    ax_bar.set(ylabel="1-NN test accuracy (%)", title="nearest neighbour on each layer")
    feats, y = np.asarray(features[layer])[:max_points], np.asarray(labels)[:max_points]
    xy = PCA(n_components=2, random_state=0).fit_transform(feats)
    scatter = ax_pca.scatter(xy[:, 0], xy[:, 1], c=y, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    fig.colorbar(scatter, ax=ax_pca, ticks=range(10), label="digit")
    ax_pca.set(title=f"{layer}: {feats.shape[1]} numbers per image, first two principal components",
               xlabel="PC 1", ylabel="PC 2")
    ax_pca.title.set_fontsize(10)
    fig.tight_layout()
    return fig


def layer_probe_widget(features: dict, labels, accuracies: dict):
    """A drop-down over the layers that redraws ``plot_layer_probe``."""
    import ipywidgets as widgets

    def show(layer):
        fig = plot_layer_probe(features, labels, accuracies, layer)
        plt.show()
        return fig

    return widgets.interactive(show, layer=widgets.Dropdown(options=list(features), value=list(features)[-1],
                                                             description="layer"))


def plot_permutation_accuracy(results: dict, permuted: bool = True):
    """Test accuracy of each model on original pixels and, with ``permuted``, on permuted pixels.
    ``results``: {(model name, permuted?): accuracy}. 1 axis."""
    models = list(dict.fromkeys(name for name, _ in results))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    width = 0.38
    for j, perm in enumerate((False, True) if permuted else (False,)):
        vals = [100 * results[(m, perm)] for m in models]
        xs = np.arange(len(models)) + (j - 0.5) * width if permuted else np.arange(len(models))
        bars = ax.bar(xs, vals, width, label="permuted pixels" if perm else "original pixels")
        ax.bar_label(bars, fmt="%.1f", fontsize=9)
    ax.set_xticks(np.arange(len(models)), models)
    ax.set_ylim(min(100 * v for v in results.values()) - 8, 103)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="upper right", ncols=2, fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["plot_permutation", "plot_layer_probe", "layer_probe_widget", "plot_permutation_accuracy"]
