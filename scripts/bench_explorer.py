"""Benchmark the LeNet explorer page in headless Chromium, and optionally take screenshots.

    .venv/bin/python scripts/bench_explorer.py [--loads 5] [--strokes 20] [--screenshots DIR]

Serves the built site (_build/html, as the README does) on a local port and measures

* time to interactive: from navigation start to the explorer having run its first network and drawn
  every layer (``window.lenetExplorer.readyAt``), in a fresh browser context each time (cold cache);
* stroke latency: from the mouseup that ends a stroke to the maps and scores being drawn
  (``render``) and to the next animation frame (``frame``), over ``--strokes`` strokes of digits;

and prints them as one JSON object (last line), with the 1-minute load average before and after.
With --screenshots it also saves the explorer with a drawn digit in light and dark mode, chapter 3's
output-size figure, and the glossary (its Chinese terms in the web font).
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from explorer_strokes import DIGIT_STROKES, draw_digit  # noqa: E402

SITE = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("LENET_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
CANVAS = "#lenet-explorer canvas.lx-canvas"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site: Path) -> str:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}/"


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def summary(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"median_ms": round(statistics.median(values), 1), "max_ms": round(max(values), 1),
            "min_ms": round(min(values), 1), "n": len(values)}


def open_explorer(browser, base: str, theme: str = "light", height: int = 900):
    context = browser.new_context(viewport={"width": 1280, "height": height}, color_scheme=theme)
    context.add_init_script(f"localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}');")
    page = context.new_page()
    page.goto(base + "book/explorer.html", wait_until="load")
    if page.evaluate("window.lenetExplorer.ready") is not True:
        raise SystemExit(f"the explorer did not start: {page.evaluate('window.lenetExplorer.error')}")
    return context, page


SETTLE = """async () => {
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  await window.lenetExplorer.idle();
}"""


def screenshots(browser, base: str, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    for theme in ("light", "dark"):
        # A viewport tall enough for the whole explorer, so that nothing scrolls or overlaps.
        context, page = open_explorer(browser, base, theme, height=2600)
        page.evaluate("window.lenetExplorer.clear()")
        draw_digit(page, CANVAS, 4)
        page.evaluate(SETTLE)
        page.locator('#lenet-explorer .lx-layer[data-layer="C3"] canvas').nth(4).hover(position={"x": 28, "y": 32})
        box = page.locator("#lenet-explorer").bounding_box()
        path = out / f"explorer-drawn-4-{theme}.png"
        page.screenshot(path=str(path), clip={"x": box["x"] - 12, "y": box["y"] - 12,
                                              "width": box["width"] + 24, "height": box["height"] + 24})
        saved.append(str(path))
        page.goto(base + "notebooks/03_convolution.html", wait_until="load")
        figure = page.locator(".lenet-conv-shape")
        figure.scroll_into_view_if_needed()
        path = out / f"conv-shape-{theme}.png"
        figure.screenshot(path=str(path))
        saved.append(str(path))
        context.close()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "book/glossary.html", wait_until="load")
    page.evaluate("document.fonts.ready")
    path = out / "glossary-cjk.png"
    page.screenshot(path=str(path))
    saved.append(str(path))
    context.close()
    return saved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads for the time to interactive")
    parser.add_argument("--strokes", type=int, default=20, help="strokes for the latency")
    parser.add_argument("--screenshots", type=Path, help="folder to save screenshots into")
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (default _build/html)")
    args = parser.parse_args(argv)
    if not (args.site / "book" / "explorer.html").is_file():
        raise SystemExit(f"{args.site} has no explorer page: build the book first (bash scripts/build_book.sh)")
    from playwright.sync_api import sync_playwright

    base = serve(args.site)
    result = {"load_before": loadavg()}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ready = []
        for _ in range(args.loads):
            context, page = open_explorer(browser, base)
            ready.append(page.evaluate("window.lenetExplorer.readyAt"))
            context.close()
        result["time_to_interactive"] = summary(ready)

        context, page = open_explorer(browser, base)
        page.mouse.move(0, 0)
        digits = list(DIGIT_STROKES)
        start = time.perf_counter()
        done = 0
        while done < args.strokes:
            digit = digits[done % len(digits)]
            page.evaluate("window.lenetExplorer.clear()")
            page.evaluate(SETTLE)
            before = page.evaluate("window.lenetExplorer.latencies.length")
            draw_digit(page, CANVAS, digit)
            page.evaluate(SETTLE)
            done += page.evaluate("window.lenetExplorer.latencies.length") - before
        page.wait_for_timeout(100)
        lat = page.evaluate("window.lenetExplorer.latencies")[-args.strokes:]
        result["stroke_to_render"] = summary([x["render"] for x in lat])
        result["stroke_to_next_frame"] = summary([x["frame"] for x in lat if x["frame"] is not None])
        result["strokes_seconds"] = round(time.perf_counter() - start, 1)
        context.close()
        if args.screenshots:
            result["screenshots"] = screenshots(browser, base, args.screenshots)
        browser.close()
    result["load_after"] = loadavg()
    result["chromium"] = CHROMIUM
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
