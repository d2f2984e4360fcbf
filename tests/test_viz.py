import pytest
import torch
from matplotlib.figure import Figure

from lenet_utils import viz
from lenet_utils.models import LeNet5Paper


def test_show_digits_marks_wrong_predictions():
    images = torch.randint(0, 255, (12, 28, 28), dtype=torch.uint8)
    fig = viz.show_digits(images, labels=list(range(12)), preds=[0] * 12, ncols=6)
    assert isinstance(fig, Figure) and len(fig.axes) == 12
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "0→0" and titles[1] == "1→0"
    assert fig.axes[1].title.get_color() == "crimson" and fig.axes[0].title.get_color() == "black"


def test_feature_maps_and_filters():
    model = LeNet5Paper()
    fig = viz.plot_feature_maps(model, torch.randn(1, 28, 28), "c1")
    assert "c1: 6 maps of (28, 28)" in fig.axes[0].get_title()
    fig = viz.plot_feature_maps(model, torch.randn(1, 1, 28, 28), "f6")
    assert "f6: 1 maps of (1, 84)" in fig.axes[0].get_title()
    assert "6 filters of 1x5x5" in viz.plot_filters(model.c1.weight).axes[0].get_title()
    with pytest.raises(ValueError, match="no layer named"):
        viz.plot_feature_maps(model, torch.randn(1, 28, 28), "conv9")
    with pytest.raises(ValueError, match=r"expected conv weights \[out, in, k, k\]"):
        viz.plot_filters(model.f6.weight)


def test_history_confusion_misclassified():
    history = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 0.9, "test_acc": 0.6},
               {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8, "test_loss": 0.6, "test_acc": 0.7}]
    loss_ax, acc_ax = viz.plot_history(history).axes
    assert [list(line.get_ydata()) for line in loss_ax.lines] == [[1.0, 0.5], [0.9, 0.6]]
    assert [list(line.get_ydata()) for line in acc_ax.lines] == [[50.0, 80.0], [60.0, 70.0]]  # in %
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["train", "test"]
    with pytest.raises(ValueError, match="history is empty"):
        viz.plot_history([])
    fig = viz.plot_confusion([0, 1, 1, 2], [0, 1, 2, 2])
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts.count("1") == 4 and texts.count("0") == 5
    images = torch.zeros(4, 28, 28)
    fig = viz.plot_misclassified(images, [0, 1, 1, 2], [0, 1, 2, 2])
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["1→2"]   # only the wrong one, label→prediction
    assert fig._suptitle.get_text().startswith("1 misclassified")
    assert "no misclassified" in viz.plot_misclassified(images, [1], [1]).axes[0].texts[0].get_text()


def test_plot_histories_one_line_per_run():
    hist = [{"epoch": 1, "train_loss": 0.5, "test_acc": 0.95}, {"epoch": 2, "train_loss": 0.2, "test_acc": 0.97}]
    fig = viz.plot_histories({"a": hist, "b": hist[:1]}, legend_title="runs")
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 2
    assert fig.axes[0].get_legend().get_title().get_text() == "runs"
    with pytest.raises(ValueError, match="non-empty history"):
        viz.plot_histories({"a": []})
