"""LeNet-5 as the 1998 paper describes it (LeCun, Bottou, Bengio, Haffner, Proc. IEEE 86(11), Sec. II.B).

Every layer is an attribute named after the paper: ``c1, s2, c3, s4, c5, f6, output``.

* input: 32x32, the paper's scaling (background -0.1, ink 1.175), see ``lenet_utils.data.prepare``;
* C1: 6 maps of 28x28, 5x5 kernels;
* S2: 6 maps of 14x14, trainable subsampling (2x2 average x coefficient + bias) then squashing;
* C3: 16 maps of 10x10, 5x5 kernels over the S2 maps of Table I only (60 map-to-map links);
* S4: 16 maps of 5x5, trainable subsampling then squashing;
* C5: 120 maps of 1x1, 5x5 kernels over all 16 S4 maps;
* F6: 84 units, fully connected;
* output: 10 Euclidean RBF units with FIXED +1/-1 centres drawn as 7x12 digit bitmaps.

The squashing function everywhere is f(a) = 1.7159 tanh(2a/3). The model returns *scores*
``-y`` (the negated RBF penalties) so that ``scores.argmax(1)`` is the nearest RBF centre, which is
what the shared ``Trainer`` expects. ``MAPLoss`` is the paper's maximum a posteriori criterion.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .data import PAPER_BACKGROUND
from .layers import ScaledTanh, Subsampling

__all__ = [
    "C3_TABLE", "RBF_BITMAPS", "rbf_centres", "SparseConv2d", "EuclideanRBF", "LeNet5Faithful",
    "MAPLoss", "paper_init_", "fan_in", "connection_counts", "PAPER_COUNTS", "connection_table",
]

# Table I of the paper: the S2 maps that feed each of the 16 C3 maps.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),                    # 3 contiguous
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),  # 4 contiguous
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),                                            # 4 non-contiguous
    (0, 1, 2, 3, 4, 5),                                                                  # all six
)

# The RBF centres: our own stylised 7-wide x 12-tall bitmaps ('#' = +1, '.' = -1), in the spirit of
# the paper's Fig. 3 (which shows them only as a picture). Row-major: F6 unit j sits at row j // 7,
# column j % 7.
RBF_BITMAPS: dict[int, tuple[str, ...]] = {
    0: (".......", "..###..", ".##.##.", "##...##", "##...##", "##...##",
        "##...##", "##...##", ".##.##.", "..###..", ".......", "......."),
    1: (".......", "...##..", "..###..", ".####..", "...##..", "...##..",
        "...##..", "...##..", "...##..", ".######", ".......", "......."),
    2: (".......", ".#####.", "##...##", ".....##", "....##.", "...##..",
        "..##...", ".##....", "##.....", "#######", ".......", "......."),
    3: (".......", "#######", ".....##", "....##.", "...##..", "..####.",
        ".....##", ".....##", "##...##", ".#####.", ".......", "......."),
    4: (".......", "....##.", "...###.", "..####.", ".##.##.", "##..##.",
        "#######", "....##.", "....##.", "....##.", ".......", "......."),
    5: (".......", "#######", "##.....", "##.....", "######.", ".....##",
        ".....##", ".....##", "##...##", ".#####.", ".......", "......."),
    6: (".......", "...###.", "..##...", ".##....", "##.....", "######.",
        "##...##", "##...##", "##...##", ".#####.", ".......", "......."),
    7: (".......", "#######", ".....##", "....##.", "....##.", "...##..",
        "...##..", "..##...", "..##...", "..##...", ".......", "......."),
    8: (".......", ".#####.", "##...##", "##...##", ".#####.", "##...##",
        "##...##", "##...##", "##...##", ".#####.", ".......", "......."),
    9: (".......", ".#####.", "##...##", "##...##", "##...##", ".######",
        ".....##", "....##.", "...##..", ".###...", ".......", "......."),
}
BITMAP_HEIGHT, BITMAP_WIDTH = 12, 7

# The paper's Table (Sec. II.B): layer -> (trainable parameters, connections).
PAPER_COUNTS: dict[str, tuple[int, int]] = {
    "C1": (156, 122_304), "S2": (12, 5_880), "C3": (1_516, 151_600), "S4": (32, 2_000),
    "C5": (48_120, 48_120), "F6": (10_164, 10_164), "output": (0, 840), "total": (60_000, 340_908),
}


def rbf_centres() -> torch.Tensor:
    """The 10 fixed RBF centres as a float tensor [10, 84] of +1/-1 (row i = digit i's bitmap)."""
    rows = []
    for digit in range(10):
        art = RBF_BITMAPS[digit]
        if len(art) != BITMAP_HEIGHT or any(len(r) != BITMAP_WIDTH for r in art):
            raise ValueError(f"bitmap of {digit} is not {BITMAP_WIDTH} wide x {BITMAP_HEIGHT} tall")
        rows.append([1.0 if ch == "#" else -1.0 for r in art for ch in r])
    return torch.tensor(rows)


def connection_table() -> torch.Tensor:
    """Table I as a bool tensor [16, 6]: entry (k, m) is True when S2 map m feeds C3 map k."""
    table = torch.zeros(16, 6, dtype=torch.bool)
    for k, maps in enumerate(C3_TABLE):
        table[k, list(maps)] = True
    return table


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

    [N, 84] -> [N, 10] penalties (small = close to the centre).
    """

    def __init__(self, centres: torch.Tensor):
        super().__init__()
        self.register_buffer("centres", centres.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.unsqueeze(1) - self.centres.unsqueeze(0)) ** 2).sum(-1)


class LeNet5Faithful(nn.Module):
    """LeNet-5 of the 1998 paper. Input [N, 1, 32, 32] (or [N, 1, 28, 28], padded with the
    background value -0.1 to 32x32), scaled as the paper does (background -0.1, ink 1.175).

    forward(x) -> scores [N, 10] = -(RBF penalties); the predicted digit is ``scores.argmax(1)``,
    the RBF unit whose centre is nearest the F6 output. ``features(x)`` gives every layer's output.
    """

    def __init__(self, init: bool = True):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)                # [N, 1, 32, 32] -> [N, 6, 28, 28]
        self.s2 = Subsampling(6)                    # -> [N, 6, 14, 14]
        self.c3 = SparseConv2d(C3_TABLE, 6, 5)      # -> [N, 16, 10, 10]
        self.s4 = Subsampling(16)                   # -> [N, 16, 5, 5]
        self.c5 = nn.Conv2d(16, 120, 5)             # -> [N, 120, 1, 1]
        self.f6 = nn.Linear(120, 84)                # -> [N, 84]
        self.output = EuclideanRBF(rbf_centres())   # -> [N, 10] penalties
        self.squash = ScaledTanh()
        if init:
            paper_init_(self)

    @staticmethod
    def _check_input(x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and x.shape[1:] == (1, 32, 32):
            return x
        if x.dim() == 4 and x.shape[1:] == (1, 28, 28):
            return F.pad(x, (2, 2, 2, 2), value=PAPER_BACKGROUND)
        raise ValueError(
            f"LeNet5Faithful expects input of shape [N, 1, 32, 32] (or [N, 1, 28, 28], padded with the "
            f"background {PAPER_BACKGROUND}), scaled with prepare(images, normalize='paper', pad=True); "
            f"got {tuple(x.shape)}"
        )

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output after its squashing: input, C1, S2, C3, S4, C5 [N,120], F6 [N,84],
        and the RBF penalties y [N,10]."""
        x = self._check_input(x)
        out = {"input": x}
        out["C1"] = h = self.squash(self.c1(x))
        out["S2"] = h = self.squash(self.s2(h))
        out["C3"] = h = self.squash(self.c3(h))
        out["S4"] = h = self.squash(self.s4(h))
        out["C5"] = h = self.squash(self.c5(h)).flatten(1)
        out["F6"] = h = self.squash(self.f6(h))
        out["penalties"] = self.output(h)
        return out

    def f6_output(self, x: torch.Tensor) -> torch.Tensor:
        """The 84 F6 outputs [N, 84] (compare them with the RBF bitmaps)."""
        x = self._check_input(x)
        h = self.squash(self.s2(self.squash(self.c1(x))))
        h = self.squash(self.s4(self.squash(self.c3(h))))
        return self.squash(self.f6(self.squash(self.c5(h)).flatten(1)))

    def rbf_penalties(self, x: torch.Tensor) -> torch.Tensor:
        """y [N, 10]: squared Euclidean distance of the F6 output to each digit's bitmap."""
        return self.output(self.f6_output(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.rbf_penalties(x)


class MAPLoss(nn.Module):
    """The paper's MAP criterion on scores s = -y (y the RBF penalties):

        E = mean_n [ y_correct + log( exp(-j) + sum_i exp(-y_i) ) ]

    i.e. cross-entropy over the 10 scores plus an 11th "rubbish" class with constant score -j.
    The paper does not give j; the default j = 0.1 is the value the prototype in
    reference/measured-here.md used (see the reproduction chapter for what j does).
    """

    def __init__(self, j: float = 0.1, reduction: str = "mean"):
        super().__init__()
        if j <= 0:
            raise ValueError(f"j must be positive, got {j}")
        self.j, self.reduction = float(j), reduction

    def forward(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        rubbish = scores.new_full((scores.shape[0], 1), -self.j)
        return F.cross_entropy(torch.cat([scores, rubbish], 1), target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"j={self.j}"


def fan_in(model: LeNet5Faithful) -> dict[str, float | torch.Tensor]:
    """F, the number of inputs of one unit, per trainable tensor (for C3: per table link).

    Subsampling units sum 4 inputs that share one coefficient, so F = 4 there: our layer averages,
    so its coefficient is 4 x the paper's coefficient on the sum.
    """
    k2 = model.c3.kernel_size ** 2
    return {
        "c1.weight": 25.0, "c1.bias": 25.0,
        "s2.weight": 4.0, "s2.bias": 4.0,
        "c3.weight": (model.c3.link_fan_in.float() * k2).view(-1, 1, 1),
        "c3.bias": torch.tensor([len(m) * k2 for m in model.c3.table], dtype=torch.float32),
        "s4.weight": 4.0, "s4.bias": 4.0,
        "c5.weight": 16.0 * 25, "c5.bias": 16.0 * 25,
        "f6.weight": 120.0, "f6.bias": 120.0,
    }


@torch.no_grad()
def paper_init_(model: LeNet5Faithful, generator: torch.Generator | None = None) -> LeNet5Faithful:
    """Every weight and bias uniform in [-2.4/F, 2.4/F], F the fan-in of the unit it feeds.

    For the (averaging) subsampling coefficient the bound applies to the paper's coefficient on the
    *sum* of the 4 inputs, so our coefficient on the average is drawn in [-2.4, 2.4] (= 4 x 2.4/4).
    """
    fans = fan_in(model)
    for name, p in model.named_parameters():
        bound = 2.4 / fans[name]
        if name in ("s2.weight", "s4.weight"):
            bound = bound * 4.0  # average = sum / 4
        u = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
        p.copy_((2 * u - 1) * bound)
    return model


def _spatial(t: torch.Tensor) -> int:
    return int(t.shape[-1] * t.shape[-2]) if t.dim() == 4 else 1


@torch.no_grad()
def connection_counts(model: LeNet5Faithful) -> list[dict]:
    """Per layer: trainable parameters and connections, computed from the model itself.

    A connection is one multiply-add (weight or bias) feeding one unit: for a convolution,
    units x (live kernel weights per unit + 1 bias); for subsampling, units x (k*k inputs + 1 bias);
    for F6, outputs x (inputs + 1); for the RBF layer, 10 x 84. Returns rows {layer, params,
    connections}, the last being the total.
    """
    dev = next(model.parameters()).device
    feats = model.features(torch.zeros(1, 1, 32, 32, device=dev))

    def n_params(module) -> int:
        return sum(p.numel() for p in module.parameters() if p.requires_grad)

    rows = []
    # C1: each output unit sees in_channels * k * k weights + a bias.
    c1 = model.c1
    c1_per_unit = c1.in_channels * c1.kernel_size[0] * c1.kernel_size[1] + 1
    rows.append(("C1", n_params(c1), c1.out_channels * _spatial(feats["C1"]) * c1_per_unit))
    k2 = model.s2.kernel_size ** 2
    rows.append(("S2", n_params(model.s2), model.s2.channels * _spatial(feats["S2"]) * (k2 + 1)))
    # C3: the live weights are exactly the entries of c3.weight; each is used at every position.
    c3 = model.c3
    rows.append(("C3", n_params(c3), _spatial(feats["C3"]) * (c3.weight.numel() + c3.out_channels)))
    k2 = model.s4.kernel_size ** 2
    rows.append(("S4", n_params(model.s4), model.s4.channels * _spatial(feats["S4"]) * (k2 + 1)))
    c5 = model.c5
    rows.append(("C5", n_params(c5), c5.out_channels * 1 * (c5.in_channels * c5.kernel_size[0] * c5.kernel_size[1] + 1)))
    f6 = model.f6
    rows.append(("F6", n_params(f6), f6.out_features * (f6.in_features + 1)))
    rows.append(("output", n_params(model.output), model.output.centres.numel()))
    out = [{"layer": n, "params": p, "connections": c} for n, p, c in rows]
    out.append({"layer": "total", "params": sum(r["params"] for r in out),
                "connections": sum(r["connections"] for r in out)})
    # Sanity: every trainable tensor of the model belongs to one of the rows above.
    assert out[-1]["params"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    return out
