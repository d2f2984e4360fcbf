"""Tests of lenet_utils.chapters.innovations (chapter 7)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lenet_utils import count_parameters, set_seed  # noqa: E402
from lenet_utils.chapters.innovations import (MLP, MODERN_LAYERS, fit_tensors, frozen_filter_model,  # noqa: E402
                                              handmade_filters, knn_accuracy, knn_probe, layer_features, mlp_parameters,
                                              permute_pixels, pixel_permutation)
from lenet_utils.chapters.innovations import (layer_probe_widget, plot_layer_probe, plot_permutation,  # noqa: E402
                                             plot_permutation_accuracy)


def toy_data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_mlp_shapes_and_parameter_formula():
    mlp = MLP(hidden=(80,))
    assert mlp(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert count_parameters(mlp) == mlp_parameters([784, 80, 10]) == 63_610
    assert count_parameters(MLP(hidden=(100, 50))) == (784 + 1) * 100 + (100 + 1) * 50 + (50 + 1) * 10


def test_mlp_errors():
    with pytest.raises(ValueError, match="hidden must be a non-empty"):
        MLP(hidden=())
    with pytest.raises(ValueError, match="expects 784 inputs"):
        MLP()(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="at least the input and output"):
        mlp_parameters([784])


def test_permutation_is_seeded_and_invertible():
    perm = pixel_permutation(seed=3)
    assert perm.shape == (784,) and torch.equal(perm, pixel_permutation(seed=3))
    assert not torch.equal(perm, pixel_permutation(seed=4))
    images = torch.arange(2 * 784, dtype=torch.int32).reshape(2, 28, 28)
    out = permute_pixels(images, perm)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert out[1].flatten()[5] == images[1].flatten()[perm[5]]
    back = torch.empty_like(out.reshape(2, -1))
    back[:, perm] = out.reshape(2, -1)
    assert torch.equal(back.reshape(2, 28, 28), images)
    assert permute_pixels(images.unsqueeze(1), perm).shape == (2, 1, 28, 28)


def test_permutation_errors():
    with pytest.raises(ValueError, match="size must be an integer"):
        pixel_permutation(size=1)
    with pytest.raises(ValueError, match="permutation of range\\(784\\)"):
        permute_pixels(torch.zeros(2, 28, 28), torch.zeros(784, dtype=torch.long))
    with pytest.raises(ValueError, match="expected images"):
        permute_pixels(torch.zeros(28, 28), pixel_permutation())


def test_fit_tensors_learns_and_checks_lengths():
    x, y = toy_data(128)
    x[:, 0, 0, 0] = y.float() * 3  # make the labels learnable from one pixel
    trainer = fit_tensors(MLP((16,)), x, y, x, y, epochs=5, lr=1e-2, batch_size=32, progress=False)
    assert len(trainer.history) == 5
    assert trainer.history[-1]["test_acc"] > 0.5
    with pytest.raises(ValueError, match="differ in length"):
        fit_tensors(MLP(), x, y[:-1], x, y)


def test_layer_features_and_knn_probe():
    set_seed(0)
    model = frozen_filter_model()
    x, y = toy_data(40)
    feats = layer_features(model, x, {"C1": MODERN_LAYERS["C1"], "F6": MODERN_LAYERS["F6"]}, batch_size=16)
    assert {k: v.shape for k, v in feats.items()} == {"pixels": (40, 784), "C1": (40, 4704), "F6": (40, 84)}
    assert feats["C1"].dtype == np.float32 and (feats["C1"] >= 0).all()  # after ReLU
    acc, test_f = knn_probe(model, x, y, x, y)
    assert list(acc) == ["pixels", "C1", "C3", "C5", "F6"]
    assert acc["pixels"] == 1.0  # every test point is its own nearest neighbour
    assert test_f["C5"].shape == (40, 120)
    with pytest.raises(ValueError, match="prepared images"):
        layer_features(model, x[:, 0], {"C1": "features.1"})


def test_knn_accuracy_values_and_errors():
    train = np.array([[0.0], [10.0]])
    assert knn_accuracy(train, [0, 1], np.array([[1.0], [9.0], [6.0]]), [0, 1, 0], k=1) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same D"):
        knn_accuracy(train, [0, 1], np.zeros((3, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="k must be between 1 and"):
        knn_accuracy(train, [0, 1], train, [0, 1], k=3)


def test_handmade_filters():
    bank = handmade_filters(5)
    assert bank.shape == (6, 1, 5, 5)
    assert torch.allclose(bank.flatten(1).norm(dim=1), torch.ones(6))
    assert torch.allclose(bank[:5].sum(dim=(1, 2, 3)), torch.zeros(5), atol=1e-6)
    assert bank[5].min() > 0  # the blur
    # the 0-degree edge detector is odd in x: mirrored left-right it changes sign
    assert torch.allclose(bank[0, 0].flip(1), -bank[0, 0], atol=1e-6)
    assert handmade_filters(7).shape == (6, 1, 7, 7)
    with pytest.raises(ValueError, match="odd integer"):
        handmade_filters(4)


def test_frozen_filter_model():
    full = count_parameters(frozen_filter_model())
    assert full == 61_706
    model = frozen_filter_model(c1="handmade", c3="random")
    assert count_parameters(model) == full - 156 - 2416
    assert torch.equal(model.features[0].weight, handmade_filters(5))
    assert not model.features[3].weight.requires_grad
    random1 = frozen_filter_model(c1="random", seed=1).features[0].weight
    assert torch.equal(random1, frozen_filter_model(c1="random", seed=1).features[0].weight)
    with pytest.raises(ValueError, match="c3 must be one of"):
        frozen_filter_model(c3="handmade")
    with pytest.raises(ValueError, match="c1 must be one of"):
        frozen_filter_model(c1="sobel")


def test_plot_permutation():
    images = torch.randint(0, 255, (10, 28, 28), dtype=torch.uint8)
    perm = pixel_permutation()
    fig = plot_permutation(images, perm, labels=torch.arange(10), n=5)
    assert len(fig.axes) == 10 and [ax.get_title() for ax in fig.axes[:5]] == ["0", "1", "2", "3", "4"]
    for i in range(5):  # top row as written, bottom row with the pixels permuted
        assert np.array_equal(fig.axes[i].images[0].get_array(), images[i].float().numpy())
        assert np.array_equal(fig.axes[5 + i].images[0].get_array(),
                              images[i].flatten()[perm].reshape(28, 28).float().numpy())
    plt.close(fig)
    with pytest.raises(ValueError, match="n must be between"):
        plot_permutation(images, pixel_permutation(), n=11)


def test_plot_permutation_accuracy():
    results = {("cnn", False): 0.95, ("mlp", False): 0.9, ("cnn", True): 0.85, ("mlp", True): 0.9}
    fig = plot_permutation_accuracy(results)
    heights = sorted(round(p.get_height(), 6) for p in fig.axes[0].patches)
    assert heights == [85.0, 90.0, 90.0, 95.0]                               # accuracies in %
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["original pixels", "permuted pixels"]
    plt.close(fig)


def test_plot_layer_probe_and_widget():
    rng = np.random.default_rng(0)
    feats = {"pixels": rng.normal(size=(50, 20)), "F6": rng.normal(size=(50, 5))}
    acc = {"pixels": 0.9, "F6": 0.95}
    labels = rng.integers(0, 10, 50)
    fig = plot_layer_probe(feats, labels, acc, "F6")
    assert len(fig.axes) == 3  # bars, PCA scatter, colour bar
    assert [round(p.get_height(), 6) for p in fig.axes[0].patches] == [90.0, 95.0]
    assert [p.get_facecolor() for p in fig.axes[0].patches][1] != fig.axes[0].patches[0].get_facecolor()  # F6 lit
    assert len(fig.axes[1].collections[0].get_offsets()) == 50 and "F6: 5 numbers" in fig.axes[1].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="unknown layer"):
        plot_layer_probe(feats, labels, acc, "C9")
    widget = layer_probe_widget(feats, labels, acc)
    assert widget.children[0].options == ("pixels", "F6")
    plt.close("all")
