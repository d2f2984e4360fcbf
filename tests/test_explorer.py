"""The LeNet explorer (book/explorer.md) and chapter 3's output-size figure, in headless Chromium.

Uses the site test's build, server and browser (the session fixtures site, server, browser_context of
tests/conftest.py). Checks:

* parity: for each of the bundled test digits and each exported model, the page's 32x32 input, every
  layer's output and the output scores equal PyTorch's within 1e-4 x max(1, |value|);
* drawing: digits 0-9 drawn on the canvas with real mouse events are preprocessed as
  ``lenet_utils.preprocess.mnist_style`` does it (run on the canvas's own pixels), the page's prediction
  is PyTorch's on the page's 28x28 image, and at least 9 of the 10 are recognised by each model;
* pointing at a unit of a map outlines its receptive field on the input;
* opened from file://, the page says how to serve it;
* what the explorer loads is served by the site, on its own page only, under 25 MB;
* the output-size figure of chapter 3 gives ``shapes.conv_output_size`` on every setting of the grid
  n 1..32, k 1..7, padding 0..3, stride 1..4, and a message for the impossible ones.

The parity figures and the sizes are written to ``_build/explorer-test-report.json``.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import torch

from explorer_strokes import DIGIT_STROKES, draw_digit
from lenet_utils import export
from lenet_utils.preprocess import mnist_style
from lenet_utils.shapes import conv_output_size
from test_site import is_local

EXPLORER = "book/explorer.html"
CHAPTER3 = "notebooks/03_convolution.html"
CANVAS = "#lenet-explorer canvas.lx-canvas"
MAX_BYTES = 25 * 2**20
REPORT: dict = {}


@pytest.fixture(scope="module", autouse=True)
def report(site):
    yield REPORT
    if REPORT:
        path = site.parent / "explorer-test-report.json"
        path.write_text(json.dumps(REPORT, indent=1) + "\n")


@pytest.fixture(scope="module")
def explorer(site, server, browser_context):
    page = browser_context.new_page()
    log = {"requests": [], "outside": [], "errors": []}

    def route(r):
        url = r.request.url
        if is_local(url):
            log["requests"].append(url)
            r.continue_()
        else:
            log["outside"].append(url)
            r.abort("blockedbyclient")

    page.route("**/*", route)
    page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["errors"].append(f"uncaught: {e}"))
    page.goto(server + EXPLORER, wait_until="load")
    ready = page.evaluate("window.lenetExplorer.ready")
    assert ready is True, f"the explorer did not start: {page.evaluate('window.lenetExplorer.error')}"
    page.log = log
    yield page
    assert not log["errors"], f"console errors on the explorer page: {log['errors']}"
    page.close()


@pytest.fixture(scope="module")
def models(explorer):
    meta = explorer.evaluate("window.lenetExplorer.meta")
    return {m["key"]: (m, export.load_explorer_model(m["key"])) for m in meta["models"]}


# ---------------------------------------------------------------------------------------- parity

RUN_DIGITS = """async (key) => {
  const api = window.lenetExplorer;
  const enc = (a) => {
    const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    let s = "";
    for (let j = 0; j < u.length; j += 8192) { s += String.fromCharCode.apply(null, u.subarray(j, j + 8192)); }
    return btoa(s);
  };
  const out = [];
  for (let i = 0; i < api.digits.labels.length; i++) {
    const v = Float32Array.from(api.digits.images.subarray(i * 784, (i + 1) * 784), (b) => b / 255);
    const r = await api.infer(key, v);
    const row = {input: enc(r.input)};
    for (const [name, a] of Object.entries(r.outputs)) { row[name] = enc(a); }
    out.push(row);
  }
  return {rows: out, images: enc(api.digits.images), labels: api.digits.labels};
}"""


def _floats(b64: str, dtype=np.float32) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype)


def test_parity_with_pytorch(explorer, models):
    """Every exported model, every bundled digit: the page's numbers are PyTorch's."""
    figures = {}
    for key, (meta, model) in models.items():
        got = explorer.evaluate(RUN_DIGITS, key)
        images = _floats(got["images"], np.uint8).reshape(-1, 28, 28)
        assert len(got["rows"]) == len(images) == 100
        worst: dict[str, dict] = {}
        agree = 0
        for img, row in zip(images, got["rows"]):
            x_page = _floats(row["input"]).reshape(1, 1, 32, 32)
            x_ref = export.model_input(img / 255.0, meta["input"]["normalize"]).numpy()
            assert np.abs(x_page - x_ref).max() <= 1e-6, "the page scales or pads the input differently"
            with torch.no_grad():
                ref = {k: v.numpy() for k, v in export.layer_outputs(model, torch.from_numpy(x_page.copy())).items()}
            for name, want in ref.items():
                page = _floats(row[name]).reshape(want.shape)
                err = np.abs(page - want)
                rel = err / np.maximum(1.0, np.abs(want))
                w = worst.setdefault(name, {"max_abs_error": 0.0, "max_scaled_error": 0.0})
                w["max_abs_error"] = max(w["max_abs_error"], float(err.max()))
                w["max_scaled_error"] = max(w["max_scaled_error"], float(rel.max()))
                assert (rel <= 1e-4).all(), f"{key} {name}: page and PyTorch differ by {rel.max():.2e} x max(1, |v|)"
            scores = ref[meta["prediction"]]
            pred_ref = int(scores.argmin() if meta["prediction"] == "distances" else scores.argmax())
            page_scores = _floats(row[meta["prediction"]])
            agree += pred_ref == int(page_scores.argmin() if meta["prediction"] == "distances" else page_scores.argmax())
        assert agree == len(images)
        figures[key] = worst
    REPORT["parity"] = figures
    print("\nexplorer parity (max |page - PyTorch| / max(1, |v|) over 100 digits):")
    for key, layers in figures.items():
        print(f"  {key}: " + ", ".join(f"{k} {v['max_scaled_error']:.1e}" for k, v in layers.items()))


# --------------------------------------------------------------------------------------- drawing

SETTLE = """async () => {
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  await window.lenetExplorer.idle();
}"""


def test_drawn_digits(explorer, models):
    page = explorer
    page.evaluate("window.lenetExplorer.setModel(window.lenetExplorer.meta.models[0].key)")
    size = page.evaluate("window.lenetExplorer.canvasSize")
    rows, correct = [], {key: 0 for key in models}
    for digit in DIGIT_STROKES:
        page.evaluate("window.lenetExplorer.clear()")
        page.evaluate(SETTLE)
        draw_digit(page, CANVAS, digit)
        page.evaluate(SETTLE)
        ink = np.array(page.evaluate("window.lenetExplorer.canvasInk()"), dtype=np.float64).reshape(size, size) / 255
        reference = mnist_style(ink)
        row = {"digit": digit}
        for key, (meta, model) in models.items():
            page.evaluate("(k) => window.lenetExplorer.setModel(k)", key)
            page.evaluate(SETTLE)
            state = page.evaluate("window.lenetExplorer.state()")
            assert state["source"] == "drawing" and state["model"] == key
            v28 = np.array(state["v28"], dtype=np.float32).reshape(28, 28)
            mad = float(np.abs(v28 - reference).mean())
            assert mad < 0.02, f"digit {digit}: the page's 28x28 image differs from mnist_style by {mad:.4f} on average"
            with torch.no_grad():
                out = export.layer_outputs(model, export.model_input(v28, meta["input"]["normalize"]))
            scores = out[meta["prediction"]][0]
            torch_pred = int(scores.argmin() if meta["prediction"] == "distances" else scores.argmax())
            assert state["prediction"] == torch_pred, f"digit {digit}, {key}: page {state['prediction']}, PyTorch {torch_pred}"
            correct[key] += torch_pred == digit
            row[key] = {"prediction": torch_pred, "mad": mad}
        rows.append(row)
    REPORT["drawing"] = {"digits": rows, "correct": correct}
    print(f"\nexplorer drawing: recognised {correct} of 10 drawn digits")
    for key, n in correct.items():
        assert n >= 9, f"{key} recognised only {n} of the 10 drawn digits: {rows}"


# ------------------------------------------------------------------------------------------ hover

@pytest.mark.parametrize("layer, side", [("C1", 5), ("S2", 6), ("C3", 14), ("S4", 16)])
def test_hover_outlines_the_receptive_field(explorer, layer, side):
    page = explorer
    page.evaluate("window.lenetExplorer.selectDigit(3)")
    page.evaluate(SETTLE)
    page.locator(f'#lenet-explorer .lx-layer[data-layer="{layer}"] canvas').nth(1).hover()   # its centre
    hover = page.evaluate("window.lenetExplorer.hover")
    assert hover and hover["layer"] == layer and hover["map"] == 1
    b = hover["box"]
    assert (b["r1"] - b["r0"] + 1, b["c1"] - b["c0"] + 1) == (side, side)
    assert 0 <= b["r0"] and b["r1"] < 32 and 0 <= b["c0"] and b["c1"] < 32
    assert page.locator(".lx-tip.lx-show").is_visible()
    assert f"{side}×{side} pixels" in page.inner_text(".lx-tip")
    page.mouse.move(0, 0)
    assert not page.locator(".lx-tip.lx-show").count()


# ------------------------------------------------------------------------- serving, size, scope

def test_opened_from_a_file_it_says_how_to_serve_it(site, browser_context):
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto((site / EXPLORER).as_uri(), wait_until="load")
        text = page.inner_text("#lenet-explorer")
        assert "Serve the book" in text and "python3 -m http.server -d _build/html 8000" in text
        assert page.evaluate("window.lenetExplorer.error") == "opened from file://"
        assert not errors, errors
    finally:
        page.close()


def test_what_the_explorer_loads(site, explorer):
    log = explorer.log
    assert not log["outside"], f"the explorer asked for files outside the site: {log['outside']}"
    sizes = {}
    for url in set(log["requests"]):
        rel = unquote(urlsplit(url).path).lstrip("/")
        path = site / rel
        if path.is_file():
            sizes[rel] = path.stat().st_size
    own = {k: v for k, v in sizes.items()
           if "/ort/" in k or "lenet-explorer" in k}
    assert any(k.endswith(".wasm") for k in own) and any(k.endswith(".onnx") for k in own)
    total = sum(own.values())
    REPORT["sizes"] = {"explorer_files": dict(sorted(own.items())), "explorer_total": total,
                       "page_total": sum(sizes.values())}
    print(f"\nexplorer: loads {total / 2**20:.1f} MiB of its own files ({len(own)} files); "
          f"the page with the theme: {sum(sizes.values()) / 2**20:.1f} MiB")
    assert total < MAX_BYTES


def test_explorer_scripts_load_on_their_own_pages_only(site):
    for page in site.rglob("*.html"):
        rel = page.relative_to(site).as_posix()
        if rel.startswith("_static/"):
            continue
        html = page.read_text(encoding="utf-8", errors="replace")
        assert ("ort.wasm.min.js" in html) == (rel == EXPLORER), rel
        assert ("lenet-explorer.js" in html) == (rel == EXPLORER), rel
        assert ("conv-shape.js" in html) == (rel == CHAPTER3), rel


# ----------------------------------------------------------------------- chapter 3's shape figure

GRID = """() => {
  const host = document.querySelector(".lenet-conv-shape");
  const out = [];
  for (let n = 1; n <= 32; n++) for (let k = 1; k <= 7; k++) for (let p = 0; p <= 3; p++) for (let s = 1; s <= 4; s++) {
    window.lenetConvShape.set(host, {n, k, p, s});
    const msg = host.querySelector(".lcs-message");
    out.push([n, k, p, s, host.dataset.outputSize, msg.hidden ? "" : msg.textContent,
              host.querySelector(".lcs-formula").textContent,
              Number((host.querySelectorAll("svg g[data-cells]")[1] || {dataset: {cells: 0}}).dataset.cells)]);
  }
  return out;
}"""


def test_shape_figure_matches_conv_output_size(site, server, browser_context):
    page = browser_context.new_page()
    page.route("**/*", lambda r: r.continue_() if is_local(r.request.url) else r.abort())
    try:
        page.goto(server + CHAPTER3, wait_until="load")
        assert page.locator(".lenet-conv-shape.lcs-ready").count() == 1, "the figure did not start"
        rows = page.evaluate(GRID)
        assert len(rows) == 32 * 7 * 4 * 4
        valid = invalid = 0
        for n, k, p, s, shown, message, formula, cells in rows:
            try:
                size = conv_output_size(n, k, p, s)
            except ValueError:
                size = None
            if size is None:
                invalid += 1
                assert shown == "" and "No output" in message and cells == 0, (n, k, p, s, shown, message)
            else:
                valid += 1
                assert shown == str(size) and message == "", (n, k, p, s, shown, message)
                assert formula.count(f"= {size}") >= 2 and cells == size, (n, k, p, s, formula)
        REPORT["shape_figure"] = {"valid": valid, "impossible": invalid}
        # The sliders drive it too (keyboard): a 7x7 kernel on a 3-pixel input with no padding has no
        # output; with 3 pixels of padding on each side it has one.
        host = page.locator(".lenet-conv-shape")
        slider = {key: host.locator(f'input[data-key="{key}"]') for key in "nkps"}
        for key, keys in (("n", ["Home", "ArrowRight", "ArrowRight"]), ("k", ["End"]), ("p", ["Home"]), ("s", ["Home"])):
            for k in keys:
                slider[key].press(k)
        assert [slider[k].input_value() for k in "nkps"] == ["3", "7", "0", "1"]
        assert host.locator(".lcs-message").is_visible() and "No output" in host.inner_text()
        slider["p"].press("End")
        assert not host.locator(".lcs-message").is_visible()
        assert host.get_attribute("data-output-size") == str(conv_output_size(3, 7, 3, 1)) == "3"
    finally:
        page.close()
