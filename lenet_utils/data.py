"""MNIST (and Fashion-MNIST) as in-memory tensors, the book's transforms, and a fast batch iterator.

The images are read once through ``torchvision.datasets`` and kept as uint8 tensors of shape
[N, 28, 28]. Everything the chapters need is a cheap tensor operation on top of that.

Throughout ``lenet_utils`` a ``subset`` (``test_subset``) of N means the first N images of the split,
never a random draw; the one place that draws a random sample calls it a sample.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
from pathlib import Path

import torch
import torchvision

DATA_ENV = "LENET_DATA"
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
# The paper's scaling: background (0) -> -0.1, ink (255) -> 1.175.
PAPER_BACKGROUND, PAPER_INK = -0.1, 1.175

# Canonical SHA-256 sums of the uncompressed IDX files (the same as published for the originals).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_IDX_SIZES = {"images": (2051, 16, 784), "labels": (2049, 8, 1)}  # magic, header bytes, bytes per item
_COUNTS = {"train": 60_000, "t10k": 10_000}
_DATASETS = {"mnist": torchvision.datasets.MNIST, "fashion": torchvision.datasets.FashionMNIST}
# Debian's `dataset-fashion-mnist` package ships the original gzipped files here.
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


class DataError(RuntimeError):
    """The data files are missing, truncated or corrupt. The message says which file and what to do."""


def default_root() -> Path:
    """``data/`` at the root of the book's repository when lenet_utils lives there, else ``./data``."""
    repo = Path(__file__).resolve().parents[1]
    return repo / "data" if (repo / "pyproject.toml").is_file() and (repo / "notebooks").is_dir() else Path("data")


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds ``MNIST/raw/``: the argument, else $LENET_DATA, else ``default_root()``.

    Notebooks run from ``notebooks/`` and scripts from the repository root all share one ``data/``.
    """
    if root is None:
        root = os.environ.get(DATA_ENV) or default_root()
    return Path(root).expanduser()


def _expected_size(filename: str) -> int:
    split = "train" if filename.startswith("train") else "t10k"
    _, header, item = _IDX_SIZES["images" if "images" in filename else "labels"]
    return header + _COUNTS[split] * item


def _fix_hint(root: Path, dataset: str) -> str:
    folder = _DATASETS[dataset].__name__
    return (
        f"To fix it: delete the file and run again with internet access (torchvision downloads it into "
        f"{root / folder / 'raw'}), or point ${DATA_ENV} at a folder that holds {folder}/raw/ with the four "
        f"uncompressed IDX files."
    )


def check_files(root: str | os.PathLike | None = None, dataset: str = "mnist", checksum: bool = True) -> None:
    """Raise DataError if one of the four IDX files is missing, truncated or corrupt."""
    root = data_root(root)
    raw = root / _DATASETS[dataset].__name__ / "raw"
    for name in MNIST_SHA256:
        path = raw / name
        if not path.is_file():
            raise DataError(f"{dataset} file not found: {path}. {_fix_hint(root, dataset)}")
        size, expected = path.stat().st_size, _expected_size(name)
        if size != expected:
            raise DataError(
                f"{dataset} file {path} has {size:,} bytes, expected {expected:,} (truncated or corrupt). "
                f"{_fix_hint(root, dataset)}"
            )
        magic = int.from_bytes(path.read_bytes()[:4], "big") if size >= 4 else -1
        if magic != _IDX_SIZES["images" if "images" in name else "labels"][0]:
            raise DataError(f"{dataset} file {path} is not an IDX file (bad magic number). {_fix_hint(root, dataset)}")
        if checksum and dataset == "mnist":
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != MNIST_SHA256[name]:
                raise DataError(f"{dataset} file {path} is corrupt (SHA-256 mismatch). {_fix_hint(root, dataset)}")


def _install_debian_fashion(raw: Path) -> bool:
    """Copy Debian's Fashion-MNIST files (same dataset, gzipped) into torchvision's layout."""
    if not DEBIAN_FASHION_DIR.is_dir():
        return False
    raw.mkdir(parents=True, exist_ok=True)
    for name in MNIST_SHA256:
        src = DEBIAN_FASHION_DIR / f"{name}.gz"
        if not src.is_file():
            return False
        with gzip.open(src, "rb") as fin, open(raw / name, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    return True


def _ensure_files(root: Path, dataset: str, download: bool | None) -> None:
    raw = root / _DATASETS[dataset].__name__ / "raw"
    missing = [name for name in MNIST_SHA256 if not (raw / name).is_file()]
    if missing and dataset == "fashion":
        _install_debian_fashion(raw)
        missing = [name for name in MNIST_SHA256 if not (raw / name).is_file()]
    if missing and download is not False:
        try:
            _DATASETS[dataset](root, train=True, download=True)
        except Exception as err:  # offline, proxy, disk full ...
            raise DataError(
                f"{dataset} file not found: {raw / missing[0]}, and downloading it failed ({err}). "
                f"{_fix_hint(root, dataset)}"
            ) from err
    check_files(root, dataset)


@functools.lru_cache(maxsize=8)
def _load(root: str, dataset: str, train: bool, download: bool | None) -> tuple[torch.Tensor, torch.Tensor]:
    root_path = Path(root)
    _ensure_files(root_path, dataset, download)
    ds = _DATASETS[dataset](root_path, train=train, download=False)
    return ds.data.contiguous(), ds.targets.long().contiguous()


def load_mnist(
    train: bool = True, dataset: str = "mnist", root: str | os.PathLike | None = None, download: bool | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as uint8 [N, 28, 28] and labels as int64 [N] (N = 60,000 train or 10,000 test).

    ``dataset`` is "mnist" or "fashion". Files are downloaded by torchvision when missing unless
    ``download=False``. The tensors are cached: later calls cost nothing. Treat them as read-only.
    """
    if dataset not in _DATASETS:
        raise ValueError(f"dataset must be one of {sorted(_DATASETS)}, got {dataset!r}")
    return _load(str(data_root(root).resolve()), dataset, bool(train), download)


def prepare(images: torch.Tensor, normalize: str | None = "standard", pad: bool = False) -> torch.Tensor:
    """uint8 [N, 28, 28] -> float32 [N, 1, 28, 28] (or [N, 1, 32, 32] with ``pad=True``).

    normalize: "standard" ((x/255 - 0.1307) / 0.3081), "paper" (background -0.1, ink 1.175),
    "unit" (x/255) or None (raw 0..255 as float). Padding adds 2 background pixels on each side
    before scaling, so the border gets the background value of whichever scaling is chosen.
    """
    if images.dtype != torch.uint8 or images.dim() not in (3, 4):
        raise ValueError(
            f"prepare() expects uint8 images of shape [N, 28, 28] as returned by load_mnist, "
            f"got {images.dtype} {tuple(images.shape)}"
        )
    x = images if images.dim() == 4 else images.unsqueeze(1)
    if pad:
        x = torch.nn.functional.pad(x, (2, 2, 2, 2))
    x = x.float()
    if normalize == "standard":
        return (x / 255.0 - MNIST_MEAN) / MNIST_STD
    if normalize == "paper":
        return PAPER_BACKGROUND + (PAPER_INK - PAPER_BACKGROUND) * x / 255.0
    if normalize == "unit":
        return x / 255.0
    if normalize is None:
        return x
    raise ValueError(f"normalize must be 'standard', 'paper', 'unit' or None, got {normalize!r}")


class TensorLoader:
    """Mini-batches from tensors already in memory: a fast stand-in for a ``DataLoader``.

    Yields (x[batch], y[batch]). With ``shuffle=True`` every pass draws a new permutation from a
    generator seeded with ``seed``, so two loaders built with the same seed yield the same batches.
    ``subset`` keeps the first ``subset`` samples; ``transform`` is applied to each x batch.
    """

    def __init__(self, x, y, batch_size=256, shuffle=False, seed=0, subset=None, drop_last=False, transform=None):
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if subset is not None:
            x, y = x[:subset], y[:subset]
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.drop_last, self.transform = batch_size, shuffle, drop_last, transform
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    @property
    def num_samples(self) -> int:
        return len(self.x) - (len(self.x) % self.batch_size if self.drop_last else 0)

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            if order is None:
                xb, yb = self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]
            else:  # index_select copies whole rows: several times faster than x[idx] on a CPU
                idx = order[start : start + self.batch_size]
                xb, yb = self.x.index_select(0, idx), self.y.index_select(0, idx)
            yield (self.transform(xb) if self.transform else xb), yb


def mnist_tensors(
    normalize: str | None = "standard",
    pad: bool = False,
    subset: int | None = None,
    test_subset: int | None = None,
    dataset: str = "mnist",
    root: str | os.PathLike | None = None,
    device=None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_test, y_test): the first ``subset`` training and first ``test_subset`` test images
    (None: all), prepared with ``prepare(images, normalize, pad)``, and their labels, on ``device``."""
    out = []
    for train, size in ((True, subset), (False, test_subset)):
        images, labels = load_mnist(train, dataset, root)
        if size is not None:
            images, labels = images[:size], labels[:size]
        out += [prepare(images, normalize, pad).to(device), labels.to(device)]
    return tuple(out)


def mnist_loaders(
    batch_size: int = 256,
    normalize: str | None = "standard",
    pad: bool = False,
    subset: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
    dataset: str = "mnist",
    test_batch_size: int = 1000,
    root: str | os.PathLike | None = None,
) -> tuple[TensorLoader, TensorLoader]:
    """(train_loader, test_loader) over ``mnist_tensors``; the train loader shuffles with ``seed``."""
    xtr, ytr, xte, yte = mnist_tensors(normalize, pad, subset, test_subset, dataset, root)
    return TensorLoader(xtr, ytr, batch_size, shuffle=True, seed=seed), TensorLoader(xte, yte, test_batch_size)
