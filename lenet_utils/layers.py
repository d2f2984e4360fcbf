"""The two layers LeNet-5 has and modern libraries lack: the scaled tanh and trainable subsampling."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# f(a) = A tanh(S a) with A = 1.7159 and S = 2/3, chosen so that f(1) = 1 and f(-1) = -1.
TANH_A, TANH_S = 1.7159, 2.0 / 3.0


class ScaledTanh(nn.Module):
    """The paper's squashing function f(a) = A * tanh(S * a). Any shape in, same shape out."""

    def __init__(self, A: float = TANH_A, S: float = TANH_S):
        super().__init__()
        self.A, self.S = A, S

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.A * torch.tanh(self.S * x)

    def extra_repr(self) -> str:
        return f"A={self.A}, S={self.S:.4f}"


class Subsampling(nn.Module):
    """LeNet's S-layer: average over each k x k window, times a trainable coefficient per map,
    plus a trainable bias per map (2 parameters per map; no squashing here).

    [N, C, H, W] -> [N, C, floor((H - k) / s) + 1, floor((W - k) / s) + 1]
    """

    def __init__(self, channels: int, kernel_size: int = 2, stride: int | None = None):
        super().__init__()
        self.channels, self.kernel_size = channels, kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f"Subsampling({self.channels}) expects input [N, {self.channels}, H, W], got {tuple(x.shape)}"
            )
        pooled = F.avg_pool2d(x, self.kernel_size, self.stride)
        return pooled * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kernel_size={self.kernel_size}, stride={self.stride}"
