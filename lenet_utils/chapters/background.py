"""Chapter 1, background: hand-made feature pipelines on MNIST (not all of them older than LeNet: HOG is
from 2005 and the SVM from 1995; the chapter gives the dates).

Every pipeline is a scikit-learn ``Pipeline`` that takes flattened images, float32 [N, 784] in [0, 1]
(see ``mnist_arrays``), turns them into features (raw pixels, Sobel edges, HOG, PCA or LDA projections)
and classifies them (linear model, k-NN, SVM). ``run_baselines`` trains and tests them;
``python -m lenet_utils.cli.baselines`` runs all of them on the full test set and writes
``results/baselines.json``. The figure functions show what the hand-made features look like, and
``feature_explorer`` puts controls on one of them.
"""
from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage.feature import hog
from skimage.filters import sobel
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures, StandardScaler
from sklearn.svm import SVC, LinearSVC

from ..data import load_mnist
from ..paper import PAPER_FIG9
from ..train import RESULTS_DIR, describe_machine
from ..widgets import interactive_figure

SIDE = 28
RESULTS_PATH = RESULTS_DIR / "baselines.json"


def _as_images(x) -> np.ndarray:
    """[N, 784] or [N, 28, 28] -> float32 [N, 28, 28]."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2 and x.shape[1] == SIDE * SIDE:
        return x.reshape(-1, SIDE, SIDE)
    if x.ndim == 3 and x.shape[1:] == (SIDE, SIDE):
        return x
    raise ValueError(f"expected MNIST images [N, 784] or [N, 28, 28], got shape {x.shape}; "
                     f"use mnist_arrays() to get flattened images")


def sobel_features(x) -> np.ndarray:
    """Sobel edge magnitude of every image: [N, 784] (or [N, 28, 28]) -> float32 [N, 784]."""
    images = _as_images(x)
    return np.stack([sobel(im) for im in images]).reshape(len(images), -1).astype(np.float32)


def hog_features(x, pixels_per_cell: int = 7, orientations: int = 9, cells_per_block: int = 2) -> np.ndarray:
    """HOG descriptor of every image: [N, 784] -> float32 [N, D].

    With the defaults (7x7 cells, 2x2-cell blocks, 9 orientations) D = 3*3 blocks * 4 cells * 9 = 324.
    """
    if not 2 <= pixels_per_cell <= SIDE // cells_per_block:
        raise ValueError(f"pixels_per_cell must be between 2 and {SIDE // cells_per_block} so that one block "
                         f"of {cells_per_block}x{cells_per_block} cells fits in 28x28, got {pixels_per_cell}")
    images = _as_images(x)
    return np.stack([
        hog(im, orientations=orientations, pixels_per_cell=(pixels_per_cell,) * 2,
            cells_per_block=(cells_per_block,) * 2) for im in images
    ]).astype(np.float32)


def _spec(features, classifier, steps, train_size):
    return {"features": features, "classifier": classifier, "steps": steps, "train_size": train_size}


# name -> what it does, how to build it, and how many training images the full run uses
# (None = all 60,000; the RBF SVM is quadratic in the training-set size, so it gets a subsample).
PIPELINES = {
    "pixels_linear": _spec("raw pixels (784)", "logistic regression",
                           lambda seed: [LogisticRegression(max_iter=200, C=0.1)], None),
    "pixels_knn3": _spec("raw pixels (784)", "3-nearest neighbours",
                         lambda seed: [KNeighborsClassifier(3)], None),
    "pca40_quadratic": _spec("40 PCA components", "quadratic (degree-2 polynomial + logistic regression)",
                             lambda seed: [PCA(40, random_state=seed), PolynomialFeatures(2), StandardScaler(),
                                           LogisticRegression(max_iter=300, C=0.1)], None),
    "pca50_svm_rbf": _spec("50 PCA components", "SVM, RBF kernel",
                           lambda seed: [PCA(50, random_state=seed), SVC(C=10, gamma="scale")], 20_000),
    "hog_linear_svm": _spec("HOG (324)", "linear SVM",
                            lambda seed: [FunctionTransformer(hog_features), StandardScaler(),
                                          LinearSVC(C=0.01, random_state=seed)], None),
    "sobel_knn3": _spec("Sobel edge magnitude (784)", "3-nearest neighbours",
                        lambda seed: [FunctionTransformer(sobel_features), KNeighborsClassifier(3)], None),
    "lda9_knn3": _spec("9 LDA components", "3-nearest neighbours",
                       lambda seed: [LinearDiscriminantAnalysis(n_components=9), KNeighborsClassifier(3)], None),
}


def make_baseline(name: str, seed: int = 0):
    """The scikit-learn Pipeline called ``name`` (a key of ``PIPELINES``); it takes float [N, 784] in [0, 1]."""
    if name not in PIPELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {sorted(PIPELINES)}")
    return make_pipeline(*PIPELINES[name]["steps"](seed))


def mnist_arrays(train_sample: int | None = None, test_sample: int | None = None, seed: int = 0):
    """(x_train, y_train, x_test, y_test) as NumPy: float32 [N, 784] in [0, 1] and int64 [N].

    ``train_sample`` / ``test_sample`` draw a random sample of that size (with ``seed``, kept in the split's
    order), not the first N images as a ``subset`` would; None keeps the whole split.
    """
    out = []
    for train, size in ((True, train_sample), (False, test_sample)):
        images, labels = load_mnist(train)
        n = len(images)
        if size is not None and not 1 <= size <= n:
            raise ValueError(f"{'train' if train else 'test'}_sample must be between 1 and {n:,}, got {size}")
        idx = np.arange(n) if size is None else np.sort(np.random.default_rng(seed).permutation(n)[:size])
        out += [images.numpy()[idx].reshape(len(idx), -1).astype(np.float32) / 255.0, labels.numpy()[idx]]
    return tuple(out)


def run_baselines(names=None, train_sample=None, test_sample=None, seed: int = 0, verbose: bool = False) -> list[dict]:
    """Train and test each named pipeline (all by default); one dict per pipeline.

    Keys: name, features, classifier, train_size, test_size, test_error (fraction), test_error_percent,
    seconds (fit + predict). The images are random samples (``mnist_arrays``); ``train_sample`` None uses each
    pipeline's own full-run size (``PIPELINES[name]["train_size"]``, None meaning all 60,000); ``test_sample``
    None uses all 10,000.
    """
    names = list(PIPELINES) if names is None else list(names)
    unknown = [n for n in names if n not in PIPELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; choose from {sorted(PIPELINES)}")
    rows = []
    for name in names:
        size = train_sample if train_sample is not None else PIPELINES[name]["train_size"]
        xtr, ytr, xte, yte = mnist_arrays(size, test_sample, seed)
        start = time.perf_counter()
        model = make_baseline(name, seed).fit(xtr, ytr)
        error = float((model.predict(xte) != yte).mean())
        row = {"name": name, "features": PIPELINES[name]["features"], "classifier": PIPELINES[name]["classifier"],
               "train_size": len(ytr), "test_size": len(yte), "test_error": error,
               "test_error_percent": round(100 * error, 2), "seconds": round(time.perf_counter() - start, 1)}
        if verbose:
            print(f"{name:18s} train {row['train_size']:6d}  error {row['test_error_percent']:5.2f}%  "
                  f"{row['seconds']:.1f} s", flush=True)
        rows.append(row)
    return rows


def save_results(rows: list[dict], path=RESULTS_PATH, seed: int = 0) -> Path:
    """Write results as JSON: {"machine" (``describe_machine``), "date", "seed", "results": [rows]}."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": describe_machine(), "date": datetime.date.today().isoformat(), "seed": seed, "results": rows}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def load_results(path=RESULTS_PATH) -> dict:
    """The dict that ``save_results`` wrote (``results/baselines.json`` by default)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No baseline results at {path}. Run `python -m lenet_utils.cli.baselines` first.")
    return json.loads(path.read_text())


# ---------------------------------------------------------------------------------------------- figures

def plot_sobel(images, ncols: int = 6):
    """Digits (top row) and their Sobel edge magnitude (bottom row). images: [N, 784] or [N, 28, 28]."""
    images = _as_images(images)[:ncols]
    edges = sobel_features(images).reshape(-1, SIDE, SIDE)
    fig, axes = plt.subplots(2, len(images), figsize=(1.4 * len(images), 3), squeeze=False)
    for i in range(len(images)):
        axes[0, i].imshow(images[i], cmap="gray_r")
        axes[1, i].imshow(edges[i], cmap="magma")
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].set_title("digit", loc="left", fontsize=9)
    axes[1, 0].set_title("Sobel magnitude", loc="left", fontsize=9)
    fig.tight_layout()
    return fig


def plot_hog(images, pixels_per_cell: int = 7, ncols: int = 6):
    """Digits (top row) and skimage's picture of their HOG descriptor (bottom row)."""
    images = _as_images(images)[:ncols]
    fig, axes = plt.subplots(2, len(images), figsize=(1.4 * len(images), 3), squeeze=False)
    for i, im in enumerate(images):
        feats, picture = hog(im, orientations=9, pixels_per_cell=(pixels_per_cell,) * 2, cells_per_block=(2, 2),
                             visualize=True)
        axes[0, i].imshow(im, cmap="gray_r")
        axes[1, i].imshow(picture, cmap="gray")
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].set_title("digit", loc="left", fontsize=9)
    axes[1, 0].set_title(f"HOG, {pixels_per_cell}x{pixels_per_cell} cells ({len(feats)} numbers)", loc="left",
                         fontsize=9)
    fig.tight_layout()
    return fig


def plot_pca_components(pca: PCA, n: int = 16, ncols: int = 8):
    """The first ``n`` principal components of a PCA fitted on [N, 784] images, as 28x28 pictures."""
    if pca.components_.shape[1] != SIDE * SIDE:
        raise ValueError(f"expected a PCA fitted on [N, 784] images, got {pca.components_.shape[1]} features")
    n = min(n, len(pca.components_))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.35 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            comp = pca.components_[i].reshape(SIDE, SIDE)
            lim = np.abs(comp).max()
            ax.imshow(comp, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"{i + 1}: {100 * pca.explained_variance_ratio_[i]:.1f}%", fontsize=8)
    fig.suptitle("principal components (red +, blue -) and the share of variance each explains", fontsize=10)
    fig.tight_layout()
    return fig


def plot_projection(z, labels, title: str = "", max_points: int = 3000):
    """Scatter of a 2-D projection z [N, >=2] (first two columns), one colour per digit."""
    z, labels = np.asarray(z), np.asarray(labels)
    if z.ndim != 2 or z.shape[1] < 2 or len(z) != len(labels):
        raise ValueError(f"expected z [N, 2+] and labels [N], got {z.shape} and {labels.shape}")
    z, labels = z[:max_points], labels[:max_points]
    fig, ax = plt.subplots(figsize=(6, 5))
    for digit in range(10):
        pts = z[labels == digit]
        ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.6, color=plt.cm.tab10(digit), label=str(digit))
    ax.legend(markerscale=3, fontsize=8, ncol=2, title="digit")
    ax.set(xlabel="component 1", ylabel="component 2", title=title)
    fig.tight_layout()
    return fig


def plot_error_comparison(measured: dict[str, float], paper: dict[str, float] | None = None):
    """Horizontal bars of test error (%): measured pipelines and, in grey, the paper's Fig. 9 figures."""
    paper = PAPER_FIG9 if paper is None else paper
    items = [(k, v, "tab:blue") for k, v in measured.items()] + [(f"paper: {k}", v, "0.6") for k, v in paper.items()]
    items.sort(key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(items) + 1))
    ax.barh([k for k, _, _ in items], [v for _, v, _ in items], color=[c for _, _, c in items])
    for i, (_, v, _) in enumerate(items):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set(xlabel="test error (%), log scale", title="MNIST test error: measured here (blue) vs the 1998 paper (grey)")
    fig.tight_layout()
    return fig


FEATURE_KINDS = ("sobel", "hog", "pca")


def plot_feature_view(image, kind: str = "hog", hog_cell: int = 7, pca: PCA | None = None, pca_components: int = 40):
    """One digit and one hand-made view of it: Sobel edges, HOG at a cell size, or a PCA reconstruction
    from its first ``pca_components`` components (needs a PCA fitted on [N, 784] images)."""
    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind must be one of {FEATURE_KINDS}, got {kind!r}")
    im = _as_images(np.asarray(image).reshape(1, -1))[0]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(6, 3.2))
    ax0.imshow(im, cmap="gray_r")
    ax0.set_title("digit (784 pixels)", fontsize=10)
    if kind == "sobel":
        ax1.imshow(sobel(im), cmap="magma")
        ax1.set_title("Sobel edge magnitude", fontsize=10)
    elif kind == "hog":
        feats, picture = hog(im, orientations=9, pixels_per_cell=(hog_cell,) * 2, cells_per_block=(2, 2),
                             visualize=True)
        ax1.imshow(picture, cmap="gray")
        ax1.set_title(f"HOG, {hog_cell}x{hog_cell} cells: {len(feats)} numbers", fontsize=10)
    else:
        if pca is None:
            raise ValueError("kind='pca' needs a fitted PCA: pass pca=PCA(n).fit(x_train) with x_train [N, 784]")
        k = int(np.clip(pca_components, 1, pca.n_components_))
        codes = pca.transform(im.reshape(1, -1))[0, :k]
        recon = pca.mean_ + codes @ pca.components_[:k]
        ax1.imshow(recon.reshape(SIDE, SIDE), cmap="gray_r")
        ax1.set_title(f"rebuilt from {k} PCA components", fontsize=10)
    for ax in (ax0, ax1):
        ax.axis("off")
    fig.tight_layout()
    return fig


def feature_explorer(images, pca: PCA | None = None):
    """Widget: pick a digit (index into ``images`` [N, 784]), a feature kind, HOG cell size, PCA components;
    redraws ``plot_feature_view``."""
    import ipywidgets as widgets

    images = _as_images(images)
    kinds = FEATURE_KINDS if pca is not None else FEATURE_KINDS[:2]
    return interactive_figure(
        lambda index, kind, hog_cell, pca_components: plot_feature_view(
            images[index], kind, hog_cell, pca, pca_components),
        index=widgets.IntSlider(0, 0, len(images) - 1, description="digit #"),
        kind=widgets.Dropdown(options=kinds, value="hog", description="feature"),
        hog_cell=widgets.IntSlider(7, 3, 14, description="HOG cell"),
        pca_components=widgets.IntSlider(min(40, pca.n_components_) if pca is not None else 1, 1,
                                         pca.n_components_ if pca is not None else 1,
                                         description="PCA comps"),
    )
