"""The layers LeNet-5 has and modern libraries lack.

- ``ScaledTanh``: the paper's squashing function f(a) = 1.7159 tanh(2a/3).
- ``Subsampling``: trainable subsampling (a 2x2 average times a coefficient, plus a bias, per map).
- ``SparseConv2d``: a convolution whose output maps see only some input maps (C3's Table I).
- ``EuclideanRBF``: the output layer, the squared distance of the F6 vector to fixed centres.
"""
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


class SparseConv2d(nn.Module):
    """A convolution whose output map k sees only the input maps listed in ``table[k]``.

    Only the weights of the listed (output, input) pairs exist: ``weight`` is [links, k, k]
    (60 x 5 x 5 for C3), ``bias`` is [out_channels]. The forward pass scatters them into a dense
    [out, in, k, k] kernel with a fixed 0/1 matrix, so the absent weights are exact zeros that
    no optimizer can ever change. [N, in, H, W] -> [N, out, H - k + 1, W - k + 1].
    """

    def __init__(self, table, in_channels: int, kernel_size: int = 5):
        super().__init__()
        self.table = tuple(tuple(int(m) for m in maps) for maps in table)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(self.table), kernel_size
        links = [(k, m) for k, maps in enumerate(self.table) for m in maps]
        self.weight = nn.Parameter(torch.zeros(len(links), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(self.out_channels))
        scatter = torch.zeros(self.out_channels * in_channels, len(links))
        for i, (k, m) in enumerate(links):
            scatter[k * in_channels + m, i] = 1.0
        self.register_buffer("scatter", scatter, persistent=False)
        self.register_buffer("link_fan_in", torch.tensor([len(self.table[k]) for k, _ in links]), persistent=False)

    def dense_weight(self) -> torch.Tensor:
        """The full [out, in, k, k] kernel, zero outside the table."""
        k = self.kernel_size
        return (self.scatter @ self.weight.reshape(self.weight.shape[0], k * k)).reshape(
            self.out_channels, self.in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, links={self.weight.shape[0]}"


class EuclideanRBF(nn.Module):
    """y_i = sum_j (x_j - w_ij)^2 with fixed centres ``w`` (a buffer, not a parameter).

    [N, D] -> [N, C] penalties (small = close to the centre) for centres [C, D].
    """

    def __init__(self, centres: torch.Tensor):
        super().__init__()
        self.register_buffer("centres", centres.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.unsqueeze(1) - self.centres.unsqueeze(0)) ** 2).sum(-1)
