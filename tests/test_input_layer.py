import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import lenet_utils as lu
from lenet_utils.chapters import input_layer as il
from lenet_utils.chapters.input_layer import digit_browser


def loop_coverage(n, k, p):
    counts = np.zeros((n + 2 * p,) * 2, dtype=int)
    for i in range(n + 2 * p - k + 1):
        for j in range(n + 2 * p - k + 1):
            counts[i : i + k, j : j + k] += 1
    return counts[p : p + n, p : p + n]


@pytest.mark.parametrize("n,k,p", [(28, 5, 0), (28, 5, 2), (10, 3, 1), (7, 7, 0)])
def test_window_coverage_matches_loops(n, k, p):
    cov = il.window_coverage(n, k, p)
    assert cov.shape == (n, n) and cov.dtype == torch.int64
    assert np.array_equal(cov.numpy(), loop_coverage(n, k, p))


def test_window_coverage_values():
    cov0, cov2 = il.window_coverage(28, 5, 0), il.window_coverage(28, 5, 2)
    assert (cov0[0, 0], cov0[0, 14], cov0[14, 14]) == (1, 5, 25)
    assert (cov2[0, 0], cov2[14, 14]) == (9, 25)
    assert int((cov0 == 25).sum()) == 20 * 20


def test_window_coverage_errors():
    with pytest.raises(ValueError, match="does not fit"):
        il.window_coverage(4, 5, 0)
    with pytest.raises(ValueError, match="padding >= 0"):
        il.window_coverage(28, 5, -1)


def test_figures(data_root):
    images, labels = lu.load_mnist(train=False)
    fig = il.plot_coverage(28, 5, (0, 2))
    assert len(fig.axes) == 3                                       # two maps and a colour bar
    for ax, p in zip(fig.axes, (0, 2)):
        assert np.array_equal(ax.images[0].get_array(), il.window_coverage(28, 5, p).numpy())
    assert fig.axes[0].get_title() == "padding 0: corner 1, centre 25"
    fig = il.plot_padded_digit(images[0], labels[0], pad=True)
    assert fig.axes[0].images[0].get_array().shape == (32, 32) and len(fig.axes[0].patches) == 5
    fig = il.plot_padded_digit(images[0], pad=False)
    assert fig.axes[0].images[0].get_array().shape == (28, 28) and not fig.axes[0].patches
    fig = il.plot_digit_browser(images, labels, digit=7, index=2, pad=True)
    assert "digit 7, #2 of" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="expected one 28x28 digit"):
        il.plot_padded_digit(torch.zeros(32, 32))
    with pytest.raises(ValueError, match="index must be 0.."):
        il.plot_digit_browser(images, labels, digit=1, index=10**6)
    with pytest.raises(ValueError, match="digit must be 0..9"):
        il.plot_digit_browser(images, labels, digit=10)


def test_digit_browser_widget(data_root):
    import ipywidgets

    images, labels = lu.load_mnist(train=False)
    w = digit_browser(images, labels, digit=3)
    assert isinstance(w, ipywidgets.interactive)
    class_menu, index_slider = w.children[0], w.children[1]
    class_menu.value = 5
    assert index_slider.max == int((labels == 5).sum()) - 1
    with pytest.raises(ValueError, match="differ in length"):
        digit_browser(images[:5], labels)


def test_compare_normalizations_small(data_root):
    hist = il.compare_normalizations("LeNet5Classic", normalizations=(None, "standard"), epochs=1, subset=256,
                                     test_subset=256, pad=False, progress=False)
    assert list(hist) == ["raw", "standard"]
    assert all(len(h) == 1 and 0 <= h[0]["test_acc"] <= 1 for h in hist.values())
    again = il.compare_normalizations("LeNet5Classic", normalizations=("standard",), epochs=1, subset=256,
                                      test_subset=256, pad=False, progress=False)
    assert again["standard"][0]["train_loss"] == pytest.approx(hist["standard"][0]["train_loss"])
    assert isinstance(il.plot_normalization_curves(hist), Figure)
    with pytest.raises(ValueError, match="unknown normalization"):
        il.compare_normalizations(normalizations=("minmax",))
    with pytest.raises(ValueError, match="histories is empty"):
        il.plot_normalization_curves({})
