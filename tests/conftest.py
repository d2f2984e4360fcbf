import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root():
    """The MNIST root: $LENET_DATA, else ../shared/data beside the repository."""
    root = Path(os.environ.get("LENET_DATA", SHARED_DATA))
    if not (root / "MNIST" / "raw").is_dir():
        pytest.fail(f"MNIST not found under {root}; set LENET_DATA to the folder that holds MNIST/raw/")
    os.environ["LENET_DATA"] = str(root)
    return root


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
