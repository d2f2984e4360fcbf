"""Chapter 2, the input layer: padding 28 -> 32, which pixels the first convolution sees how often,
what the choice of pixel scaling does to training, and a browser of the digits.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle
from torch.nn import functional as F

from ..models import build_model
from ..train import seeded, train_model
from ..viz import plot_histories
from ..widgets import interactive_figure

NORMALIZATIONS = (None, "unit", "standard", "paper")  # the names prepare() accepts


def window_coverage(n: int = 28, kernel: int = 5, padding: int = 0) -> torch.Tensor:
    """How many ``kernel`` x ``kernel`` windows of a stride-1 convolution cover each pixel of an n x n image
    padded by ``padding`` pixels on each side: int64 [n, n] (the padding itself is left out).

    Computed as a transposed convolution of an all-ones output map with an all-ones kernel: every output
    position adds 1 to each input pixel of its window.
    """
    if n < 1 or kernel < 1 or padding < 0:
        raise ValueError(f"need n >= 1, kernel >= 1 and padding >= 0, got n={n}, kernel={kernel}, padding={padding}")
    out = n + 2 * padding - kernel + 1
    if out < 1:
        raise ValueError(f"a {kernel}x{kernel} kernel does not fit in a {n}x{n} image padded by {padding}: "
                         f"output size n + 2*padding - kernel + 1 = {out}; use a smaller kernel or more padding")
    counts = F.conv_transpose2d(torch.ones(1, 1, out, out), torch.ones(1, 1, kernel, kernel))[0, 0]
    return counts[padding : padding + n, padding : padding + n].round().long()


def plot_coverage(n: int = 28, kernel: int = 5, paddings=(0, 2)):
    """Heat maps of ``window_coverage`` for each padding, side by side."""
    fig, axes = plt.subplots(1, len(paddings), figsize=(3.6 * len(paddings), 3.4), squeeze=False)
    for ax, p in zip(axes[0], paddings):
        cov = window_coverage(n, kernel, p)
        im = ax.imshow(cov.numpy(), cmap="viridis", vmin=0, vmax=kernel * kernel)
        ax.set_title(f"padding {p}: corner {int(cov[0, 0])}, centre {int(cov[n // 2, n // 2])}", fontsize=10)
        ax.set_xticks([0, n - 1])
        ax.set_yticks([0, n - 1])
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label=f"{kernel}x{kernel} windows covering the pixel")
    return fig


def plot_padded_digit(image, label=None, pad: bool = True, ax=None):
    """One 28x28 digit (uint8 or float), optionally padded to 32x32 with the padded border shaded in orange
    and the original 28x28 field outlined."""
    im = torch.as_tensor(image).float().squeeze()
    if tuple(im.shape) != (28, 28):
        raise ValueError(f"expected one 28x28 digit, got shape {list(im.shape)}")
    if pad:
        im = F.pad(im, (2, 2, 2, 2))
    fig = ax.figure if ax is not None else plt.figure(figsize=(3.2, 3.4))
    ax = ax if ax is not None else fig.add_subplot()
    side = im.shape[-1]
    ax.imshow(im.numpy(), cmap="gray_r", extent=(-0.5, side - 0.5, side - 0.5, -0.5))
    if pad:
        for x, y, w, h in ((-0.5, -0.5, 32, 2), (-0.5, 29.5, 32, 2), (-0.5, 1.5, 2, 28), (29.5, 1.5, 2, 28)):
            ax.add_patch(Rectangle((x, y), w, h, color="tab:orange", alpha=0.45, lw=0))
        ax.add_patch(Rectangle((1.5, 1.5), 28, 28, fill=False, ec="tab:orange", lw=1.5))
    ax.set_xticks([0, side - 1])
    ax.set_yticks([0, side - 1])
    ax.set_title(f"{'' if label is None else f'label {int(label)}, '}{side}x{side}", fontsize=10)
    return fig


def plot_digit_browser(images, labels, digit: int = 3, index: int = 0, pad: bool = True):
    """The ``index``-th image of class ``digit`` (images uint8 [N, 28, 28], labels [N]), padded or not."""
    labels = torch.as_tensor(labels)
    if not 0 <= digit <= 9:
        raise ValueError(f"digit must be 0..9, got {digit}")
    members = (labels == digit).nonzero().flatten()
    if not 0 <= index < len(members):
        raise ValueError(f"there are {len(members)} images of digit {digit}; index must be 0..{len(members) - 1}, "
                         f"got {index}")
    fig = plot_padded_digit(images[members[index]], digit, pad)
    fig.axes[0].set_title(f"digit {digit}, #{index} of {len(members)} "
                          f"({'padded to 32x32' if pad else '28x28'})", fontsize=10)
    return fig


def compare_normalizations(model_name: str = "LeNet5Paper", normalizations=NORMALIZATIONS, epochs: int = 2,
                           subset: int = 6000, test_subset: int = 2000, lr: float = 1e-3, batch_size: int = 128,
                           optimizer: str = "adam", seed: int = 0, pad: bool = True, progress: bool = True) -> dict:
    """Train the same model, same seed, same optimizer ("adam" or "sgd" with momentum) on differently
    scaled inputs. Returns {name: history}, where the
    name is the ``prepare`` normalize argument ("raw" for None) and history is the Trainer's list of dicts."""
    bad = [n for n in normalizations if n not in NORMALIZATIONS]
    if bad:
        raise ValueError(f"unknown normalization(s) {bad}; choose from {NORMALIZATIONS}")
    out = {}
    for norm in normalizations:
        with seeded(seed):
            model = build_model(model_name)
        trainer = train_model(model, epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, normalize=norm, pad=pad, subset=subset,
                              test_subset=test_subset, seed=seed, progress=progress)
        out["raw" if norm is None else norm] = trainer.history
    return out


def plot_normalization_curves(histories: dict):
    """Test accuracy and training loss per epoch, one line per input scaling (output of compare_normalizations)."""
    if not histories:
        raise ValueError("histories is empty: pass the dict that compare_normalizations returns")
    return plot_histories(histories, legend_title="input scaling")


def digit_browser(images, labels, digit: int = 3, index: int = 0, pad: bool = True):
    """Widget over ``plot_digit_browser``: a menu for the class, a slider for the index within the class,
    a checkbox for the padding. images: uint8 [N, 28, 28]; labels: int [N]."""
    import ipywidgets as widgets

    labels = torch.as_tensor(labels)
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
    counts = torch.bincount(labels, minlength=10)
    index_slider = widgets.IntSlider(index, 0, int(counts[digit]) - 1, description="index")
    class_menu = widgets.Dropdown(options=list(range(10)), value=digit, description="class")

    def _clip(change):  # each class has its own number of images
        index_slider.max = int(counts[change["new"]]) - 1

    class_menu.observe(_clip, names="value")
    return interactive_figure(
        lambda digit, index, pad: plot_digit_browser(images, labels, digit, min(index, int(counts[digit]) - 1), pad),
        digit=class_menu, index=index_slider, pad=widgets.Checkbox(pad, description="pad to 32x32"),
    )
