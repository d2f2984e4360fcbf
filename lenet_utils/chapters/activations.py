"""Chapter 6, activation functions: the functions with their closed-form derivatives, LeNets with a chosen
activation, training runs that record each layer's gradient norm (the vanishing-gradient experiment), and
the chapter's figures and widgets."""
from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import torch
from torch import nn
from tqdm.auto import tqdm

from ..data import mnist_loaders
from ..layers import TANH_A, TANH_S, ScaledTanh
from ..models import LeNet5Classic
from ..train import evaluate, seeded
from ..widgets import interactive_figure


def _sigmoid_grad(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


def _scaled_tanh(x):
    return TANH_A * torch.tanh(TANH_S * x)


# name -> (f, closed-form f'). Every function maps a tensor of any shape to one of the same shape.
ACTIVATIONS = {
    "sigmoid": (torch.sigmoid, _sigmoid_grad),
    "tanh": (torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
    "scaled_tanh": (_scaled_tanh, lambda x: TANH_A * TANH_S * (1 - torch.tanh(TANH_S * x) ** 2)),
    "relu": (torch.relu, lambda x: (x > 0).to(x.dtype)),
}
_MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "scaled_tanh": ScaledTanh, "relu": nn.ReLU}
FORMULAS = {
    "sigmoid": (r"$\sigma(x) = 1/(1+e^{-x})$", r"$\sigma'(x) = \sigma(x)(1-\sigma(x))$"),
    "tanh": (r"$\tanh(x)$", r"$1-\tanh^2(x)$"),
    "scaled_tanh": (r"$f(x) = A\tanh(Sx)$", r"$f'(x) = AS\,(1-\tanh^2(Sx))$"),
    "relu": (r"$\max(0, x)$", r"$1$ if $x>0$ else $0$"),
}


def _check_name(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")


def activation(name: str):
    """The function f of ``name`` (tensor -> tensor of the same shape)."""
    _check_name(name)
    return ACTIVATIONS[name][0]


def derivative(name: str):
    """The closed-form derivative f' of ``name`` (tensor -> tensor of the same shape).
    For ReLU, f'(0) is taken as 0 (PyTorch's convention)."""
    _check_name(name)
    return ACTIVATIONS[name][1]


def autograd_derivative(fn, x: torch.Tensor) -> torch.Tensor:
    """f'(x) elementwise by autograd, for an elementwise function ``fn`` (x of any shape)."""
    x = torch.as_tensor(x, dtype=torch.float64).detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad


def make_activation(name: str) -> nn.Module:
    """A fresh nn.Module computing the activation ``name``."""
    _check_name(name)
    return _MODULES[name]()


def lenet_with_activation(name: str = "sigmoid", num_classes: int = 10) -> nn.Module:
    """A LeNet5Classic (28x28 input, max-pool, 256 -> 120 -> 84 -> 10) whose four sigmoids are
    replaced by the activation ``name``. Layer names stay features.0, ..., classifier.4."""
    _check_name(name)
    model = LeNet5Classic(num_classes)
    for block in (model.features, model.classifier):
        for i, module in enumerate(block):
            if isinstance(module, nn.Sigmoid):
                block[i] = make_activation(name)
    return model


def weight_layers(model: nn.Module) -> list[str]:
    """Names of the Conv2d and Linear layers, input side first."""
    return [name for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def grad_norms(model: nn.Module) -> dict[str, float]:
    """L2 norm of each Conv2d/Linear layer's weight gradient (after ``loss.backward()``)."""
    modules = dict(model.named_modules())
    norms = {}
    for name in weight_layers(model):
        grad = modules[name].weight.grad
        if grad is None:
            raise ValueError(f"layer {name} has no gradient yet: call loss.backward() before grad_norms()")
        norms[name] = grad.norm().item()
    return norms


def train_recording_gradients(model: nn.Module, optimizer, train_loader, test_loader, epochs: int = 1,
                              every: int = 10, progress: bool = True) -> dict:
    """Train with cross-entropy on the CPU and, every ``every`` batches, record each weight layer's
    gradient norm, the batch loss and the test accuracy.

    Returns {"layers": [names], "step": [batch index], "grad_norm": {layer: [norm per record]},
    "loss": [...], "test_acc": [...]} with one entry per record (the first at step 0, before any update).
    """
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive integer (record every `every` batches), got {every!r}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    loss_fn = nn.CrossEntropyLoss()
    layers = weight_layers(model)
    record = {"layers": layers, "step": [], "grad_norm": {n: [] for n in layers}, "loss": [], "test_acc": []}
    step = 0
    bar = tqdm(total=epochs * len(train_loader), desc=type(model).__name__, disable=not progress, leave=False)
    model.train()
    for _ in range(epochs):
        for x, y in train_loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if step % every == 0:
                record["step"].append(step)
                for name, value in grad_norms(model).items():
                    record["grad_norm"][name].append(value)
                record["loss"].append(loss.item())
                record["test_acc"].append(evaluate(model, test_loader)["acc"])
            optimizer.step()
            step += 1
            bar.update()
    bar.close()
    record["final_test_acc"] = evaluate(model, test_loader)["acc"]
    return record


def compare_activations(names=("sigmoid", "tanh", "relu"), optimizer: str = "sgd", lr: float = 0.1,
                        subset: int = 8_000, test_subset: int = 500, batch_size: int = 64, epochs: int = 1,
                        every: int = 10, seed: int = 0, progress: bool = True,
                        threads: int | None = 1) -> dict[str, dict]:
    """One ``train_recording_gradients`` run per activation on MNIST, identical in everything else:
    same seed, same initial weights of every layer, same batches. ``optimizer`` is "sgd" (plain, no
    momentum) or "adam". Returns {name: record}.

    The runs use ``threads`` CPU threads (restored afterwards; None keeps PyTorch's setting). One is
    the default: at batch 64 more threads gain little, and on a busy machine they can make these small
    steps several times slower."""
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    for name in names:
        _check_name(name)
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _compare(names, optimizer, lr, subset, test_subset, batch_size, epochs, every, seed, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _compare(names, optimizer, lr, subset, test_subset, batch_size, epochs, every, seed, progress):
    records = {}
    with seeded(seed):  # every model's draws come from seed, none from (or into) the caller's stream
        reference = lenet_with_activation("relu").state_dict()  # activations have no parameters
        for name in names:
            train, test = mnist_loaders(batch_size=batch_size, subset=subset, test_subset=test_subset, seed=seed)
            model = lenet_with_activation(name)
            model.load_state_dict(copy.deepcopy(reference))
            opt = (torch.optim.SGD(model.parameters(), lr=lr) if optimizer == "sgd"
                   else torch.optim.Adam(model.parameters(), lr=lr))
            records[name] = train_recording_gradients(model, opt, train, test, epochs=epochs, every=every,
                                                      progress=progress)
    return records


def plot_activation(name: str = "sigmoid", lo: float = -5.0, hi: float = 5.0, points: int = 401):
    """The activation ``name`` and its derivative on [lo, hi], side by side (a Figure with 2 axes)."""
    _check_name(name)
    if not lo < hi:
        raise ValueError(f"the input range needs lo < hi, got lo={lo}, hi={hi}")
    x = torch.linspace(lo, hi, points, dtype=torch.float64)
    f, df = ACTIVATIONS[name]
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_f.plot(x, f(x), color="C0")
    ax_d.plot(x, df(x), color="C3")
    ax_f.set_title(f"{name}: {FORMULAS[name][0]}")
    ax_d.set_title(f"derivative: {FORMULAS[name][1]}")
    for ax in (ax_f, ax_d):
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_activation_overview(names=("sigmoid", "tanh", "scaled_tanh", "relu"), lo: float = -5.0, hi: float = 5.0):
    """All ``names`` in one panel and their derivatives in a second panel (a Figure with 2 axes)."""
    for name in names:
        _check_name(name)
    if not lo < hi:
        raise ValueError(f"the input range needs lo < hi, got lo={lo}, hi={hi}")
    x = torch.linspace(lo, hi, 401, dtype=torch.float64)
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in names:
        f, df = ACTIVATIONS[name]
        ax_f.plot(x, f(x), label=name)
        ax_d.plot(x, df(x), label=name)
    ax_f.set_title("activation f(x)")
    ax_d.set_title("derivative f'(x)")
    for ax in (ax_f, ax_d):
        ax.grid(alpha=0.3)
        ax.set_xlabel("x")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_grad_norms(records: dict[str, dict], names=None, title: str | None = None):
    """One panel per activation: each weight layer's gradient norm (log scale) over the batches.
    ``records`` as returned by ``compare_activations``; ``names`` picks and orders the panels."""
    names = list(records) if names is None else list(names)
    missing = [n for n in names if n not in records]
    if not names or missing:
        raise ValueError(f"no recorded run for {missing or 'any activation'}; recorded: {sorted(records)}")
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        rec = records[name]
        for layer in rec["layers"]:
            ax.plot(rec["step"], rec["grad_norm"][layer], label=layer)
        ax.set_yscale("log")
        ax.set(title=name, xlabel="batch")
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].set_ylabel("weight-gradient norm")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_accuracy_curves(records: dict[str, dict], title: str | None = None):
    """Test accuracy over the batches for each recorded run (a Figure with 1 axes)."""
    if not records:
        raise ValueError("records is empty: run compare_activations first")
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for name, rec in records.items():
        ax.plot(rec["step"], [100 * a for a in rec["test_acc"]], label=name)
    ax.set(xlabel="batch", ylabel="test accuracy (%)", ylim=(0, 100), title=title or "learning speed")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def first_to_last_ratio(record: dict) -> float:
    """Median over the run of (first weight layer's gradient norm / last layer's): how much gradient
    is left by the time the backward pass reaches the input side."""
    first, last = record["grad_norm"][record["layers"][0]], record["grad_norm"][record["layers"][-1]]
    ratios = sorted(f / l for f, l in zip(first, last) if l > 0)
    if not ratios:
        raise ValueError("the record holds no non-zero gradient norms")
    return ratios[len(ratios) // 2]


def activation_widget():
    """Pick an activation and an input range; redraws ``plot_activation``."""
    import ipywidgets as widgets

    return interactive_figure(
        lambda name, input_range: plot_activation(name, *input_range),
        name=widgets.Dropdown(options=list(ACTIVATIONS), value="sigmoid", description="activation"),
        input_range=widgets.FloatRangeSlider(value=(-5.0, 5.0), min=-20.0, max=20.0, step=0.5,
                                             description="x range", continuous_update=False),
    )


def grad_norm_widget(records: dict):
    """Pick one of the recorded runs (``compare_activations``' result); redraws ``plot_grad_norms``."""
    import ipywidgets as widgets

    if not records:
        raise ValueError("records is empty: run compare_activations first and pass its result")
    return interactive_figure(lambda name: plot_grad_norms(records, [name]),
                              name=widgets.Dropdown(options=list(records), description="activation"))


__all__ = ["ACTIVATIONS", "activation", "derivative", "autograd_derivative", "make_activation",
           "lenet_with_activation", "weight_layers", "grad_norms", "train_recording_gradients",
           "compare_activations", "plot_activation", "plot_activation_overview", "plot_grad_norms",
           "plot_accuracy_curves", "first_to_last_ratio", "activation_widget", "grad_norm_widget"]
