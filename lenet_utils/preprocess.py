"""A hand-drawn digit made to look like an MNIST digit.

LeCun, Cortes and Burges describe how the MNIST digits were made from NIST's scans: each digit was
size-normalised to fit a 20x20 box while keeping its aspect ratio (anti-aliasing gives the grey
levels), then placed in a 28x28 field so that its centre of mass sits at the centre. On the MNIST test
set the centre of mass is at row 14.0 and column 14.0 on average, with the spread (0.29 pixel) of a
whole-pixel shift, so the digit is moved by whole pixels to put it at (14, 14).

``mnist_style`` does exactly that to an ink image (a drawing canvas read as floats, 1 = ink). The book's
in-browser LeNet explorer runs the same steps in JavaScript (``book/explorer/explorer.js``); this
function is the reference the browser test compares it with, so every step is spelled out and uses
``floor(x + 0.5)`` for rounding, as JavaScript's ``Math.round`` does.
"""
from __future__ import annotations

import math

import numpy as np

FIELD = 28          # side of an MNIST image
BOX = 20            # the digit's longer side after size normalisation
CENTRE = 14.0       # where the centre of mass goes (row and column index)


def _round(x: float) -> int:
    """Round half up, like JavaScript's Math.round (Python's round() rounds half to even)."""
    return int(math.floor(x + 0.5))


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] matrix that resamples a line of n_in pixels to n_out by area averaging.

    Output pixel i covers the input interval [i * n_in / n_out, (i + 1) * n_in / n_out); its value is
    the mean of the input over that interval, each input pixel weighted by the length it overlaps.
    This is the anti-aliasing box filter (OpenCV calls it INTER_AREA).
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"sizes must be positive, got n_in={n_in}, n_out={n_out}")
    step = n_in / n_out
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = i * step, (i + 1) * step
        for j in range(int(math.floor(lo)), min(n_in, int(math.ceil(hi)))):
            w[i, j] = (min(hi, j + 1) - max(lo, j)) / step
    return w


def ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the pixels with ink > 0; bottom and right exclusive."""
    rows, cols = np.nonzero(ink > 0)
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def mnist_style(ink: np.ndarray) -> np.ndarray:
    """Ink image [H, W] (floats in 0..1, 1 = ink, e.g. a canvas's alpha / 255) -> float32 [28, 28] in 0..1.

    1. crop to the bounding box of the ink;
    2. scale it by area averaging so that its longer side is 20 pixels (the shorter one keeps the
       aspect ratio, rounded to whole pixels, at least 1);
    3. paste it into a blank 28x28 field, shifted by whole pixels so that its centre of mass lands
       as near as possible to (14, 14), but never past the field's edge.
    """
    ink = np.asarray(ink, dtype=np.float64)
    if ink.ndim != 2:
        raise ValueError(f"mnist_style expects one grey image [H, W], got shape {ink.shape}")
    if not np.isfinite(ink).all() or ink.min() < 0 or ink.max() > 1:
        raise ValueError("mnist_style expects ink values in 0..1 (0 = background, 1 = ink)")
    if not (ink > 0).any():
        raise ValueError("the image has no ink: draw a digit first")
    top, left, bottom, right = ink_box(ink)
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    scale = BOX / max(h, w)
    out_h, out_w = max(1, _round(h * scale)), max(1, _round(w * scale))
    small = area_weights(h, out_h) @ crop @ area_weights(w, out_w).T
    mass = small.sum()
    cy = (small.sum(1) * np.arange(out_h)).sum() / mass
    cx = (small.sum(0) * np.arange(out_w)).sum() / mass
    y0 = min(max(_round(CENTRE - cy), 0), FIELD - out_h)
    x0 = min(max(_round(CENTRE - cx), 0), FIELD - out_w)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[y0:y0 + out_h, x0:x0 + out_w] = small
    return field


__all__ = ["FIELD", "BOX", "CENTRE", "area_weights", "ink_box", "mnist_style"]
