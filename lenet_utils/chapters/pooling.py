"""Chapter 4, pooling: a LeNet whose pooling layers can be swapped, shifted digits, a measurement of how
much the S2/S4 outputs and the predictions change when the input moves by a few pixels, and its figures
and widget."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from ..data import prepare
from ..layers import Subsampling
from ..shapes import count_parameters
from ..train import seeded, train_model
from ..hooks import capture_activations, record_calls
from ..viz import image_grid
from ..widgets import interactive_figure

POOLING_VARIANTS = ("max", "avg", "subsampling", "stride", "none")
DIRECTIONS = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}


def _pool(kind: str, channels: int) -> nn.Module:
    if kind == "max":
        return nn.MaxPool2d(2)
    if kind == "avg":
        return nn.AvgPool2d(2)
    if kind == "subsampling":
        return Subsampling(channels)
    if kind == "stride":  # a learned 2x2 convolution with stride 2 in place of the pooling
        return nn.Conv2d(channels, channels, 2, stride=2)
    return nn.Identity()


class PoolingLeNet(nn.Module):
    """LeNet5Modern with a choice of pooling in S2 and S4 (ReLU activations throughout).

    pool: "max" (nn.MaxPool2d(2)), "avg" (nn.AvgPool2d(2)), "subsampling" (the paper's a * avg + b),
    "stride" (a 2x2 convolution with stride 2) or "none" (no downsampling; the first fully connected
    layer then takes 16 x 24 x 24 inputs instead of 16 x 5 x 5).

    [N, 1, 28, 28] -> c1 [N, 6, 28, 28] -> s2 [N, 6, 14, 14] -> c3 [N, 16, 10, 10] -> s4 [N, 16, 5, 5]
    -> classifier [N, 10] scores (with pool="none": s2 [N, 6, 28, 28], c3 and s4 [N, 16, 24, 24]).
    """

    def __init__(self, pool: str = "max", num_classes: int = 10):
        super().__init__()
        if pool not in POOLING_VARIANTS:
            raise ValueError(f"pool must be one of {POOLING_VARIANTS}, got {pool!r}")
        self.pool = pool
        side = 24 if pool == "none" else 5
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.s2 = _pool(pool, 6)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = _pool(pool, 16)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * side * side, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"PoolingLeNet expects a batch of grey images [N, 1, 28, 28], got {list(x.shape)}")
        x = self.s2(F.relu(self.c1(x)))
        x = self.s4(F.relu(self.c3(x)))
        return self.classifier(x)

    def extra_repr(self) -> str:
        return f"pool={self.pool!r}"


def shift_images(images: torch.Tensor, dx: int = 0, dy: int = 0, fill: float = 0) -> torch.Tensor:
    """Move images [..., H, W] right by ``dx`` and down by ``dy`` pixels (negative: left/up). What moves
    out of the frame is lost; what comes in is ``fill`` (use the background value, 0 for raw MNIST).
    Same shape and dtype out."""
    height, width = images.shape[-2:]
    if not (isinstance(dx, int) and isinstance(dy, int)):
        raise ValueError(f"dx and dy must be integers (pixels), got dx={dx!r}, dy={dy!r}")
    if abs(dx) >= width or abs(dy) >= height:
        raise ValueError(f"a shift of (dx={dx}, dy={dy}) moves a {height}x{width} image out of the frame; "
                         f"use |dx| < {width} and |dy| < {height}")
    padded = F.pad(images, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)), value=fill)
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[..., top:top + height, left:left + width]


def relative_change(before: torch.Tensor, after: torch.Tensor) -> float:
    """Mean over the batch of ||after - before|| / ||before|| (each sample's tensor flattened)."""
    if before.shape != after.shape:
        raise ValueError(f"before and after differ in shape: {list(before.shape)} vs {list(after.shape)}")
    before, after = before.flatten(1).float(), after.flatten(1).float()
    return ((after - before).norm(dim=1) / before.norm(dim=1).clamp_min(1e-12)).mean().item()


@torch.no_grad()
def shift_sensitivity(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, shifts=(0, 1, 2, 3, 4),
                      layers=("s2", "s4"), normalize: str = "standard") -> list[dict]:
    """How much ``model`` changes when raw digits ``images`` (uint8 [N, 28, 28]) move by each shift,
    averaged over moving right, left, down and up.

    One row per shift: {"shift", <layer>: relative change of that layer's output, "changed": fraction of
    predictions that differ from those on the unshifted digits, "acc": accuracy on the shifted digits}.
    """
    if images.dtype != torch.uint8 or images.dim() != 3:
        raise ValueError(f"images must be raw MNIST digits, uint8 [N, 28, 28] (load_mnist), got "
                         f"{images.dtype} {list(images.shape)}")
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
    layers = list(layers)

    def run(x):  # one forward pass: the layers' outputs and the predictions
        scores, calls = record_calls(model, x, layers)
        return {call.name: call.output for call in calls}, scores.argmax(1)

    base_acts, base_pred = run(prepare(images, normalize))
    rows = []
    for shift in shifts:
        row = {"shift": shift, **{name: 0.0 for name in layers}, "changed": 0.0, "acc": 0.0}
        for ux, uy in DIRECTIONS.values():
            acts, pred = run(prepare(shift_images(images, ux * shift, uy * shift), normalize))
            for name in layers:
                row[name] += relative_change(base_acts[name], acts[name]) / len(DIRECTIONS)
            row["changed"] += (pred != base_pred).float().mean().item() / len(DIRECTIONS)
            row["acc"] += (pred == labels).float().mean().item() / len(DIRECTIONS)
        rows.append(row)
    return rows


def train_pooling_variants(variants=POOLING_VARIANTS, epochs: int = 2, subset: int | None = 10_000,
                           test_subset: int | None = None, lr: float = 2e-3, batch_size: int = 128, seed: int = 0,
                           progress: bool = True):
    """Train one PoolingLeNet per pooling kind with the same data, seed and recipe (Adam).
    Returns {variant: fitted Trainer}."""
    bad = [v for v in variants if v not in POOLING_VARIANTS]
    if bad:
        raise ValueError(f"unknown pooling variants {bad}; choose from {POOLING_VARIANTS}")
    trainers = {}
    for variant in variants:
        with seeded(seed):
            model = PoolingLeNet(variant)
        trainers[variant] = train_model(model, epochs=epochs, lr=lr, batch_size=batch_size, subset=subset,
                                        test_subset=test_subset, seed=seed, progress=progress)
    return trainers


def variants_table(trainers: dict) -> list[dict]:
    """One row per trained variant: variant, params, test_acc (last epoch), train seconds per epoch,
    samples_per_s."""
    rows = []
    for variant, trainer in trainers.items():
        history = trainer.history
        if not history:
            raise ValueError(f"variant {variant!r} has no history: fit its Trainer first")
        rows.append({"variant": variant, "params": count_parameters(trainer.model),
                     "test_acc": history[-1]["test_acc"],
                     "seconds_per_epoch": sum(r["seconds"] for r in history) / len(history),
                     "samples_per_s": sum(r["samples_per_s"] for r in history) / len(history)})
    return rows


def plot_invariance(results: dict, layer: str = "s4"):
    """Three panels against the shift in pixels, one curve per variant: relative change of ``layer``,
    fraction of changed predictions, and accuracy. ``results`` maps a variant to its
    ``shift_sensitivity`` rows. Returns a Figure with three axes."""
    if not results:
        raise ValueError("results is empty: pass {variant: shift_sensitivity(...) rows}")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    panels = ((layer, f"relative change of {layer}"), ("changed", "predictions changed"), ("acc", "accuracy"))
    for ax, (key, title) in zip(axes, panels):
        for variant, rows in results.items():
            if key not in rows[0]:
                raise ValueError(f"no {key!r} in the rows of {variant!r}; measure it with layers=[..., {key!r}]")
            ax.plot([r["shift"] for r in rows], [100 * r[key] for r in rows], "o-", label=variant)
        ax.set(xlabel="shift (pixels)", ylabel="%", title=title)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    return fig


@torch.no_grad()
def plot_shift_maps(model: nn.Module, image: torch.Tensor, shift: int = 2, layer: str = "s2",
                    direction: str = "right", normalize: str = "standard"):
    """One raw digit (uint8 [28, 28]) and its copy moved by ``shift`` pixels, with the maps ``layer``
    makes of each and their absolute difference. Returns a Figure with four axes."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
    if image.dtype != torch.uint8 or image.dim() != 2:
        raise ValueError(f"image must be one raw MNIST digit, uint8 [28, 28], got {image.dtype} {list(image.shape)}")
    ux, uy = DIRECTIONS[direction]
    pair = torch.stack([image, shift_images(image, ux * shift, uy * shift)])
    maps = capture_activations(model, prepare(pair, normalize), [layer])[layer]
    change = relative_change(maps[:1], maps[1:])
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), gridspec_kw={"width_ratios": [1, 1, 3, 3]})
    for ax, img, title in zip(axes[:2], pair, ("digit", f"moved {shift} px {direction}")):
        ax.imshow(img.numpy(), cmap="gray_r")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    lo, hi = maps.min().item(), maps.max().item()
    scaled = (maps - lo) / max(hi - lo, 1e-12)  # one scale for both, so the maps can be compared
    image_grid(scaled[1].unsqueeze(1), nrow=min(8, maps.shape[1]), normalize=False,
               title=f"{layer} of the moved digit", ax=axes[2])
    image_grid((maps[1] - maps[0]).abs().unsqueeze(1) / max(hi - lo, 1e-12), nrow=min(8, maps.shape[1]),
               normalize=False, title="|difference| (same scale)", ax=axes[3])
    pool = getattr(model, "pool", type(model).__name__)
    fig.suptitle(f"{pool}: {layer} changes by {100 * change:.1f}% (relative) when the digit moves {shift} px")
    fig.tight_layout()
    return fig


def shift_maps_for(models: dict, images, variant: str, index: int = 0, shift: int = 2, layer: str = "s2",
                   direction: str = "right"):
    """``plot_shift_maps`` for ``models[variant]`` and raw digit ``images[index]`` (a pure Figure function)."""
    if variant not in models:
        raise ValueError(f"no model for variant {variant!r}; trained variants are {list(models)}")
    if not 0 <= index < len(images):
        raise ValueError(f"index must be in 0..{len(images) - 1}, got {index}")
    return plot_shift_maps(models[variant], images[index], shift=shift, layer=layer, direction=direction)


def shift_maps_widget(models: dict, images, layers=("s2", "s4"), max_shift: int = 4):
    """Menus for the variant, layer and direction and sliders for the digit and the shift over
    ``shift_maps_for``. ``models`` maps a variant name to a trained PoolingLeNet; ``images`` are raw
    uint8 digits [N, 28, 28]."""
    import ipywidgets as widgets

    if not models:
        raise ValueError("models is empty: pass {variant: trained model}")
    if len(images) == 0:
        raise ValueError("images is empty: pass raw test digits uint8 [N, 28, 28]")
    return interactive_figure(
        shift_maps_for,
        models=widgets.fixed(models), images=widgets.fixed(images),
        variant=widgets.Dropdown(options=list(models), description="pooling"),
        index=widgets.IntSlider(0, 0, len(images) - 1, description="digit", continuous_update=False),
        shift=widgets.IntSlider(2, 0, max_shift, description="shift (px)", continuous_update=False),
        layer=widgets.Dropdown(options=list(layers), description="layer"),
        direction=widgets.Dropdown(options=list(DIRECTIONS), description="direction"),
    )


__all__ = ["POOLING_VARIANTS", "PoolingLeNet", "shift_images", "relative_change", "shift_sensitivity",
           "train_pooling_variants", "variants_table", "plot_invariance", "plot_shift_maps", "shift_maps_for",
           "shift_maps_widget"]
