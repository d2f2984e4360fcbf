"""Chapter 5 helpers: trace_flow, parameter_share, plot_shape_flow, plot_class_means, shape_flow_widget."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lenet_utils import LeNet5Classic, LeNet5Modern, LeNet5Paper  # noqa: E402
from lenet_utils.chapters.fully_connected import (parameter_share, plot_class_means, plot_shape_flow,  # noqa: E402
                                                  shape_flow_widget, trace_flow)


def test_trace_flow_classic_inserts_the_flatten_of_forward():
    rows = trace_flow(LeNet5Classic(), torch.zeros(5, 1, 28, 28))
    shapes = [r["out_shape"] for r in rows]
    assert shapes[0] == (5, 1, 28, 28)
    assert (5, 16, 4, 4) in shapes and shapes[-1] == (5, 10)
    flat = [r for r in rows if r["type"] == "forward()"]
    assert len(flat) == 1 and flat[0]["in_shape"] == (5, 16, 4, 4) and flat[0]["out_shape"] == (5, 256)
    assert all(len(s) in (2, 4) for s in shapes)


def test_trace_flow_paper_shows_padding_and_flatten_and_modern_has_none():
    rows = trace_flow(LeNet5Paper(), torch.zeros(2, 1, 28, 28))
    forward_rows = [(r["in_shape"], r["out_shape"]) for r in rows if r["type"] == "forward()"]
    assert forward_rows == [((2, 1, 28, 28), (2, 1, 32, 32)), ((2, 120, 1, 1), (2, 120))]
    modern = trace_flow(LeNet5Modern(), torch.zeros(2, 1, 28, 28))
    assert not [r for r in modern if r["type"] == "forward()"]
    assert ("classifier.0", (2, 400)) in [(r["name"], r["out_shape"]) for r in modern]


def test_trace_flow_restores_training_mode_and_rejects_bad_input():
    model = LeNet5Classic().train()
    trace_flow(model, torch.zeros(1, 1, 28, 28))
    assert model.training
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        trace_flow(model, torch.zeros(28, 28))


def test_parameter_share_exact_counts():
    rows = parameter_share(LeNet5Classic())
    assert [(r["name"], r["params"]) for r in rows] == [
        ("features.0", 156), ("features.3", 2416), ("classifier.0", 30840), ("classifier.2", 10164),
        ("classifier.4", 850)]
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert rows[2]["share"] == pytest.approx(30840 / 44426)
    paper = {r["name"]: r["params"] for r in parameter_share(LeNet5Paper())}
    assert paper["c5"] == 48120 and paper["s2"] == 12 and sum(paper.values()) == 61750


def test_parameter_share_rejects_a_model_without_parameters():
    with pytest.raises(ValueError, match="no trainable parameters"):
        parameter_share(nn.Sequential(nn.Flatten(), nn.ReLU()), input_size=(1, 4))


def test_plot_shape_flow_draws_one_bar_per_step(data_root):
    fig = plot_shape_flow("LeNet5Paper", batch_size=3)
    assert isinstance(fig, plt.Figure) and len(fig.axes) == 1
    assert len(fig.axes[0].patches) == 14  # input, padding, 11 layer calls, flatten
    plt.close(fig)


def test_plot_shape_flow_bad_arguments():
    with pytest.raises(ValueError, match="unknown model"):
        plot_shape_flow("LeNet6")
    with pytest.raises(ValueError, match="batch_size"):
        plot_shape_flow("LeNet5Classic", batch_size=0)


def test_plot_class_means_one_panel_per_entry_and_shape_check():
    h, y = torch.rand(20, 84), torch.arange(20) % 10
    fig = plot_class_means({"a": h, "b": h * 2}, y)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        plot_class_means({"a": torch.rand(19, 84)}, y)
    with pytest.raises(ValueError, match="empty"):
        plot_class_means({}, y)


def test_shape_flow_widget_builds():

    w = shape_flow_widget()
    assert [c.description for c in w.children[:2]] == ["model", "batch size"]
    plt.close("all")
