import pytest
import torch
from torch.nn import functional as F

from lenet_utils.data import MNIST_MEAN, MNIST_STD
from lenet_utils.layers import ScaledTanh, Subsampling
from lenet_utils.models import MODELS, LeNet5Classic, LeNet5Modern, LeNet5Paper, build_model
from lenet_utils.shapes import count_parameters


def test_scaled_tanh_values():
    f = ScaledTanh()
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0])
    assert torch.allclose(f(x), 1.7159 * torch.tanh(2 * x / 3))
    assert f(torch.tensor(1.0)).item() == pytest.approx(1.0, abs=1e-4)
    assert f(torch.tensor(-1.0)).item() == pytest.approx(-1.0, abs=1e-4)


def test_subsampling_matches_hand_computation():
    layer = Subsampling(2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([2.0, -1.0]))
        layer.bias.copy_(torch.tensor([0.5, 1.0]))
    x = torch.arange(32.0).view(1, 2, 4, 4)
    expected = torch.empty(1, 2, 2, 2)
    for c, (a, b) in enumerate([(2.0, 0.5), (-1.0, 1.0)]):
        for i in range(2):
            for j in range(2):
                expected[0, c, i, j] = a * x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].mean() + b
    assert torch.allclose(layer(x), expected)
    assert sum(p.numel() for p in layer.parameters()) == 4


def test_subsampling_rejects_wrong_channels():
    with pytest.raises(ValueError, match=r"expects input \[N, 6, H, W\]"):
        Subsampling(6)(torch.zeros(1, 3, 8, 8))


@pytest.mark.parametrize("cls,params", [(LeNet5Classic, 44_426), (LeNet5Paper, 61_750), (LeNet5Modern, 61_706)])
def test_models_output_shape_and_parameter_count(cls, params):
    model = cls()
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert count_parameters(model) == params


def test_paper_model_accepts_32_and_pads_28_with_background():
    model = LeNet5Paper()
    torch.manual_seed(0)
    x28 = torch.randn(2, 1, 28, 28)
    x32 = F.pad(x28, (2, 2, 2, 2), value=-MNIST_MEAN / MNIST_STD)
    assert torch.allclose(model(x28), model(x32))


@pytest.mark.parametrize("cls,bad,expected", [
    (LeNet5Classic, torch.zeros(2, 28, 28), r"\[N, 1, 28, 28\].*unsqueeze"),
    (LeNet5Classic, torch.zeros(2, 1, 32, 32), r"\[N, 1, 28, 28\], got \[2, 1, 32, 32\]"),
    (LeNet5Modern, torch.zeros(2, 3, 28, 28), r"\[N, 1, 28, 28\]"),
    (LeNet5Paper, torch.zeros(2, 1, 30, 30), r"\[N, 1, 32, 32\] or \[N, 1, 28, 28\]"),
])
def test_wrong_input_shape_names_the_expected_shape(cls, bad, expected):
    with pytest.raises(ValueError, match=expected):
        cls()(bad)


def test_build_model():
    assert isinstance(build_model("LeNet5Modern"), LeNet5Modern)
    assert set(MODELS) == {"LeNet5Classic", "LeNet5Paper", "LeNet5Modern", "LeNet5Faithful"}
    with pytest.raises(ValueError, match="unknown model 'AlexNet'"):
        build_model("AlexNet")
