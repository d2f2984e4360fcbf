"""The paper's training distortions (Sec. III.C): random planar affine transforms made of
horizontal and vertical translation, scaling, squeezing (compress one axis, stretch the other)
and horizontal shearing. No rotation: the paper lists none.

``torchvision.transforms.v2.RandomAffine`` draws ONE transform per call, so applied to a batch
tensor it distorts all images of the batch the same way. ``PaperDistortion`` draws one transform
*per image* and applies the whole batch at once with ``affine_grid`` / ``grid_sample``; it fills
the uncovered border with the background value (-0.1 with the paper's scaling), never with 0.
``torchvision_distortion`` gives the v2.RandomAffine equivalent (per call) for comparison.
"""
from __future__ import annotations


import torch
from torch.nn import functional as F

from .data import PAPER_BACKGROUND

__all__ = ["PaperDistortion", "torchvision_distortion", "affine_matrices", "apply_affine"]


def affine_matrices(n: int, shift: float, scale: float, squeeze: float, shear: float, size: int,
                    generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """n random 2x3 matrices in ``affine_grid``'s normalised coordinates (output -> input).

    shift: max translation in pixels along each axis; scale: max relative isotropic change
    (0.1 = 0.9 to 1.1); squeeze: max relative anisotropic change (x by (1+q), y by 1/(1+q));
    shear: max horizontal shear factor (x += shear * y).
    """
    def u(lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=generator, device=device)

    s = u(1 - scale, 1 + scale)
    q = u(-squeeze, squeeze)
    sx, sy = s * (1 + q), s / (1 + q)
    sh = u(-shear, shear)
    tx, ty = u(-shift, shift) * 2 / size, u(-shift, shift) * 2 / size
    # forward map A = [[sx, sh*sy], [0, sy]] (scale/squeeze, then horizontal shear); grid needs A^-1.
    a, b, d = sx, sh * sy, sy
    inv = torch.stack([torch.stack([1 / a, -b / (a * d)], -1), torch.stack([torch.zeros_like(d), 1 / d], -1)], -2)
    t = torch.stack([tx, ty], -1).unsqueeze(-1)
    return torch.cat([inv, -inv @ t], -1)


def apply_affine(x: torch.Tensor, theta: torch.Tensor, fill: float = PAPER_BACKGROUND) -> torch.Tensor:
    """Warp each image of x [N, C, H, W] with its own 2x3 matrix theta [N, 2, 3] (``affine_grid``'s
    normalised coordinates, output -> input), bilinear, the uncovered border filled with ``fill``."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out + fill


class PaperDistortion:
    """Callable for ``TensorLoader(..., transform=PaperDistortion())``: [N, 1, H, W] -> same shape,
    each image with its own random affine distortion, border filled with ``fill``.

    Defaults: shift +-2 px, scale +-10 %, squeeze +-10 %, horizontal shear +-0.2.
    """

    def __init__(self, shift: float = 2.0, scale: float = 0.10, squeeze: float = 0.10, shear: float = 0.2,
                 fill: float = PAPER_BACKGROUND, seed: int | None = 0):
        self.shift, self.scale, self.squeeze, self.shear, self.fill = shift, scale, squeeze, shear, fill
        self.seed = seed
        self._generators: dict = {}

    def _generator(self, device):
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"PaperDistortion expects a batch [N, C, H, W], got {tuple(x.shape)}")
        theta = affine_matrices(len(x), self.shift, self.scale, self.squeeze, self.shear, x.shape[-1],
                                self._generator(x.device), x.device)
        return apply_affine(x, theta, self.fill)

    def __repr__(self) -> str:
        return (f"PaperDistortion(shift={self.shift}, scale={self.scale}, squeeze={self.squeeze}, "
                f"shear={self.shear}, fill={self.fill})")


def torchvision_distortion(shift: float = 2.0, scale: float = 0.10, shear_degrees: float = 11.3,
                           fill: float = PAPER_BACKGROUND, size: int = 32):
    """``v2.RandomAffine`` with the same ranges (no squeeze: v2 scales isotropically). One random
    transform per call: on a batch tensor every image gets the same distortion."""
    from torchvision.transforms import v2

    return v2.RandomAffine(degrees=0, translate=(shift / size, shift / size), scale=(1 - scale, 1 + scale),
                           shear=(-shear_degrees, shear_degrees), fill=fill)
