"""Tests of the pooling chapter's experiments, figures and widget (lenet_utils.chapters.pooling)."""
import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
import torch  # noqa: E402


from lenet_utils.chapters.pooling import (PoolingLeNet, plot_invariance, plot_shift_maps,  # noqa: E402
                                          relative_change, shift_images, shift_maps_for, shift_maps_widget,
                                          shift_sensitivity, train_pooling_variants, variants_table)
from lenet_utils.shapes import count_parameters  # noqa: E402


@pytest.mark.parametrize("pool, params, s4_shape", [
    ("max", 61706, (16, 5, 5)), ("avg", 61706, (16, 5, 5)), ("subsampling", 61750, (16, 5, 5)),
    ("stride", 61706 + 6 * 6 * 4 + 6 + 16 * 16 * 4 + 16, (16, 5, 5)), ("none", 1119626, (16, 24, 24)),
])
def test_pooling_lenet_shapes_and_params(pool, params, s4_shape):
    model = PoolingLeNet(pool)
    assert count_parameters(model) == params
    out = {}
    model.s4.register_forward_hook(lambda m, i, o: out.__setitem__("s4", o))
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert tuple(out["s4"].shape[1:]) == s4_shape


def test_pooling_lenet_errors():
    with pytest.raises(ValueError, match="pool must be one of"):
        PoolingLeNet("median")
    with pytest.raises(ValueError, match=r"expects a batch of grey images \[N, 1, 28, 28\]"):
        PoolingLeNet()(torch.zeros(1, 1, 32, 32))


def test_shift_images_moves_and_fills():
    x = torch.arange(1, 17, dtype=torch.uint8).view(4, 4)
    right = shift_images(x, 1, 0)
    assert right.dtype == torch.uint8 and right.shape == (4, 4)
    assert right[:, 0].tolist() == [0, 0, 0, 0] and right[:, 1:].equal(x[:, :3])
    up = shift_images(x, 0, -2, fill=9)
    assert up[:2].equal(x[2:]) and (up[2:] == 9).all()
    assert shift_images(x, -1, 1)[1:, :3].equal(x[:3, 1:])
    assert shift_images(x.view(1, 1, 4, 4), 0, 0).equal(x.view(1, 1, 4, 4))
    with pytest.raises(ValueError, match="out of the frame"):
        shift_images(x, 4, 0)
    with pytest.raises(ValueError, match="must be integers"):
        shift_images(x, 1.5, 0)


def test_relative_change():
    a = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    b = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    assert relative_change(a, a) == 0.0
    assert relative_change(a, b) == pytest.approx(0.5)  # (0/5 + 1/1) / 2
    with pytest.raises(ValueError, match="differ in shape"):
        relative_change(a, b[:1])


def test_shift_sensitivity_rows():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (20,))
    rows = shift_sensitivity(PoolingLeNet("max"), images, labels, shifts=(0, 2))
    assert [r["shift"] for r in rows] == [0, 2]
    assert rows[0]["s2"] == 0 and rows[0]["s4"] == 0 and rows[0]["changed"] == 0
    assert rows[1]["s2"] > 0 and 0 <= rows[1]["acc"] <= 1
    with pytest.raises(ValueError, match="raw MNIST digits"):
        shift_sensitivity(PoolingLeNet(), images.float(), labels)
    with pytest.raises(ValueError, match="no layer named"):
        shift_sensitivity(PoolingLeNet(), images, labels, layers=("s9",))
    with pytest.raises(ValueError, match="differ in length"):
        shift_sensitivity(PoolingLeNet(), images, labels[:3])


def test_train_variants_and_table(data_root):
    trainers = train_pooling_variants(("avg", "subsampling"), epochs=1, subset=256, test_subset=200, progress=False)
    rows = variants_table(trainers)
    assert [r["variant"] for r in rows] == ["avg", "subsampling"]
    assert rows[1]["params"] == 61750 and 0 <= rows[0]["test_acc"] <= 1 and rows[0]["seconds_per_epoch"] > 0
    with pytest.raises(ValueError, match="unknown pooling variants"):
        train_pooling_variants(("maxx",))


def test_figures():
    rows = [{"shift": s, "s4": 0.1 * s, "changed": 0.05 * s, "acc": 0.9 - 0.1 * s} for s in range(3)]
    fig = plot_invariance({"max": rows, "avg": rows})
    assert [ax.get_title() for ax in fig.axes] == ["relative change of s4", "predictions changed", "accuracy"]
    for ax, key in zip(fig.axes, ("s4", "changed", "acc")):  # one line per variant, in %, against the shift
        for line in ax.lines:
            assert list(line.get_xdata()) == [0, 1, 2]
            assert line.get_ydata() == pytest.approx([100 * r[key] for r in rows])
    with pytest.raises(ValueError, match="no 's2'"):
        plot_invariance({"max": rows}, layer="s2")
    image = torch.zeros(28, 28, dtype=torch.uint8)
    image[10:18, 12:16] = 255
    fig = plot_shift_maps(PoolingLeNet("avg"), image, shift=2, layer="s2", direction="down")
    assert len(fig.axes) == 4 and "avg: s2 changes by" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="direction must be one of"):
        plot_shift_maps(PoolingLeNet(), image, direction="diagonal")
    with pytest.raises(ValueError, match="one raw MNIST digit"):
        plot_shift_maps(PoolingLeNet(), image.float())


def test_shift_maps_widget():

    models = {"max": PoolingLeNet("max"), "none": PoolingLeNet("none")}
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    fig = shift_maps_for(models, images, "none", index=4, shift=1, layer="s4")
    assert len(fig.axes) == 4
    w = shift_maps_widget(models, images)
    assert list(w.children[0].options) == ["max", "none"] and w.children[1].max == 4
    with pytest.raises(ValueError, match="no model for variant 'avg'"):
        shift_maps_for(models, images, "avg")
    with pytest.raises(ValueError, match="index must be in 0..4"):
        shift_maps_for(models, images, "max", index=5)
    with pytest.raises(ValueError, match="models is empty"):
        shift_maps_widget({}, images)
