"""Widget of chapter 2: browse MNIST digits by class, with the 28 -> 32 padding on or off.

The figure itself is ``lenet_utils.input_layer.plot_digit_browser`` (a pure function); this is only the
ipywidgets wrapper around it.
"""
from __future__ import annotations

import torch

from .input_layer import plot_digit_browser


def digit_browser(images, labels, digit: int = 3, index: int = 0, pad: bool = True):
    """Dropdown for the class, slider for the index within the class, checkbox for the padding.

    images: uint8 [N, 28, 28]; labels: int [N].
    """
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
    return widgets.interactive(
        lambda digit, index, pad: plot_digit_browser(images, labels, digit, min(index, int(counts[digit]) - 1), pad),
        digit=class_menu, index=index_slider, pad=widgets.Checkbox(pad, description="pad to 32x32"),
    )
