"""lenet_utils.export: the explorer's ONNX graphs equal the PyTorch models (checked with onnxruntime)."""
import base64
import json

import numpy as np
import pytest
import torch

from lenet_utils import export, load_mnist
from lenet_utils.data import MNIST_MEAN, MNIST_STD, prepare


def test_input_scaling_is_prepare():
    assert np.allclose(export.input_scaling("paper"), (1.275, -0.1))
    assert np.allclose(export.input_scaling("standard"), (1 / MNIST_STD, -MNIST_MEAN / MNIST_STD))
    digits = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8)
    for normalize in ("paper", "standard"):
        expected = prepare(digits, normalize, pad=True)
        for img, want in zip(digits, expected):
            got = export.model_input(img.numpy() / 255.0, normalize)
            assert got.shape == (1, 1, 32, 32) and got.dtype == torch.float32
            assert torch.allclose(got[0], want, atol=1e-5)
    with pytest.raises(ValueError, match="28x28"):
        export.model_input(np.zeros((32, 32)), "paper")


@pytest.mark.parametrize("key", list(export.EXPLORER_MODELS))
def test_layer_outputs_end_in_the_models_output(key):
    model = export.load_explorer_model(key)
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        out = export.layer_outputs(model, x)
        final = model(x)
    assert [tuple(out[k].shape[1:]) for k in ("C1", "S2", "C3", "S4", "C5", "F6")] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,)]
    if key == "faithful":
        assert torch.allclose(-out["distances"], final)       # the model's scores are -distances
    else:
        assert torch.allclose(out["scores"], final)
        assert torch.allclose(out["probabilities"].sum(1), torch.ones(4))


def test_bundled_digits(data_root):
    idx, labels, images = export.bundled_digits()
    assert len(idx) == 100 and images.shape == (100, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [10] * 10
    again = export.bundled_digits()
    assert np.array_equal(idx, again[0])                      # a seeded rule, not luck
    test_images, test_labels = load_mnist(train=False)
    assert np.array_equal(test_labels.numpy()[idx], labels) and np.array_equal(test_images.numpy()[idx], images)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("explorer")
    export.export_explorer(out)
    return out


def test_export_writes_what_the_page_reads(exported):
    meta = json.loads((exported / "models.json").read_text())
    assert [m["key"] for m in meta["models"]] == list(export.EXPLORER_MODELS)
    for m in meta["models"]:
        assert (exported / m["file"]).stat().st_size > 200_000        # the weights are inside the file
        assert m["maps"] == ["C1", "S2", "C3", "S4"] and 0 < m["test_error"] < 2
        assert [w["name"] for w in m["windows"]] == ["C1", "S2", "C3", "S4", "C5"]
    assert meta["preprocess"] == {"field": 28, "box": 20, "centre": 14.0}
    digits = json.loads((exported / "digits.json").read_text())
    assert len(digits["labels"]) == 100
    # A second run with nothing changed does not export again.
    stamp = (exported / "faithful.onnx").stat().st_mtime_ns
    export.export_explorer(exported)
    assert (exported / "faithful.onnx").stat().st_mtime_ns == stamp


def tolerance(reference):
    return 1e-4 * np.maximum(1.0, np.abs(reference))


@pytest.mark.parametrize("key", list(export.EXPLORER_MODELS))
def test_onnx_graph_equals_pytorch(exported, key):
    ort = pytest.importorskip("onnxruntime")
    meta = {m["key"]: m for m in json.loads((exported / "models.json").read_text())["models"]}[key]
    session = ort.InferenceSession(str(exported / meta["file"]), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == [o["name"] for o in meta["outputs"]]
    model = export.load_explorer_model(key)
    digits = json.loads((exported / "digits.json").read_text())
    images = np.frombuffer(base64.b64decode(digits["images_base64"]), np.uint8).reshape(-1, 28, 28)
    for img in images[::5]:
        x = export.model_input(img / 255.0, meta["input"]["normalize"])
        got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": x.numpy()})))
        with torch.no_grad():
            want = {k: v.numpy() for k, v in export.layer_outputs(model, x).items()}
        for name, ref in want.items():
            assert got[name].shape == ref.shape
            assert (np.abs(got[name] - ref) <= tolerance(ref)).all(), name
