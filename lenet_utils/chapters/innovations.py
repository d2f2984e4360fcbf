"""Chapter 7, LeNet's innovations: small experiments that measure what LeNet's ideas buy, and their figures.

- ``MLP``: a fully connected baseline with as many parameters as a LeNet.
- ``pixel_permutation`` / ``permute_pixels``: shuffle the pixel positions, the same way for every image.
- ``fit_tensors``: train any model on tensors already in memory (the same budget for every contender).
- ``layer_features`` / ``knn_accuracy`` / ``knn_probe``: how well a nearest-neighbour classifier does on
  what each layer computes.
- ``handmade_filters`` / ``frozen_filter_model``: LeNets whose convolution filters are fixed, not learned.
- ``plot_permutation``, ``plot_permutation_accuracy``, ``plot_layer_probe`` (and ``layer_probe_widget``):
  the chapter's figures.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from ..data import TensorLoader
from ..models import LeNet5Modern
from ..train import Trainer, seeded
from ..hooks import capture_activations
from ..widgets import interactive_figure

# The paper's layer names for the modules of LeNet5Modern whose outputs they correspond to
# (after the activation; its C5 is the 400 -> 120 linear layer, a 5x5 convolution over a 5x5 input).
MODERN_LAYERS = {"C1": "features.1", "S2": "features.2", "C3": "features.4", "S4": "features.5",
                 "C5": "classifier.2", "F6": "classifier.4"}


class MLP(nn.Module):
    """Fully connected network: [N, 1, 28, 28] (or [N, 784]) -> flatten -> hidden ReLU layers -> [N, classes].

    ``MLP((80,))`` has 784*80 + 80 + 80*10 + 10 = 63,610 parameters, a little more than LeNet5Modern's 61,706.
    """

    def __init__(self, hidden=(80,), num_classes: int = 10, in_features: int = 28 * 28):
        super().__init__()
        hidden = tuple(hidden)
        if not hidden or any(not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty sequence of positive layer widths, got {hidden!r}")
        sizes = (in_features, *hidden)
        layers: list[nn.Module] = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], num_classes))
        self.net = nn.Sequential(*layers)
        self.in_features = in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x[0].numel() != self.in_features:
            raise ValueError(f"MLP expects {self.in_features} inputs per sample, got shape {list(x.shape)}")
        return self.net(x)


def mlp_parameters(sizes) -> int:
    """Parameters of a fully connected net with layer widths ``sizes`` (inputs first): sum of (n_in + 1) n_out."""
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"give at least the input and output widths, got {sizes}")
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


def pixel_permutation(seed: int = 0, size: int = 28) -> torch.Tensor:
    """A fixed random order of the size*size pixel positions (int64 [size*size]), reproducible from ``seed``."""
    if not isinstance(size, int) or size < 2:
        raise ValueError(f"size must be an integer >= 2, got {size!r}")
    return torch.randperm(size * size, generator=torch.Generator().manual_seed(seed))


def permute_pixels(images: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Move pixel ``perm[i]`` of every image to position i. [N, H, W] or [N, 1, H, W] in, same shape and dtype out."""
    if images.dim() not in (3, 4) or (images.dim() == 4 and images.shape[1] != 1):
        raise ValueError(f"expected images [N, H, W] or [N, 1, H, W], got {list(images.shape)}")
    pixels = images.shape[-1] * images.shape[-2]
    if perm.dim() != 1 or len(perm) != pixels or not torch.equal(perm.sort().values, torch.arange(pixels)):
        raise ValueError(f"perm must be a permutation of range({pixels}) (one entry per pixel); "
                         f"make one with pixel_permutation(size={images.shape[-1]})")
    flat = images.reshape(len(images), pixels)
    return flat[:, perm].reshape(images.shape)


def fit_tensors(model: nn.Module, x_train, y_train, x_test, y_test, epochs: int = 1, lr: float = 1e-3,
                batch_size: int = 64, seed: int = 0, progress: bool = True) -> Trainer:
    """Train ``model`` with Adam on prepared tensors (x float [N, 1, 28, 28], y int64 [N]); the Trainer's
    history holds the test accuracy after every epoch. The batches are shuffled with ``seed``, so equal budgets
    are really equal; the initial weights are those ``model`` was built with."""
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"images and labels differ in length: train {len(x_train)} vs {len(y_train)}, "
                         f"test {len(x_test)} vs {len(y_test)}")
    params = [p for p in model.parameters() if p.requires_grad]
    trainer = Trainer(model, torch.optim.Adam(params, lr=lr), device="cpu")
    trainer.fit(TensorLoader(x_train, y_train, batch_size, shuffle=True, seed=seed),
                TensorLoader(x_test, y_test, 1000), epochs=epochs, progress=progress)
    return trainer


def layer_features(model: nn.Module, x: torch.Tensor, layers: dict[str, str], batch_size: int = 1000,
                   include_pixels: bool = True) -> dict[str, np.ndarray]:
    """Each named layer's output for every image in ``x``, flattened: {label: float32 [N, features]}.

    ``layers`` maps a display name to a module name, e.g. ``{"C1": "features.1"}``; with ``include_pixels``
    the raw input comes first under "pixels".
    """
    if x.dim() != 4:
        raise ValueError(f"expected prepared images [N, 1, H, W], got {list(x.shape)}; use lenet_utils.prepare")
    out = {"pixels": [x.flatten(1)]} if include_pixels else {}
    for name in layers:
        out[name] = []
    for start in range(0, len(x), batch_size):
        acts = capture_activations(model, x[start:start + batch_size], list(layers.values()))
        for name, module in layers.items():
            out[name].append(acts[module].flatten(1))
    return {name: torch.cat(parts).numpy().astype(np.float32) for name, parts in out.items()}


def knn_accuracy(train_features, y_train, test_features, y_test, k: int = 1) -> float:
    """Test accuracy of a k-nearest-neighbour classifier (Euclidean) fitted on the training features."""
    from sklearn.neighbors import KNeighborsClassifier

    train_features, test_features = np.asarray(train_features), np.asarray(test_features)
    if train_features.ndim != 2 or test_features.ndim != 2 or train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"features must be 2-D [N, D] with the same D, got {train_features.shape} and "
                         f"{test_features.shape}")
    if not 1 <= k <= len(train_features):
        raise ValueError(f"k must be between 1 and the number of training samples ({len(train_features)}), got {k}")
    knn = KNeighborsClassifier(n_neighbors=k).fit(train_features, np.asarray(y_train))
    return float((knn.predict(test_features) == np.asarray(y_test)).mean())


def knn_probe(model: nn.Module, x_train, y_train, x_test, y_test, layers: dict[str, str] | None = None,
              k: int = 1) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Nearest-neighbour accuracy on raw pixels and on each layer's features.

    Returns ({name: accuracy}, {name: test features [N_test, D]}); ``layers`` defaults to C1, C3, C5, F6
    of LeNet5Modern.
    """
    if layers is None:
        layers = {name: MODERN_LAYERS[name] for name in ("C1", "C3", "C5", "F6")}
    train_f = layer_features(model, x_train, layers)
    test_f = layer_features(model, x_test, layers)
    acc = {name: knn_accuracy(train_f[name], y_train, test_f[name], y_test, k) for name in train_f}
    return acc, test_f


def handmade_filters(size: int = 5) -> torch.Tensor:
    """Six hand-designed C1 kernels, float [6, 1, size, size]: four oriented edge detectors (odd Gabor
    filters at 0, 45, 90, 135 degrees; the 0-degree one is Sobel-like), a centre-surround spot detector
    (negative Laplacian of a Gaussian) and a blur (Gaussian). Each has unit L2 norm; all but the blur sum to 0."""
    if not isinstance(size, int) or size < 3 or size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= 3, got {size!r}")
    r = size // 2
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    sigma = size / 4
    gauss = np.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))
    kernels = []
    for theta in (0, math.pi / 4, math.pi / 2, 3 * math.pi / 4):
        u = xx * math.cos(theta) + yy * math.sin(theta)
        kernels.append(gauss * np.sin(2 * math.pi * u / size))
    log = (xx ** 2 + yy ** 2 - 2 * sigma ** 2) * gauss
    kernels.append(-(log - log.mean()))
    kernels.append(gauss)
    bank = []
    for kern in kernels:
        if kern is not kernels[-1]:
            kern = kern - kern.mean()
        bank.append(kern / np.linalg.norm(kern))
    return torch.tensor(np.stack(bank), dtype=torch.float32).unsqueeze(1)


def frozen_filter_model(c1: str = "learned", c3: str = "learned", seed: int = 0) -> LeNet5Modern:
    """A LeNet5Modern whose C1 and/or C3 filters are fixed: "learned" (trained as usual), "random" (kept at
    their random initial values) or, for C1 only, "handmade" (``handmade_filters``). Frozen layers have
    ``requires_grad=False`` on weights and biases, so only the rest is trained."""
    choices = {"c1": ("learned", "random", "handmade"), "c3": ("learned", "random")}
    for name, value in (("c1", c1), ("c3", c3)):
        if value not in choices[name]:
            raise ValueError(f"{name} must be one of {choices[name]}, got {value!r}")
    with seeded(seed):
        model = LeNet5Modern()
    conv1, conv3 = model.features[0], model.features[3]
    if c1 == "handmade":
        with torch.no_grad():
            conv1.weight.copy_(handmade_filters(conv1.kernel_size[0]))
            conv1.bias.zero_()
    for conv, mode in ((conv1, c1), (conv3, c3)):
        if mode != "learned":
            conv.weight.requires_grad_(False)
            conv.bias.requires_grad_(False)
    return model


# ---------------------------------------------------------------------------------------------- figures

def plot_permutation(images: torch.Tensor, perm: torch.Tensor, labels=None, n: int = 8):
    """Two rows of ``n`` digits: as written (top) and with their pixels permuted by ``perm`` (bottom).
    ``images``: [N, 28, 28] or [N, 1, 28, 28]; 2 x n axes."""
    if not 1 <= n <= len(images):
        raise ValueError(f"n must be between 1 and the number of images ({len(images)}), got {n}")
    images = images[:n].reshape(n, *images.shape[-2:]).float()
    shuffled = permute_pixels(images, perm)
    fig, axes = plt.subplots(2, n, figsize=(1.1 * n, 2.5), squeeze=False)
    for i in range(n):
        for row, batch in enumerate((images, shuffled)):
            ax = axes[row, i]
            ax.imshow(batch[i].numpy(), cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        if labels is not None:
            axes[0, i].set_title(str(int(labels[i])), fontsize=9)
    axes[0, 0].set_ylabel("original", fontsize=9)
    axes[1, 0].set_ylabel("permuted", fontsize=9)
    fig.tight_layout()
    return fig


def plot_layer_probe(features: dict, labels, accuracies: dict, layer: str, max_points: int = 1000):
    """Left: nearest-neighbour accuracy per layer (``layer`` highlighted). Right: the test features of
    ``layer`` ([N, D]) projected onto their first two principal components, coloured by digit. 2 axes."""
    from sklearn.decomposition import PCA

    if layer not in features or layer not in accuracies:
        raise ValueError(f"unknown layer {layer!r}; choose one of {list(features)}")
    names = list(accuracies)
    fig, (ax_bar, ax_pca) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1, 1.3]})
    colors = ["tab:orange" if name == layer else "tab:blue" for name in names]
    values = [100 * accuracies[name] for name in names]
    ax_bar.bar(names, values, color=colors)
    for i, v in enumerate(values):
        ax_bar.text(i, v + 0.3, f"{v:.1f}", ha="center", fontsize=9)
    low = min(values)
    ax_bar.set_ylim(max(0, low - 5), 100.5)
    ax_bar.set(ylabel="1-NN test accuracy (%)", title="nearest neighbour on each layer")
    feats, y = np.asarray(features[layer])[:max_points], np.asarray(labels)[:max_points]
    xy = PCA(n_components=2, random_state=0).fit_transform(feats)
    scatter = ax_pca.scatter(xy[:, 0], xy[:, 1], c=y, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    fig.colorbar(scatter, ax=ax_pca, ticks=range(10), label="digit")
    ax_pca.set(title=f"{layer}: {feats.shape[1]} numbers per image, first two principal components",
               xlabel="PC 1", ylabel="PC 2")
    ax_pca.title.set_fontsize(10)
    fig.tight_layout()
    return fig


def layer_probe_widget(features: dict, labels, accuracies: dict):
    """A drop-down over the layers that redraws ``plot_layer_probe``."""
    import ipywidgets as widgets

    return interactive_figure(lambda layer: plot_layer_probe(features, labels, accuracies, layer),
                              layer=widgets.Dropdown(options=list(features), value=list(features)[-1],
                                                     description="layer"))


def plot_permutation_accuracy(results: dict, permuted: bool = True):
    """Test accuracy of each model on original pixels and, with ``permuted``, on permuted pixels.
    ``results``: {(model name, permuted?): accuracy}. 1 axis."""
    models = list(dict.fromkeys(name for name, _ in results))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    width = 0.38
    for j, perm in enumerate((False, True) if permuted else (False,)):
        vals = [100 * results[(m, perm)] for m in models]
        xs = np.arange(len(models)) + (j - 0.5) * width if permuted else np.arange(len(models))
        bars = ax.bar(xs, vals, width, label="permuted pixels" if perm else "original pixels")
        ax.bar_label(bars, fmt="%.1f", fontsize=9)
    ax.set_xticks(np.arange(len(models)), models)
    ax.set_ylim(min(100 * v for v in results.values()) - 8, 103)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="upper right", ncols=2, fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["MODERN_LAYERS", "MLP", "mlp_parameters", "pixel_permutation", "permute_pixels", "fit_tensors",
           "layer_features", "knn_accuracy", "knn_probe", "handmade_filters", "frozen_filter_model",
           "plot_permutation", "plot_layer_probe", "layer_probe_widget", "plot_permutation_accuracy"]
