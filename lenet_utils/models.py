"""The LeNet variants the book trains.

- ``LeNet5Classic``: the second source document (d2l's first LeNet): 28x28 input, sigmoid, max-pool.
- ``LeNet5Paper``: the first source document's paper-style LeNet-5: 32x32 input, scaled tanh,
  trainable subsampling, C5 as a 5x5 convolution, linear 10-way output.
- ``LeNet5Modern``: ReLU and max-pool, 28x28 padded by the first convolution.
- ``LeNet5Faithful``: LeNet-5 as the 1998 paper describes it: sparse C3 (Table I), Euclidean RBF output
  with fixed bitmap centres, the paper's initialisation, trained with ``MAPLoss``.

``MODELS`` holds all four by class name; ``build_model(name)`` builds one.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from .data import MNIST_MEAN, MNIST_STD, PAPER_BACKGROUND
from .layers import EuclideanRBF, ScaledTanh, SparseConv2d, Subsampling

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


class LeNet5Faithful(nn.Module):
    """LeNet-5 as the 1998 paper describes it (LeCun, Bottou, Bengio, Haffner, Proc. IEEE 86(11), Sec. II.B).

    Every layer is an attribute named after the paper:

    * input: [N, 1, 32, 32] (or [N, 1, 28, 28], padded with the background value -0.1 to 32x32), scaled as
      the paper does (background -0.1, ink 1.175): ``prepare(images, normalize="paper", pad=True)``;
    * c1: 6 maps of 28x28, 5x5 kernels;
    * s2: 6 maps of 14x14, trainable subsampling (2x2 average x coefficient + bias);
    * c3: 16 maps of 10x10, 5x5 kernels over the S2 maps of Table I only (60 map-to-map links);
    * s4: 16 maps of 5x5, trainable subsampling;
    * c5: 120 maps of 1x1, 5x5 kernels over all 16 S4 maps;
    * f6: 84 units, fully connected;
    * output: 10 Euclidean RBF units with FIXED +1/-1 centres drawn as 7x12 digit bitmaps.

    Each of c1 ... f6 is followed by the squashing function f(a) = 1.7159 tanh(2a/3). forward(x) returns
    scores [N, 10] = -(RBF penalties), so that ``scores.argmax(1)`` is the RBF unit whose centre is nearest
    the F6 output, as the ``Trainer`` expects; train it with ``MAPLoss``. ``features(x)`` gives every
    layer's output.
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

    # The trained layers in the order of the forward pass; each one's output is squashed.
    LAYERS = ("c1", "s2", "c3", "s4", "c5", "f6")

    @staticmethod
    def padded_input(x: torch.Tensor) -> torch.Tensor:
        """``x`` as the network reads it: [N, 1, 32, 32] unchanged, [N, 1, 28, 28] padded with the background
        value -0.1. Any other shape raises ValueError."""
        if x.dim() == 4 and x.shape[1:] == (1, 32, 32):
            return x
        if x.dim() == 4 and x.shape[1:] == (1, 28, 28):
            return F.pad(x, (2, 2, 2, 2), value=PAPER_BACKGROUND)
        raise ValueError(
            f"LeNet5Faithful expects input of shape [N, 1, 32, 32] (or [N, 1, 28, 28], padded with the "
            f"background {PAPER_BACKGROUND}), scaled with prepare(images, normalize='paper', pad=True); "
            f"got {tuple(x.shape)}"
        )

    def weighted_sum(self, name: str, h: torch.Tensor, params: dict | None = None) -> torch.Tensor:
        """The weighted sums a (pre-activations) of layer ``name`` ("c1" ... "f6") for its input ``h``: the
        layer applied to ``h``, flattened from [N, 120, 1, 1] to [N, 120] after c5. ``params`` ({parameter
        name: tensor}) replaces the layer's own weights, as ``torch.func.functional_call`` does."""
        layer = getattr(self, name)
        a = layer(h) if params is None else functional_call(layer, params, (h,))
        return a.flatten(1) if name == "c5" else a

    def layer_outputs(self, x: torch.Tensor) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """The forward pass up to F6, written once: [(name, a, f(a))] for C1, S2, C3, S4, C5 [N, 120] and
        F6 [N, 84] in order, a being the layer's weighted sums and f the squashing function. ``x`` must be
        the padded input (``padded_input``)."""
        out, h = [], x
        for name in self.LAYERS:
            a = self.weighted_sum(name, h)
            h = self.squash(a)
            out.append((name.upper(), a, h))
        return out

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output after its squashing: input, C1, S2, C3, S4, C5 [N,120], F6 [N,84],
        and the RBF penalties y [N,10]."""
        x = self.padded_input(x)
        out = {"input": x, **{name: h for name, _, h in self.layer_outputs(x)}}
        out["penalties"] = self.output(out["F6"])
        return out

    def f6_output(self, x: torch.Tensor) -> torch.Tensor:
        """The 84 F6 outputs [N, 84] (compare them with the RBF bitmaps)."""
        return self.layer_outputs(self.padded_input(x))[-1][2]

    def rbf_penalties(self, x: torch.Tensor) -> torch.Tensor:
        """y [N, 10]: squared Euclidean distance of the F6 output to each digit's bitmap."""
        return self.output(self.f6_output(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.rbf_penalties(x)


class MAPLoss(nn.Module):
    """The paper's MAP criterion on scores s = -y (y the RBF penalties):

        E = mean_n [ y_correct + log( exp(-j) + sum_i exp(-y_i) ) ]

    i.e. cross-entropy over the 10 scores plus an 11th "rubbish" class with constant score -j.
    The paper does not give j; the default j = 0.1 is this book's choice (the reproduction chapter
    shows what j does).
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


@torch.no_grad()
def efficient_backprop_init_(model: LeNet5Faithful, generator: torch.Generator | None = None) -> LeNet5Faithful:
    """Every weight and bias uniform with standard deviation F^-1/2, i.e. in [-sqrt(3/F), sqrt(3/F)].

    The rule of "Efficient BackProp" (LeCun, Bottou, Orr, Mueller 1998, Sec. 4.6, Eq. 16) for this
    sigmoid and normalised inputs: it keeps the weighted sums near unit standard deviation in every
    layer, where the paper's +-2.4/F makes them shrink layer by layer. As in ``paper_init_``, the
    bound of the subsampling coefficient is for the paper's coefficient on the sum of 4 inputs.
    """
    fans = fan_in(model)
    for name, p in model.named_parameters():
        bound = torch.sqrt(3.0 / torch.as_tensor(fans[name], dtype=p.dtype))
        if name in ("s2.weight", "s4.weight"):
            bound = bound * 4.0  # average = sum / 4
        u = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
        p.copy_((2 * u - 1) * bound.to(p.device))
    return model


# Initialisation rules of LeNet5Faithful by name (``python -m lenet_utils.cli.reproduce --init``).
INIT_RULES = {"paper": paper_init_, "efficient-backprop": efficient_backprop_init_}


MODELS = {cls.__name__: cls for cls in (LeNet5Classic, LeNet5Paper, LeNet5Modern, LeNet5Faithful)}


def build_model(name: str, **kwargs) -> nn.Module:
    """A model by class name, e.g. build_model("LeNet5Modern")."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name](**kwargs)
