"""Chapter 6 helpers: activations and derivatives, LeNets with a chosen activation, gradient recording."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lenet_utils import ScaledTanh, TensorLoader  # noqa: E402
from lenet_utils.chapters import activations as act  # noqa: E402

X = torch.linspace(-6, 6, 241, dtype=torch.float64)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "scaled_tanh", "relu"])
def test_closed_form_derivative_matches_autograd(name):
    expected = act.autograd_derivative(act.activation(name), X)
    assert torch.allclose(act.derivative(name)(X), expected, atol=1e-12)
    assert torch.allclose(act.make_activation(name)(X), act.activation(name)(X))


def test_exact_values():
    assert act.derivative("sigmoid")(torch.tensor(0.0)).item() == 0.25
    assert act.derivative("relu")(torch.tensor([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 1.0]
    assert round(act.activation("scaled_tanh")(torch.tensor(1.0, dtype=torch.float64)).item(), 4) == 1.0
    assert act.derivative("scaled_tanh")(torch.tensor(0.0)).item() == pytest.approx(1.7159 * 2 / 3)
    assert isinstance(act.make_activation("scaled_tanh"), ScaledTanh)


def test_unknown_activation_is_refused_everywhere():
    for fn in (act.activation, act.derivative, act.make_activation, act.lenet_with_activation, act.plot_activation):
        with pytest.raises(ValueError, match="unknown activation 'swish'"):
            fn("swish")


def test_lenet_with_activation_swaps_all_four_sigmoids_and_keeps_names():
    model = act.lenet_with_activation("relu")
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.ReLU) == 4 and nn.Sigmoid not in kinds
    assert act.weight_layers(model) == ["features.0", "features.3", "classifier.0", "classifier.2", "classifier.4"]
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_grad_norms_needs_backward_first():
    model = act.lenet_with_activation("tanh")
    with pytest.raises(ValueError, match="loss.backward"):
        act.grad_norms(model)
    model(torch.randn(2, 1, 28, 28)).sum().backward()
    norms = act.grad_norms(model)
    assert list(norms) == act.weight_layers(model) and all(v > 0 for v in norms.values())
    assert norms["features.0"] == pytest.approx(model.features[0].weight.grad.norm().item())


def _tiny_loaders(n=96):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
    return TensorLoader(x, y, batch_size=16, shuffle=True), TensorLoader(x[:32], y[:32], batch_size=32)


def test_train_recording_gradients_records_every_k_batches():
    train, test = _tiny_loaders()
    model = act.lenet_with_activation("sigmoid")
    rec = act.train_recording_gradients(model, torch.optim.SGD(model.parameters(), lr=0.1), train, test,
                                        epochs=2, every=4, progress=False)
    assert rec["step"] == [0, 4, 8]  # 12 batches in 2 epochs
    assert all(len(rec["grad_norm"][name]) == 3 for name in rec["layers"])
    assert len(rec["loss"]) == len(rec["test_acc"]) == 3 and 0 <= rec["final_test_acc"] <= 1
    assert act.first_to_last_ratio(rec) < 0.1  # sigmoid: the first layer gets far less gradient
    with pytest.raises(ValueError, match="every must be a positive integer"):
        act.train_recording_gradients(model, torch.optim.SGD(model.parameters(), lr=0.1), train, test, every=0)


def test_compare_activations_same_start_and_bad_optimizer(monkeypatch, data_root):
    runs = act.compare_activations(("sigmoid", "relu"), subset=128, test_subset=64, every=1, progress=False)
    assert list(runs) == ["sigmoid", "relu"] and runs["relu"]["step"] == [0, 1]
    # Same start: every activation's network gets the same initial weights and the same batches.
    seen = []

    def spy(model, optimizer, train, test, **kwargs):
        seen.append(({k: v.clone() for k, v in model.state_dict().items()}, [y for _, y in train]))
        return {"layers": [], "step": [], "grad_norm": {}, "loss": [], "test_acc": [], "final_test_acc": 0.0}

    monkeypatch.setattr(act, "train_recording_gradients", spy)
    act.compare_activations(("sigmoid", "tanh", "relu"), subset=128, test_subset=64, progress=False)
    (weights, batches), others = seen[0], seen[1:]
    for other_weights, other_batches in others:
        assert all(torch.equal(weights[k], other_weights[k]) for k in weights)
        assert all(torch.equal(a, b) for a, b in zip(batches, other_batches)) and len(batches) == 2
    act.compare_activations(("sigmoid",), subset=128, test_subset=64, progress=False, seed=1)
    assert not torch.equal(seen[-1][0]["features.0.weight"], weights["features.0.weight"])  # the seed decides
    with pytest.raises(ValueError, match="optimizer must be 'sgd' or 'adam'"):
        act.compare_activations(optimizer="rmsprop")
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        act.compare_activations(threads=0)
    act.compare_activations(("tanh",), subset=64, test_subset=32, every=5, progress=False, threads=1)
    assert torch.get_num_threads() == before


def test_figures():
    runs = {"a": {"layers": ["l1", "l2"], "step": [0, 5], "grad_norm": {"l1": [1e-3, 2e-3], "l2": [1.0, 0.5]},
                  "test_acc": [0.1, 0.5]},
            "b": {"layers": ["l1", "l2"], "step": [0, 5], "grad_norm": {"l1": [0.1, 0.2], "l2": [1.0, 0.5]},
                  "test_acc": [0.1, 0.9]}}
    fig = act.plot_grad_norms(runs)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"] and fig.axes[0].get_yscale() == "log"
    for ax, name in zip(fig.axes, ["a", "b"]):  # one line per layer, its recorded norms over the steps
        assert [list(line.get_ydata()) for line in ax.lines] == [runs[name]["grad_norm"][k] for k in ("l1", "l2")]
        assert all(list(line.get_xdata()) == [0, 5] for line in ax.lines)
    assert [ax.get_title() for ax in act.plot_grad_norms(runs, ["b"]).axes] == ["b"]
    ax = act.plot_accuracy_curves(runs).axes[0]
    assert [list(line.get_ydata()) for line in ax.lines] == [[10.0, 50.0], [10.0, 90.0]]  # accuracy in %
    fig = act.plot_activation("relu", -2, 2)
    x = torch.as_tensor(fig.axes[0].lines[0].get_xdata())
    assert x[0] == -2 and x[-1] == 2
    assert torch.allclose(torch.as_tensor(fig.axes[0].lines[0].get_ydata()), torch.relu(x))
    assert torch.allclose(torch.as_tensor(fig.axes[1].lines[0].get_ydata()), (x > 0).double())
    assert "derivative" in fig.axes[1].get_title()
    fig = act.plot_activation_overview()
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sigmoid", "tanh", "scaled_tanh", "relu"]
    sigmoid_prime = torch.as_tensor(fig.axes[1].lines[0].get_ydata())
    assert sigmoid_prime.max().item() == pytest.approx(0.25)
    plt.close("all")
    with pytest.raises(ValueError, match="no recorded run"):
        act.plot_grad_norms(runs, ["c"])
    with pytest.raises(ValueError, match="lo < hi"):
        act.plot_activation("tanh", 3, -3)


def test_widgets_build():

    assert act.activation_widget().children[0].description == "activation"
    runs = {"a": {"layers": ["l1"], "step": [0], "grad_norm": {"l1": [0.1]}, "test_acc": [0.1]}}
    assert act.grad_norm_widget(runs).children[0].options == ("a",)
    with pytest.raises(ValueError, match="records is empty"):
        act.grad_norm_widget({})
    plt.close("all")
