"""Widgets of the convolution chapter: thin ipywidgets wrappers around the pure figures of
``conv_figures``. Run them in a live Jupyter kernel; the book shows the pure figure instead."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from .conv_figures import plot_conv_geometry, plot_digit_feature_maps


def interactive_figure(figure_fn, **controls) -> widgets.interactive:
    """``ipywidgets.interactive`` over a function that returns a Figure; each change shows the new
    figure exactly once (the figure is closed so the inline backend does not draw it a second time)."""
    def show(**kwargs):
        fig = figure_fn(**kwargs)
        plt.close(fig)
        display(fig)

    return widgets.interactive(show, **controls)


def conv_shape_widget(n: int = 7, kernel: int = 3, padding: int = 0, stride: int = 1) -> widgets.interactive:
    """Sliders for input size n (1-32), kernel k (1-7), padding per side (0-3) and stride s (1-4)
    over ``plot_conv_geometry``."""
    slider = dict(continuous_update=False)
    return interactive_figure(
        plot_conv_geometry,
        n=widgets.IntSlider(n, 1, 32, description="n", **slider),
        kernel=widgets.IntSlider(kernel, 1, 7, description="k", **slider),
        padding=widgets.IntSlider(padding, 0, 3, description="padding", **slider),
        stride=widgets.IntSlider(stride, 1, 4, description="s", **slider),
        windows=widgets.fixed(3),
    )


def feature_map_widget(model, images, labels=None, layers=("c1", "s2", "c3", "s4")) -> widgets.interactive:
    """A slider over ``images`` (a prepared batch [N, 1, H, W]) and a menu of ``model``'s layers over
    ``plot_digit_feature_maps``."""
    if len(images) == 0:
        raise ValueError("images is empty: pass a batch of prepared test digits [N, 1, H, W]")
    return interactive_figure(
        plot_digit_feature_maps,
        model=widgets.fixed(model), images=widgets.fixed(images), labels=widgets.fixed(labels),
        index=widgets.IntSlider(0, 0, len(images) - 1, description="digit", continuous_update=False),
        layer=widgets.Dropdown(options=list(layers), description="layer"),
        ncols=widgets.fixed(8),
    )


__all__ = ["interactive_figure", "conv_shape_widget", "feature_map_widget"]
