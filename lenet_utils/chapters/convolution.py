"""Chapter 3, convolution: the kernel sliding over a padded input and one digit's feature maps, as pure
figures (each function returns a matplotlib Figure), and the widgets that put controls on them."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle
from torch import nn

from ..shapes import conv_output_size_total_padding
from ..viz import plot_feature_maps
from ..widgets import interactive_figure

WINDOW_COLORS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown")


def message_figure(text: str, title: str | None = None, width: float = 7.0):
    """A one-axis figure that shows ``text`` (e.g. why a setting is impossible) instead of a plot."""
    fig, ax = plt.subplots(figsize=(width, 1.8))
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=10, color="crimson")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def _grid(ax, size, colors=None, hatch_border=0):
    """Draw a size x size board of unit cells; the outer ``hatch_border`` rings are padding."""
    for i in range(size):
        for j in range(size):
            pad = min(i, j, size - 1 - i, size - 1 - j) < hatch_border
            face = (colors or {}).get((i, j), "0.85" if pad else "white")
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=face, edgecolor="0.6", linewidth=0.5))
    ax.set_xlim(-0.2, size + 0.2)
    ax.set_ylim(size + 0.2, -0.2)  # row 0 at the top, like an image
    ax.set_aspect("equal")
    ax.axis("off")


def plot_conv_geometry(n: int = 7, kernel: int = 3, padding: int = 0, stride: int = 1, windows: int = 3):
    """A kernel sliding over an n x n input padded by ``padding`` pixels on each side (as nn.Conv2d
    counts it), drawn next to the output grid it produces.

    The first ``windows`` window positions along the top row are outlined in colour, and the output
    cell each one produces gets the same colour. The title evaluates the second source document's
    formula floor((n_h - k_h + p_h + s_h) / s_h) with p_h = 2 * padding. A setting for which no output
    exists (the kernel does not fit) gives a one-axis figure with the reason instead of a plot.
    Returns a Figure with two axes (padded input, output) or one (the message).
    """
    title = f"n = {n}, k = {kernel}, padding = {padding} per side (p_h = {2 * padding}), s = {stride}"
    try:
        out = conv_output_size_total_padding(n, kernel, 2 * padding, stride)
    except ValueError as err:
        return message_figure(f"No output for this setting:\n{err}", title=title)
    if not isinstance(windows, int) or windows < 0:
        raise ValueError(f"windows must be an integer >= 0 (window positions to outline), got {windows!r}")
    size = n + 2 * padding
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(9, 4.6), gridspec_kw={"width_ratios": [size, max(out, 3)]})
    positions = list(range(min(windows, out)))
    out_colors = {(0, j): WINDOW_COLORS[j % len(WINDOW_COLORS)] for j in positions}
    _grid(ax_in, size, hatch_border=padding)
    for j in positions:  # window j of the top row starts at column j * stride
        color = WINDOW_COLORS[j % len(WINDOW_COLORS)]
        ax_in.add_patch(Rectangle((j * stride + 0.08 * j, 0.08 * j), kernel, kernel, fill=False, edgecolor=color,
                                  linewidth=2.5))
    ax_in.set_title(f"padded input {size} x {size} (grey = padding)", fontsize=10)
    _grid(ax_out, out, colors=out_colors)
    ax_out.set_title(f"output {out} x {out}", fontsize=10)
    fig.suptitle(f"{title}\n"
                 rf"$\lfloor (n_h - k_h + p_h + s_h)/s_h \rfloor = \lfloor ({n} - {kernel} + {2 * padding} + {stride})"
                 rf"/{stride} \rfloor = {out}$", fontsize=11)
    fig.tight_layout()
    return fig


def plot_digit_feature_maps(model: nn.Module, images: torch.Tensor, index: int, layer: str, labels=None,
                            ncols: int = 8):
    """Every map that ``layer`` of ``model`` produces for ``images[index]`` (images [N, 1, H, W], prepared
    for the model). Returns the Figure of ``viz.plot_feature_maps``."""
    if images.dim() != 4:
        raise ValueError(f"images must be a prepared batch [N, 1, H, W], got {list(images.shape)}; "
                         f"use lenet_utils.prepare(images)")
    if not 0 <= index < len(images):
        raise ValueError(f"index must be in 0..{len(images) - 1} (there are {len(images)} images), got {index}")
    label = f" (label {int(labels[index])})" if labels is not None else ""
    maps = plot_feature_maps(model, images[index], layer, ncols=ncols)
    maps.axes[0].set_title(f"test digit {index}{label}: {maps.axes[0].get_title()}", fontsize=10)
    return maps


def conv_shape_widget(n: int = 7, kernel: int = 3, padding: int = 0, stride: int = 1):
    """Sliders for input size n (1-32), kernel k (1-7), padding per side (0-3) and stride s (1-4)
    over ``plot_conv_geometry``."""
    import ipywidgets as widgets

    slider = dict(continuous_update=False)
    return interactive_figure(
        plot_conv_geometry,
        n=widgets.IntSlider(n, 1, 32, description="n", **slider),
        kernel=widgets.IntSlider(kernel, 1, 7, description="k", **slider),
        padding=widgets.IntSlider(padding, 0, 3, description="padding", **slider),
        stride=widgets.IntSlider(stride, 1, 4, description="s", **slider),
        windows=widgets.fixed(3),
    )


def feature_map_widget(model, images, labels=None, layers=("c1", "s2", "c3", "s4")):
    """A slider over ``images`` (a prepared batch [N, 1, H, W]) and a menu of ``model``'s layers over
    ``plot_digit_feature_maps``."""
    import ipywidgets as widgets

    if len(images) == 0:
        raise ValueError("images is empty: pass a batch of prepared test digits [N, 1, H, W]")
    return interactive_figure(
        plot_digit_feature_maps,
        model=widgets.fixed(model), images=widgets.fixed(images), labels=widgets.fixed(labels),
        index=widgets.IntSlider(0, 0, len(images) - 1, description="digit", continuous_update=False),
        layer=widgets.Dropdown(options=list(layers), description="layer"),
        ncols=widgets.fixed(8),
    )


__all__ = ["message_figure", "plot_conv_geometry", "plot_digit_feature_maps", "conv_shape_widget",
           "feature_map_widget"]
