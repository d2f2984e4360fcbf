"""The LeNet variants the book trains.

- ``LeNet5Classic``: the second source document (d2l's first LeNet): 28x28 input, sigmoid, max-pool.
- ``LeNet5Paper``: the first source document's paper-style LeNet-5: 32x32 input, scaled tanh,
  trainable subsampling, C5 as a 5x5 convolution, linear 10-way output.
- ``LeNet5Modern``: ReLU and max-pool, 28x28 padded by the first convolution.

The paper-faithful model (sparse C3, RBF output) lives in ``lenet_utils.faithful``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .data import MNIST_MEAN, MNIST_STD
from .layers import ScaledTanh, Subsampling

STANDARD_BACKGROUND = -MNIST_MEAN / MNIST_STD  # a blank pixel after standardisation


def check_input(x: torch.Tensor, model_name: str, sizes: tuple[tuple[int, int], ...]) -> None:
    """Raise ValueError unless ``x`` is [N, 1, H, W] with (H, W) one of ``sizes``."""
    if x.dim() != 4 or x.shape[1] != 1 or tuple(x.shape[-2:]) not in sizes:
        expected = " or ".join(f"[N, 1, {h}, {w}]" for h, w in sizes)
        hint = " Add the channel axis with x.unsqueeze(1)." if x.dim() == 3 else ""
        raise ValueError(f"{model_name} expects a batch of grey images {expected}, got {list(x.shape)}.{hint}")


class LeNet5Classic(nn.Module):
    """Sigmoid / max-pool LeNet of the second source document.

    [N, 1, 28, 28] -> conv 5x5 -> [N, 6, 24, 24] -> pool -> [N, 6, 12, 12] -> conv 5x5 -> [N, 16, 8, 8]
    -> pool -> [N, 16, 4, 4] -> flatten [N, 256] -> 120 -> 84 -> 10 scores. 44,426 parameters.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.Sigmoid(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 4 * 4, 120), nn.Sigmoid(),
            nn.Linear(120, 84), nn.Sigmoid(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, type(self).__name__, ((28, 28),))
        feature = self.features(x)
        return self.classifier(feature.view(x.shape[0], -1))


class LeNet5Paper(nn.Module):
    """Paper-style LeNet-5 of the first source document.

    [N, 1, 32, 32] (28x28 is padded by 2 on each side) -> C1 [N, 6, 28, 28] -> tanh -> S2 [N, 6, 14, 14]
    -> C3 [N, 16, 10, 10] -> tanh -> S4 [N, 16, 5, 5] -> C5 [N, 120, 1, 1] -> tanh -> F6 [N, 84] -> tanh
    -> output [N, 10] scores. C3 connects to all six S2 maps (no Table I), the output is linear (no RBF).
    61,750 parameters. A 28x28 input is padded with ``pad_value``, by default the background value of the
    standardised images (0 on the raw scale), not 0, which would be mid-grey after standardisation.
    """

    def __init__(self, num_classes: int = 10, pad_value: float = STANDARD_BACKGROUND):
        super().__init__()
        self.pad_value = pad_value
        self.act = ScaledTanh()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2 = Subsampling(6)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = Subsampling(16)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, type(self).__name__, ((32, 32), (28, 28)))
        if x.shape[-1] == 28:
            x = F.pad(x, (2, 2, 2, 2), value=self.pad_value)
        x = self.s2(self.act(self.c1(x)))
        x = self.s4(self.act(self.c3(x)))
        x = self.act(self.c5(x)).flatten(1)
        x = self.act(self.f6(x))
        return self.output(x)


class LeNet5Modern(nn.Module):
    """LeNet-5 with today's defaults: ReLU, max-pool, and 'same' padding on the first convolution.

    [N, 1, 28, 28] -> conv 5x5 pad 2 -> [N, 6, 28, 28] -> pool -> [N, 6, 14, 14] -> conv 5x5 -> [N, 16, 10, 10]
    -> pool -> [N, 16, 5, 5] -> flatten [N, 400] -> 120 -> 84 -> 10 scores. 61,706 parameters.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )
        # Channels-last activations make these small convolutions about 25% faster on a CPU;
        # the layers compute the same thing, only the order of the numbers in memory changes.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, type(self).__name__, ((28, 28),))
        return self.classifier(self.features(x.contiguous(memory_format=torch.channels_last)))


MODELS = {cls.__name__: cls for cls in (LeNet5Classic, LeNet5Paper, LeNet5Modern)}


def build_model(name: str, **kwargs) -> nn.Module:
    """A model by class name, e.g. build_model("LeNet5Modern")."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name](**kwargs)
