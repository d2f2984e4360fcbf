"""Tests of the convolution chapter's figures and widgets (lenet_utils.chapters.convolution)."""
import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
import torch  # noqa: E402

from lenet_utils.chapters.convolution import (conv_shape_widget, feature_map_widget, message_figure,  # noqa: E402
                                              plot_conv_geometry, plot_digit_feature_maps)
from lenet_utils.models import LeNet5Modern, LeNet5Paper  # noqa: E402


def test_geometry_valid_setting_has_input_and_output_axes():
    fig = plot_conv_geometry(7, 3, padding=1, stride=2)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_title() == "padded input 9 x 9 (grey = padding)"
    assert fig.axes[1].get_title() == "output 4 x 4"  # floor((7 - 3 + 2 + 2) / 2) = 4
    # 81 input cells + 3 outlined windows; 16 output cells
    assert len(fig.axes[0].patches) == 81 + 3
    assert len(fig.axes[1].patches) == 16


def test_geometry_outlines_no_more_windows_than_outputs():
    fig = plot_conv_geometry(5, 5, padding=0, stride=1, windows=3)  # a single output
    assert len(fig.axes[1].patches) == 1
    assert len(fig.axes[0].patches) == 25 + 1


def test_geometry_impossible_setting_shows_the_reason_in_the_figure():
    fig = plot_conv_geometry(3, 7, padding=1, stride=1)
    assert len(fig.axes) == 1
    text = fig.axes[0].texts[0].get_text()
    assert "No output for this setting" in text and "does not fit" in text


def test_geometry_rejects_bad_window_count():
    with pytest.raises(ValueError, match="windows must be an integer"):
        plot_conv_geometry(7, 3, windows=-1)


def test_message_figure():
    fig = message_figure("hello", title="t")
    assert len(fig.axes) == 1 and fig.axes[0].texts[0].get_text() == "hello"


def test_digit_feature_maps_titles_and_errors():
    torch.manual_seed(0)
    model, images = LeNet5Paper(), torch.randn(3, 1, 28, 28)
    fig = plot_digit_feature_maps(model, images, 2, "s2", labels=torch.tensor([4, 5, 6]))
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title().startswith("test digit 2 (label 6): s2: 6 maps of (14, 14)")
    with pytest.raises(ValueError, match="index must be in 0..2"):
        plot_digit_feature_maps(model, images, 3, "c1")
    with pytest.raises(ValueError, match=r"prepared batch \[N, 1, H, W\]"):
        plot_digit_feature_maps(model, images[:, 0], 0, "c1")


def test_widgets_build_and_draw():
    w = conv_shape_widget(n=8, kernel=3, padding=1, stride=2)
    assert [c.description for c in w.children[:4]] == ["n", "k", "padding", "s"]
    assert (w.children[0].min, w.children[0].max, w.children[3].max) == (1, 32, 4)
    model = LeNet5Modern()
    fw = feature_map_widget(model, torch.randn(4, 1, 28, 28), layers=("features.0", "features.2"))
    assert fw.children[0].max == 3 and list(fw.children[1].options) == ["features.0", "features.2"]
    with pytest.raises(ValueError, match="images is empty"):
        feature_map_widget(model, torch.randn(0, 1, 28, 28))
