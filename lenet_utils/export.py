"""Export the book's trained LeNets for the in-browser LeNet explorer.

``export_explorer(DIR)`` (the command ``python -m lenet_utils.cli.export --out DIR``, which
``scripts/build_book.sh`` runs) writes into DIR:

* ``<key>.onnx`` for each model of ``EXPLORER_MODELS``: one ONNX graph (``torch.onnx.export``) with the
  32x32 model input as input ``input`` and every layer's output as a named graph output
  (C1, S2, C3, S4 maps, C5 and F6 vectors, and the 10 output scores or RBF distances);
* ``models.json``: what the page needs to know about each graph: its outputs, the input scaling
  (taken from ``lenet_utils.data.prepare``), each layer's window geometry (for receptive fields), the
  test error stored with the checkpoint, and the constants of ``lenet_utils.preprocess``;
* ``digits.json``: 10 MNIST test digits of each class, chosen by a seeded rule (``bundled_digits``).

Everything is made from the committed checkpoints and the data; nothing in DIR is committed.
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import preprocess
from .data import load_mnist, prepare
from .models import LeNet5Faithful, LeNet5Paper
from .train import RESULTS_DIR as RESULTS
from .train import load_checkpoint
MAPS = ("C1", "S2", "C3", "S4")

# key -> what to export. "checkpoint" and "record" are relative to results/.
EXPLORER_MODELS = {
    "faithful": {
        "title": "LeNet-5 as in the 1998 paper (sparse C3, RBF output), trained with distortions",
        "short": "paper-faithful LeNet-5",
        "build": lambda: LeNet5Faithful(init=False),
        "checkpoint": "reproduction/adam_distorted.pt",
        "normalize": "paper",
        "output": "distances",
    },
    "paper": {
        "title": "Paper-style LeNet-5 of the first source document (full C3, linear output)",
        "short": "paper-style LeNet-5",
        "build": LeNet5Paper,
        "checkpoint": "variants/paper.pt",
        "normalize": "standard",
        "output": "scores",
    },
}


def layer_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every layer's output for a [N, 1, 32, 32] input: the maps C1, S2, C3, S4, the vectors C5 [N, 120]
    and F6 [N, 84], and the output: ``distances`` [N, 10] (the RBF penalties, smallest = prediction)
    for LeNet5Faithful, ``scores`` and ``probabilities`` (softmax) [N, 10] for LeNet5Paper."""
    if isinstance(model, LeNet5Faithful):
        f = model.features(x)
        return {**{k: f[k] for k in (*MAPS, "C5", "F6")}, "distances": f["penalties"]}
    if isinstance(model, LeNet5Paper):
        out = {}
        out["C1"] = h = model.act(model.c1(x))
        out["S2"] = h = model.s2(h)
        out["C3"] = h = model.act(model.c3(h))
        out["S4"] = h = model.s4(h)
        out["C5"] = h = model.act(model.c5(h)).flatten(1)
        out["F6"] = h = model.act(model.f6(h))
        out["scores"] = h = model.output(h)
        out["probabilities"] = torch.softmax(h, 1)
        return out
    raise TypeError(f"no layer list for {type(model).__name__}; the explorer knows LeNet5Faithful and LeNet5Paper")


class LayerOutputs(nn.Module):
    """``model`` with every layer's output as the forward's result (a tuple, in ``names`` order)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.eval()
        with torch.no_grad():
            self.names = tuple(layer_outputs(self.model, torch.zeros(1, 1, 32, 32)))
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = layer_outputs(self.model, x)
        return tuple(out[k] for k in self.names)


def input_scaling(normalize: str) -> tuple[float, float]:
    """(scale, offset) with prepare(images, normalize) == offset + scale * images / 255, read off
    ``prepare`` itself, so the page scales a drawn digit exactly as the model was trained."""
    blank = prepare(torch.zeros(1, 28, 28, dtype=torch.uint8), normalize)
    full = prepare(torch.full((1, 28, 28), 255, dtype=torch.uint8), normalize)
    offset = float(blank.flatten()[0])
    return float(full.flatten()[0]) - offset, offset


def model_input(image: np.ndarray, normalize: str) -> torch.Tensor:
    """A 28x28 image in 0..1 (1 = ink) -> the [1, 1, 32, 32] float32 input the explorer feeds the model:
    scaled as ``prepare`` scales MNIST and padded by 2 with the background value."""
    image = np.asarray(image, dtype=np.float64)
    if image.shape != (28, 28):
        raise ValueError(f"model_input expects a 28x28 image, got shape {image.shape}")
    scale, offset = input_scaling(normalize)
    x = np.full((32, 32), offset, dtype=np.float32)
    x[2:30, 2:30] = offset + scale * image
    return torch.from_numpy(x).view(1, 1, 32, 32)


def load_explorer_model(key: str, results: Path = RESULTS) -> nn.Module:
    """The trained model behind explorer key ``key``, in eval mode (checkpoint loaded with weights_only)."""
    if key not in EXPLORER_MODELS:
        raise ValueError(f"unknown explorer model {key!r}; choose one of {sorted(EXPLORER_MODELS)}")
    spec = EXPLORER_MODELS[key]
    model = spec["build"]()
    load_checkpoint(model, Path(results) / spec["checkpoint"])
    return model.eval()


def window_geometry(model: nn.Module) -> list[dict]:
    """Kernel and stride of the layers C1..C5, from the modules (for receptive fields in the page)."""
    def k(mod):
        size = getattr(mod, "kernel_size")
        return int(size[0] if isinstance(size, tuple) else size)

    def s(mod):
        stride = getattr(mod, "stride", 1)
        return int(stride[0] if isinstance(stride, tuple) else stride)

    return [{"name": name.upper(), "kernel": k(getattr(model, name)), "stride": s(getattr(model, name))}
            for name in ("c1", "s2", "c3", "s4", "c5")]


def test_error(key: str, results: Path = RESULTS) -> float | None:
    """The committed test error (%) of the checkpoint behind ``key``, from its result JSON."""
    spec = EXPLORER_MODELS[key]
    checkpoint = Path(results) / spec["checkpoint"]
    record = checkpoint.with_suffix(".json")
    if record.is_file():
        return float(json.loads(record.read_text())["final_test_error"])
    summary = checkpoint.parent / "summary.json"
    if summary.is_file():
        row = json.loads(summary.read_text())["variants"].get(checkpoint.stem)
        if row is not None:
            return round(100 * (1 - float(row["final_test_acc"])), 4)
    return None


def export_onnx(key: str, path: Path, results: Path = RESULTS) -> dict:
    """Write ``key``'s model to ``path`` as one self-contained ONNX file; return its models.json entry."""
    spec = EXPLORER_MODELS[key]
    model = load_explorer_model(key, results)
    wrapper = LayerOutputs(model)
    example = model_input(np.zeros((28, 28)), spec["normalize"])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(wrapper, (example,), str(path), input_names=["input"], output_names=list(wrapper.names),
                      dynamo=True, external_data=False, optimize=True, verbose=False)
    with torch.no_grad():
        shapes = {k: list(v.shape) for k, v in zip(wrapper.names, wrapper(example))}
    scale, offset = input_scaling(spec["normalize"])
    entry = {
        "key": key, "title": spec["title"], "short": spec["short"], "file": path.name,
        "arch": type(model).__name__, "checkpoint": f"results/{spec['checkpoint']}",
        "test_error": test_error(key, results),
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "input": {"name": "input", "shape": list(example.shape), "pad": 2,
                  "normalize": spec["normalize"], "scale": scale, "offset": offset},
        "outputs": [{"name": k, "shape": shapes[k]} for k in wrapper.names],
        "maps": list(MAPS), "prediction": spec["output"],
        "windows": window_geometry(model),
    }
    if isinstance(model, LeNet5Faithful):
        entry["rbf_centres"] = model.output.centres.tolist()  # the +1/-1 7x12 bitmaps, to draw F6 against
        entry["rbf_shape"] = [12, 7]
    return entry


def bundled_digits(per_class: int = 10, seed: int = 0, root=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices, labels, images uint8 [N, 28, 28]) of ``per_class`` MNIST test digits of each class:
    the first ``per_class`` of each class in the order of a permutation seeded with ``seed``,
    then sorted by class and index."""
    images, labels = load_mnist(train=False, root=root)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    chosen = []
    for digit in range(10):
        of_digit = order[labels[order] == digit][:per_class]
        if len(of_digit) < per_class:
            raise ValueError(f"only {len(of_digit)} test digits of class {digit}")
        chosen += sorted(int(i) for i in of_digit)
    idx = np.array(chosen)
    return idx, labels.numpy()[idx], images.numpy()[idx]


def source_hash(results: Path = RESULTS) -> str:
    """Changes whenever a checkpoint, this module, the preprocessing or torch changes."""
    h = hashlib.sha256(torch.__version__.encode())
    for spec in EXPLORER_MODELS.values():
        h.update((Path(results) / spec["checkpoint"]).read_bytes())
    for module in (Path(__file__), Path(preprocess.__file__)):
        h.update(module.read_bytes())
    return h.hexdigest()


def export_explorer(out: Path, results: Path = RESULTS, force: bool = False, root=None) -> Path:
    """Write the explorer's models and digits into ``out`` (skipped when already up to date)."""
    out = Path(out)
    meta_path = out / "models.json"
    want = source_hash(results)
    if not force and meta_path.is_file() and (out / "digits.json").is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("source_hash") == want and all((out / m["file"]).is_file() for m in meta["models"]):
            print(f"export: {out} is up to date")
            return meta_path
    out.mkdir(parents=True, exist_ok=True)
    models = []
    for key in EXPLORER_MODELS:
        models.append(export_onnx(key, out / f"{key}.onnx", results))
        print(f"export: {key} -> {out / (key + '.onnx')} ({(out / (key + '.onnx')).stat().st_size:,} bytes)")
    idx, labels, images = bundled_digits(root=root)
    (out / "digits.json").write_text(json.dumps({
        "source": "MNIST test set", "indices": idx.tolist(), "labels": labels.tolist(), "size": 28,
        "images_base64": base64.b64encode(np.ascontiguousarray(images, dtype=np.uint8).tobytes()).decode(),
    }) + "\n")
    meta = {"models": models, "digits": "digits.json", "source_hash": want,
            "preprocess": {"field": preprocess.FIELD, "box": preprocess.BOX, "centre": preprocess.CENTRE}}
    meta_path.write_text(json.dumps(meta, separators=(",", ":")) + "\n")
    print(f"export: {len(idx)} test digits -> {out / 'digits.json'}")
    return meta_path
