"""Clean hand-drawn digits 0-9 as mouse strokes, for the LeNet explorer's browser test and benchmark.

Each digit is a list of strokes; a stroke is a polyline of (x, y) points in 0..1 across the drawing
canvas (x to the right, y down), sampled every few pixels, so that moving the mouse from point to
point draws it. The shapes are plain, as a person writes them with a mouse: a 4 with a closed top,
a 7 without a bar, a 1 without a flag.
"""
from __future__ import annotations

import math


def arc(cx, cy, rx, ry, start_deg, end_deg, n=None):
    """Points on an ellipse from start_deg to end_deg (0 = right, 90 = down, as on a screen)."""
    n = n or max(8, int(abs(end_deg - start_deg) / 8))
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in (start_deg + (end_deg - start_deg) * i / n for i in range(n + 1))]


def line(x0, y0, x1, y1, n=None):
    n = n or max(2, int(math.hypot(x1 - x0, y1 - y0) / 0.02))
    return [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(n + 1)]


DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [arc(0.5, 0.5, 0.2, 0.3, -90, 275)],
    1: [line(0.53, 0.2, 0.47, 0.8)],
    2: [arc(0.5, 0.33, 0.17, 0.14, 190, 360) + arc(0.5, 0.33, 0.17, 0.14, 0, 50)[1:]
        + line(0.61, 0.44, 0.31, 0.79)[1:] + line(0.31, 0.79, 0.72, 0.79)[1:]],
    3: [arc(0.47, 0.34, 0.17, 0.14, 200, 450) + arc(0.47, 0.64, 0.2, 0.16, -90, 160)[1:]],
    4: [line(0.58, 0.2, 0.3, 0.6) + line(0.3, 0.6, 0.74, 0.6)[1:], line(0.6, 0.36, 0.6, 0.82)],
    5: [line(0.68, 0.2, 0.38, 0.2) + line(0.38, 0.2, 0.35, 0.46)[1:]
        + arc(0.49, 0.62, 0.19, 0.17, -125, 150)[1:]],
    6: [arc(0.78, 0.55, 0.36, 0.36, 230, 180, n=8) + arc(0.5, 0.64, 0.16, 0.16, 180, 540)[1:]],
    7: [line(0.29, 0.21, 0.71, 0.21) + line(0.71, 0.21, 0.45, 0.8)[1:]],
    8: [arc(0.5, 0.34, 0.14, 0.13, 0, 360), arc(0.5, 0.65, 0.17, 0.16, 0, 360)],
    9: [arc(0.49, 0.36, 0.15, 0.14, 0, 360), line(0.64, 0.36, 0.6, 0.8)],
}


def canvas_points(stroke, size: float) -> list[tuple[float, float]]:
    """A stroke in canvas pixels for a canvas of ``size`` pixels."""
    return [(x * size, y * size) for x, y in stroke]


def draw_digit(page, canvas_selector: str, digit: int) -> None:
    """Draw ``digit`` on the canvas with real mouse events (playwright's page.mouse)."""
    box = page.locator(canvas_selector).bounding_box()
    for stroke in DIGIT_STROKES[digit]:
        pts = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*pts[0])
        page.mouse.down()
        for p in pts[1:]:
            page.mouse.move(*p)
        page.mouse.up()
