import shutil
from pathlib import Path

import pytest
import torch

from lenet_utils.data import (MNIST_MEAN, MNIST_STD, DataError, TensorLoader, check_files, load_mnist, mnist_loaders,
                              mnist_tensors, prepare)


def test_load_mnist_shapes_and_types(data_root):
    x, y = load_mnist(train=True, root=data_root)
    assert x.shape == (60_000, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (60_000,) and y.dtype == torch.int64
    xt, yt = load_mnist(train=False, root=data_root)
    assert xt.shape == (10_000, 28, 28)
    assert torch.bincount(yt).tolist()[:3] == [980, 1135, 1032]  # published class counts of the test set


def test_load_mnist_is_cached(data_root):
    assert load_mnist(True, root=data_root)[0] is load_mnist(True, root=data_root)[0]


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_mnist(dataset="cifar")


@pytest.fixture
def copied_root(tmp_path, data_root):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (data_root / "MNIST" / "raw").iterdir():
        shutil.copy(f, raw / f.name)
    return tmp_path


def test_missing_file_names_the_file_and_the_fix(copied_root):
    (copied_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.*LENET_DATA"):
        load_mnist(train=False, root=copied_root, download=False)


def test_truncated_file_is_reported(copied_root):
    path = copied_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte has 1,000 bytes, expected 47,040,016"):
        check_files(copied_root)


def test_corrupt_file_is_reported(copied_root):
    path = copied_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        check_files(copied_root)


def test_bad_magic_is_reported(copied_root):
    path = copied_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    data = bytearray(path.read_bytes())
    data[3] = 0
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="not an IDX file"):
        check_files(copied_root)


def test_prepare_normalisations():
    img = torch.tensor([[[0, 255]]], dtype=torch.uint8)
    assert prepare(img, "unit").tolist() == [[[[0.0, 1.0]]]]
    paper = prepare(img, "paper")
    assert paper[0, 0, 0, 0].item() == pytest.approx(-0.1) and paper[0, 0, 0, 1].item() == pytest.approx(1.175)
    std = prepare(img, "standard")
    assert std[0, 0, 0, 0].item() == pytest.approx(-MNIST_MEAN / MNIST_STD)
    assert prepare(img, None).tolist() == [[[[0.0, 255.0]]]]


def test_prepare_pads_with_background():
    img = torch.full((2, 28, 28), 255, dtype=torch.uint8)
    x = prepare(img, "paper", pad=True)
    assert x.shape == (2, 1, 32, 32)
    assert torch.allclose(x[:, :, :2, :], torch.tensor(-0.1))  # the 2-pixel border is background
    assert torch.allclose(x[:, :, 2:30, 2:30], torch.tensor(1.175))


def test_standardised_training_set_has_zero_mean_unit_std(data_root):
    x = prepare(load_mnist(True, root=data_root)[0], "standard")
    assert abs(x.mean().item()) < 1e-3 and abs(x.std().item() - 1) < 1e-3


def test_prepare_rejects_floats_and_bad_names():
    with pytest.raises(ValueError, match="expects uint8 images"):
        prepare(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match="normalize must be"):
        prepare(torch.zeros(2, 28, 28, dtype=torch.uint8), "minmax")


def test_tensor_loader_batches_and_seeded_shuffle():
    x, y = torch.arange(10).float().view(10, 1), torch.arange(10)
    loader = TensorLoader(x, y, batch_size=4, shuffle=True, seed=3)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == list(range(10))
    again = list(TensorLoader(x, y, batch_size=4, shuffle=True, seed=3))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    assert not torch.equal(torch.cat([b[1] for b in list(loader)]), torch.cat([b[1] for b in batches]))
    for xb, yb in batches:
        assert torch.equal(xb.view(-1).long(), yb)  # pairs stay together


def test_tensor_loader_batches_are_the_seeded_permutation_of_the_rows():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(50, 1, 4, 4, generator=g), torch.randint(0, 10, (50,), generator=g)
    loader = TensorLoader(x, y, batch_size=16, shuffle=True, seed=7)
    for epoch in range(2):  # each pass draws the next permutation from the loader's own generator
        order = torch.randperm(50, generator=torch.Generator().manual_seed(7).set_state(
            loader.generator.get_state()))
        batches = list(loader)
        assert torch.equal(torch.cat([xb for xb, _ in batches]), x[order])
        assert torch.equal(torch.cat([yb for _, yb in batches]), y[order])


def test_tensor_loader_subset_drop_last_transform():
    x, y = torch.ones(10, 1), torch.arange(10)
    loader = TensorLoader(x, y, batch_size=4, subset=9, drop_last=True, transform=lambda b: b * 2)
    batches = list(loader)
    assert len(loader) == 2 and loader.num_samples == 8
    assert torch.all(batches[0][0] == 2) and batches[1][1].tolist() == [4, 5, 6, 7]


def test_tensor_loader_rejects_bad_arguments():
    with pytest.raises(ValueError, match="differ in length"):
        TensorLoader(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be positive"):
        TensorLoader(torch.zeros(3), torch.zeros(3), batch_size=0)


def test_mnist_loaders(data_root):
    train, test = mnist_loaders(batch_size=100, pad=True, subset=1000, test_subset=500)
    xb, yb = next(iter(train))
    assert xb.shape == (100, 1, 32, 32) and xb.dtype == torch.float32 and yb.shape == (100,)
    assert len(train) == 10 and sum(len(b[1]) for b in test) == 500


def test_a_subset_is_the_first_n_images(data_root):
    images, labels = load_mnist(True)
    test_images, test_labels = load_mnist(False)
    xtr, ytr, xte, yte = mnist_tensors("paper", pad=True, subset=300, test_subset=50)
    assert torch.equal(xtr, prepare(images[:300], "paper", pad=True)) and torch.equal(ytr, labels[:300])
    assert torch.equal(xte, prepare(test_images[:50], "paper", pad=True)) and torch.equal(yte, test_labels[:50])
    train, test = mnist_loaders(batch_size=64, subset=300, test_subset=50)
    assert torch.equal(train.x, prepare(images[:300])) and torch.equal(test.y, test_labels[:50])
    assert torch.equal(TensorLoader(xtr, ytr, subset=10).y, labels[:10])


def test_data_root_precedence(monkeypatch, tmp_path):
    from lenet_utils.data import data_root, default_root

    monkeypatch.setenv("LENET_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("elsewhere") == Path("elsewhere")
    monkeypatch.delenv("LENET_DATA")
    assert data_root() == default_root()
    assert default_root().name == "data"


def test_fashion_mnist_through_the_same_api(tmp_path):
    from lenet_utils.data import DEBIAN_FASHION_DIR

    if not DEBIAN_FASHION_DIR.is_dir():
        pytest.skip("Fashion-MNIST needs the internet or Debian's dataset-fashion-mnist package")
    x, y = load_mnist(train=False, dataset="fashion", root=tmp_path, download=False)
    assert x.shape == (10_000, 28, 28) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist() == [1000] * 10  # Fashion-MNIST's test set is balanced
    assert (tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()
