import json

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
from matplotlib.figure import Figure
from skimage.filters import sobel
from sklearn.decomposition import PCA

from lenet_utils.chapters import background as bl
from lenet_utils.train import describe_machine


@pytest.fixture(scope="module")
def small(data_root):
    return bl.mnist_arrays(train_sample=600, test_sample=200, seed=0)


def test_mnist_arrays_shapes_and_range(small):
    xtr, ytr, xte, yte = small
    assert xtr.shape == (600, 784) and xte.shape == (200, 784)
    assert xtr.dtype == np.float32 and 0 <= xtr.min() and xtr.max() == 1.0
    assert ytr.shape == (600,) and set(np.unique(ytr)) == set(range(10))
    again = bl.mnist_arrays(train_sample=600, test_sample=200, seed=0)
    assert np.array_equal(again[0], xtr)                       # same seed, same sample


def test_mnist_arrays_bad_sample_size(data_root):
    with pytest.raises(ValueError, match="train_sample must be between 1 and 60,000"):
        bl.mnist_arrays(train_sample=0)
    with pytest.raises(ValueError, match="test_sample must be between 1 and 10,000"):
        bl.mnist_arrays(test_sample=10_001)


def test_sobel_features_match_skimage(small):
    x = small[0][:3]
    feats = bl.sobel_features(x)
    assert feats.shape == (3, 784)
    assert np.allclose(feats[1].reshape(28, 28), sobel(x[1].reshape(28, 28)))


def test_hog_features_length(small):
    assert bl.hog_features(small[0][:2]).shape == (2, 324)
    assert bl.hog_features(small[0][:2], pixels_per_cell=4).shape == (2, 1296)


def test_bad_inputs_explain_the_fix(small):
    with pytest.raises(ValueError, match=r"expected MNIST images \[N, 784\]"):
        bl.sobel_features(np.zeros((2, 30)))
    with pytest.raises(ValueError, match="pixels_per_cell must be between 2 and 14"):
        bl.hog_features(small[0][:1], pixels_per_cell=20)
    with pytest.raises(ValueError, match="unknown baseline 'svm'"):
        bl.make_baseline("svm")
    with pytest.raises(ValueError, match="unknown baseline"):
        bl.run_baselines(["pixels_knn3", "nope"])


def test_run_baselines_rows(small):
    rows = bl.run_baselines(["pixels_knn3", "lda9_knn3"], train_sample=1000, test_sample=300, seed=0)
    assert [r["name"] for r in rows] == ["pixels_knn3", "lda9_knn3"]
    for r in rows:
        assert r["train_size"] == 1000 and r["test_size"] == 300
        assert r["test_error_percent"] == round(100 * r["test_error"], 2)
        assert set(r) >= {"features", "classifier", "seconds"}
    assert rows[0]["test_error"] < 0.2                         # 3-NN on 1,000 images: about 10%


def test_every_pipeline_fits(small):
    xtr, ytr, xte, _ = small
    for name in bl.PIPELINES:
        pred = bl.make_baseline(name).fit(xtr[:300], ytr[:300]).predict(xte[:20])
        assert pred.shape == (20,)


def test_save_and_load_results(tmp_path):
    rows = [{"name": "x", "test_error_percent": 1.5, "train_size": 10, "test_size": 5, "seconds": 0.1}]
    path = bl.save_results(rows, tmp_path / "r.json", seed=3)
    data = bl.load_results(path)
    assert data["results"] == rows and data["seed"] == 3 and "date" in data
    assert data["machine"].keys() == describe_machine().keys()
    with pytest.raises(FileNotFoundError, match="python -m lenet_utils.cli.baselines"):
        bl.load_results(tmp_path / "missing.json")


def test_committed_results_file():
    data = json.loads(bl.RESULTS_PATH.read_text())
    assert {"machine", "date", "seed", "results"} <= set(data)
    assert {r["name"] for r in data["results"]} == set(bl.PIPELINES)
    for r in data["results"]:
        assert r["test_size"] == 10_000 and 0 < r["test_error_percent"] < 20
        assert {"train_size", "seconds"} <= set(r)


def test_figures(small):
    xtr, ytr, _, _ = small
    fig = bl.plot_sobel(xtr[:4], ncols=4)
    images = [ax.images[0].get_array() for ax in fig.axes]
    assert len(images) == 8
    for i in range(4):  # top row the digits, bottom row their Sobel magnitude
        assert np.array_equal(images[i], xtr[i].reshape(28, 28))
        assert np.allclose(images[4 + i], sobel(xtr[i].reshape(28, 28)), atol=1e-6)
    fig = bl.plot_hog(xtr[:3], ncols=3)
    assert len(fig.axes) == 6 and fig.axes[3].get_title(loc="left") == "HOG, 7x7 cells (324 numbers)"
    pca = PCA(20).fit(xtr)
    fig = bl.plot_pca_components(pca, n=10, ncols=5)
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(shown) == 10 and np.allclose(shown[3], pca.components_[3].reshape(28, 28))
    assert isinstance(bl.plot_projection(pca.transform(xtr), ytr), Figure)
    with pytest.raises(ValueError, match=r"expected z \[N, 2\+\]"):
        bl.plot_projection(np.zeros((5, 1)), np.zeros(5))
    ax = bl.plot_error_comparison({"a": 1.0, "c": 3.0}, {"b": 2.0}).axes[0]
    assert [p.get_width() for p in ax.patches] == [1.0, 2.0, 3.0]      # sorted by error
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "paper: b", "c"]
    for kind in bl.FEATURE_KINDS:
        fig = bl.plot_feature_view(xtr[0], kind, pca=pca, pca_components=5)
        assert len(fig.axes) == 2 and len(fig.axes[1].images) == 1
    with pytest.raises(ValueError, match="needs a fitted PCA"):
        bl.plot_feature_view(xtr[0], "pca")
    with pytest.raises(ValueError, match="kind must be one of"):
        bl.plot_feature_view(xtr[0], "sift")


def test_feature_explorer_widget(small):
    import ipywidgets

    w = bl.feature_explorer(small[0][:5], pca=PCA(10).fit(small[0]))
    assert isinstance(w, ipywidgets.interactive)
    assert len(w.children) == 5  # four controls and the output
