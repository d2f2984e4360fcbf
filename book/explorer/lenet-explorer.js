// The LeNet explorer (book/explorer.md): the book's trained LeNet-5 models run in the page.
//
// The reader draws a digit (mouse, pen or touch) or picks one of the bundled MNIST test digits. The
// drawing is made to look like an MNIST digit exactly as lenet_utils/preprocess.py does it (crop to
// the ink, area-average the longer side to 20 pixels, paste into 28x28 with the centre of mass at
// (14, 14)), scaled and padded to 32x32 as the chosen model was trained (constants exported from
// lenet_utils.data.prepare into models.json), and run through the model's ONNX graph with
// onnxruntime-web (WebAssembly, one thread). Every layer's output is a named graph output; the page
// draws them all.
//
// Files (all served by the site itself, nothing from elsewhere):
//   _static/ort/ort.wasm.min.js + ort-wasm-simd-threaded.{mjs,wasm}   (scripts/vendor_js.sh)
//   _static/lenet-explorer-data/{models.json, digits.json, *.onnx}     (python -m lenet_utils.cli.export)
//
// For tests and benchmarks the page exposes window.lenetExplorer (see the `api` object below).
(function () {
  "use strict";

  const SCRIPT = document.currentScript ? document.currentScript.src : "";
  const STATIC = new URL("./", SCRIPT || location.href);
  const DATA = new URL("lenet-explorer-data/", STATIC);
  const ORT_DIR = new URL("ort/", STATIC);
  const CANVAS = 280;        // drawing canvas, in canvas pixels (its CSS size may be smaller)
  const LINE_WIDTH = 22;     // pen width on that canvas; a 200-pixel digit becomes a 2.2-pixel MNIST stroke
  const SQUASH = 1.7159;     // amplitude of the scaled tanh: the colour scale of squashed layers

  const api = {
    ready: null,             // Promise: true once the first model has run and the page is drawn
    readyAt: null,           // performance.now() at that moment (ms since navigation start)
    timings: { script: performance.now() },   // when this script ran, the metadata came, the first network was ready
    error: null,             // why the explorer could not start, if it could not
    latencies: [],           // per finished stroke: {render: ms to maps and scores drawn, frame: ms to next frame}
    meta: null,              // models.json
    digits: null,            // {labels, indices, images: Uint8Array [N * 784]}
  };
  window.lenetExplorer = api;

  const root = document.getElementById("lenet-explorer");
  if (!root) { return; }

  // ------------------------------------------------------------------ opened from a file
  if (location.protocol === "file:") {
    root.innerHTML = "";
    const box = el("div", "lx-message admonition warning", root);
    box.setAttribute("role", "alert");
    el("p", "admonition-title", box).textContent = "Serve the book to use the explorer";
    el("p", "", box).innerHTML =
      "This page runs the networks with WebAssembly, which browsers do not load from a file opened " +
      "directly. Serve the built book and open the page through the local server:";
    el("pre", "", box).textContent = "python3 -m http.server -d _build/html 8000\n" +
      "# then open http://localhost:8000/book/explorer.html";
    api.error = "opened from file://";
    api.ready = Promise.resolve(false);
    return;
  }

  // ------------------------------------------------------------------ small DOM helpers
  function el(tag, cls, parent) {
    const node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function canvas(w, h, cls, parent) {
    const c = el("canvas", cls, parent);
    c.width = w;
    c.height = h;
    return c;
  }

  // ------------------------------------------------------------------ colours from the theme
  const probe = document.createElement("canvas").getContext("2d");
  function rgb(cssColour, fallback) {
    probe.fillStyle = fallback;
    probe.fillStyle = cssColour.trim() || fallback;
    const hex = probe.fillStyle;  // normalised to #rrggbb (or rgba(...) with alpha)
    if (hex[0] === "#") {
      return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    }
    const m = hex.match(/[\d.]+/g);
    return m ? m.slice(0, 3).map(Number) : [128, 128, 128];
  }

  let colours = null;
  function readColours() {
    const css = getComputedStyle(root);
    colours = {
      neg: rgb(css.getPropertyValue("--lx-neg"), "#2f6db5"),
      zero: rgb(css.getPropertyValue("--lx-zero"), "#f4f4f4"),
      pos: rgb(css.getPropertyValue("--lx-pos"), "#c0392b"),
      ink: css.getPropertyValue("--lx-ink").trim() || "#222",
      paper: rgb(css.getPropertyValue("--lx-paper"), "#ffffff"),
      inkRgb: rgb(css.getPropertyValue("--lx-ink"), "#222222"),
      accent: css.getPropertyValue("--lx-accent").trim() || "#d63384",
    };
  }

  // value in [-range, range] -> [r, g, b], through zero's colour
  function diverging(v, range) {
    const t = Math.max(-1, Math.min(1, v / range));
    const end = t < 0 ? colours.neg : colours.pos;
    const a = Math.abs(t);
    return [0, 1, 2].map((i) => Math.round(colours.zero[i] + (end[i] - colours.zero[i]) * a));
  }

  // ------------------------------------------------------------------ MNIST-style preprocessing
  // The same steps, in the same order, as lenet_utils/preprocess.py (the browser test compares them).
  function areaWeights(nIn, nOut) {
    const step = nIn / nOut;
    const rows = [];
    for (let i = 0; i < nOut; i++) {
      const lo = i * step, hi = (i + 1) * step;
      const first = Math.floor(lo), last = Math.min(nIn, Math.ceil(hi));
      const w = new Float64Array(last - first);
      for (let j = first; j < last; j++) { w[j - first] = (Math.min(hi, j + 1) - Math.max(lo, j)) / step; }
      rows.push({ first, w });
    }
    return rows;
  }

  // ink: Float64Array [height * width] in 0..1 -> Float32Array [field * field], or null without ink
  function mnistStyle(ink, width, height, p) {
    let top = height, left = width, bottom = -1, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (ink[y * width + x] > 0) {
          if (y < top) { top = y; }
          if (y > bottom) { bottom = y; }
          if (x < left) { left = x; }
          if (x > right) { right = x; }
        }
      }
    }
    if (bottom < 0) { return null; }
    const h = bottom - top + 1, w = right - left + 1;
    const scale = p.box / Math.max(h, w);
    const oh = Math.max(1, Math.floor(h * scale + 0.5)), ow = Math.max(1, Math.floor(w * scale + 0.5));
    const R = areaWeights(h, oh), C = areaWeights(w, ow);
    const rowsDone = new Float64Array(oh * w);            // R @ crop
    for (let i = 0; i < oh; i++) {
      const { first, w: wr } = R[i];
      for (let k = 0; k < wr.length; k++) {
        const src = (top + first + k) * width + left, wk = wr[k];
        for (let x = 0; x < w; x++) { rowsDone[i * w + x] += wk * ink[src + x]; }
      }
    }
    const small = new Float64Array(oh * ow);               // (R @ crop) @ C.T
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const { first, w: wc } = C[j];
        let s = 0;
        for (let k = 0; k < wc.length; k++) { s += rowsDone[i * w + first + k] * wc[k]; }
        small[i * ow + j] = s;
      }
    }
    let mass = 0, my = 0, mx = 0;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const v = small[i * ow + j];
        mass += v; my += v * i; mx += v * j;
      }
    }
    const cy = my / mass, cx = mx / mass;
    const y0 = Math.min(Math.max(Math.floor(p.centre - cy + 0.5), 0), p.field - oh);
    const x0 = Math.min(Math.max(Math.floor(p.centre - cx + 0.5), 0), p.field - ow);
    const out = new Float32Array(p.field * p.field);
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) { out[(y0 + i) * p.field + x0 + j] = small[i * ow + j]; }
    }
    return out;
  }

  // 28x28 image in 0..1 -> the model's 32x32 input: offset + scale * v, padded with the background
  function modelInput(v28, model) {
    const { scale, offset, pad } = model.input;
    const side = model.input.shape[3], inner = side - 2 * pad;
    const x = new Float32Array(side * side).fill(offset);
    for (let i = 0; i < inner; i++) {
      for (let j = 0; j < inner; j++) { x[(i + pad) * side + j + pad] = offset + scale * v28[i * inner + j]; }
    }
    return x;
  }

  // ------------------------------------------------------------------ the networks
  const sessions = {};
  function session(key) {
    if (!sessions[key]) {
      // Before models.json has come, the page's first network (data-first-model) is <key>.onnx.
      const model = api.meta && api.meta.models.find((m) => m.key === key);
      const file = model ? model.file : `${key}.onnx`;
      sessions[key] = fetch(new URL(file, DATA))
        .then((r) => {
          if (!r.ok) { throw new Error(`${file}: HTTP ${r.status}`); }
          return r.arrayBuffer();
        })
        .then((bytes) => window.ort.InferenceSession.create(new Uint8Array(bytes), {
          executionProviders: ["wasm"], graphOptimizationLevel: "all",
        }));
    }
    return sessions[key];
  }

  async function infer(key, v28) {
    const model = api.meta.models.find((m) => m.key === key);
    const input = modelInput(v28, model);
    const s = await session(key);
    const result = await s.run({ [model.input.name]: new window.ort.Tensor("float32", input, model.input.shape) });
    const outputs = {};
    for (const o of model.outputs) { outputs[o.name] = result[o.name].data; }
    return { input, outputs };
  }

  // ------------------------------------------------------------------ page state
  const state = {
    model: null,             // key of the model shown
    source: "none",          // "digit" (a bundled test digit as it is) or "drawing" (canvas ink, preprocessed)
    digit: -1,               // index into the bundled digits
    strokes: [],             // the reader's strokes: arrays of [x, y] in canvas pixels
    v28: null,               // the 28x28 image in 0..1 the model sees (before scaling and padding)
    result: null,            // {input, outputs} of the last run
  };
  const ui = {};

  // ------------------------------------------------------------------ building the page
  function build() {
    root.innerHTML = "";
    root.classList.add("lx-ready");

    const bar = el("div", "lx-bar", root);
    const models = el("fieldset", "lx-models", bar);
    el("legend", "", models).textContent = "Network";
    for (const m of api.meta.models) {
      const label = el("label", "lx-model", models);
      const radio = el("input", "", label);
      radio.type = "radio";
      radio.name = "lx-model";
      radio.value = m.key;
      radio.checked = m.key === state.model;
      radio.addEventListener("change", () => { if (radio.checked) { setModel(m.key); } });
      const err = m.test_error == null ? "" : ` (test error ${m.test_error.toFixed(2)} %)`;
      el("span", "", label).textContent = `${m.short}${err}`;
      label.title = `${m.title}; ${m.parameters.toLocaleString("en")} parameters; ${m.checkpoint}`;
    }
    ui.status = el("p", "lx-status", bar);
    ui.status.setAttribute("role", "status");

    const top = el("div", "lx-top", root);
    const draw = el("div", "lx-draw", top);
    ui.canvas = canvas(CANVAS, CANVAS, "lx-canvas", draw);
    ui.canvas.setAttribute("aria-label", "drawing area: draw one digit with the mouse, a pen or a finger");
    ui.ctx = ui.canvas.getContext("2d", { willReadFrequently: true });
    const buttons = el("div", "lx-buttons", draw);
    ui.clear = el("button", "lx-button", buttons);
    ui.clear.type = "button";
    ui.clear.textContent = "Clear";
    ui.clear.addEventListener("click", clearDrawing);
    ui.source = el("span", "lx-source", buttons);

    const inputs = el("div", "lx-inputs", top);
    const f28 = el("figure", "lx-figure", inputs);
    ui.in28 = canvas(28, 28, "lx-map lx-in", f28);
    el("figcaption", "", f28).textContent = "28×28 (MNIST)";
    const f32 = el("figure", "lx-figure", inputs);
    const stack = el("div", "lx-stack", f32);
    ui.in32 = canvas(32, 32, "lx-map lx-in", stack);
    ui.in32box = canvas(32 * 8, 32 * 8, "lx-overlay", stack);
    el("figcaption", "", f32).textContent = "32×32 input";

    const out = el("div", "lx-output", top);
    ui.prediction = el("div", "lx-prediction", out);
    ui.prediction.setAttribute("aria-live", "polite");
    ui.outTitle = el("p", "lx-output-title", out);
    ui.bars = [];
    for (let d = 0; d < 10; d++) {
      const row = el("div", "lx-out-row", out);
      el("span", "lx-out-digit", row).textContent = String(d);
      const track = el("span", "lx-out-track", row);
      const fill = el("span", "lx-out-fill", track);
      const value = el("span", "lx-out-value", row);
      ui.bars.push({ row, fill, value });
    }

    const pick = el("details", "lx-digits", root);
    pick.open = true;
    el("summary", "", pick).textContent =
      `Or pick one of ${api.digits.labels.length} MNIST test digits (${api.digits.perClass} of each class)`;
    const grid = el("div", "lx-digit-grid", pick);
    ui.thumbs = [];
    for (let i = 0; i < api.digits.labels.length; i++) {
      const b = el("button", "lx-thumb", grid);
      b.type = "button";
      b.title = `test image ${api.digits.indices[i]}, label ${api.digits.labels[i]}`;
      b.setAttribute("aria-label", b.title);
      const c = canvas(28, 28, "", b);
      b.addEventListener("click", () => selectDigit(i));
      ui.thumbs.push({ button: b, canvas: c });
    }

    ui.layers = {};
    const layers = el("div", "lx-layers", root);
    const m0 = currentModel();
    for (const name of m0.maps) {
      const shape = m0.outputs.find((o) => o.name === name).shape;
      const section = el("section", "lx-layer", layers);
      section.dataset.layer = name;
      const h = el("p", "lx-layer-title", section);
      h.textContent = `${name}: ${shape[1]} maps of ${shape[2]}×${shape[3]}`;
      const maps = el("div", "lx-maps", section);
      const list = [];
      for (let k = 0; k < shape[1]; k++) {
        const c = canvas(shape[3], shape[2], "lx-map", maps);
        c.dataset.map = String(k);
        c.style.setProperty("--lx-size", String(shape[3]));
        attachHover(c, name, k);
        list.push(c);
      }
      ui.layers[name] = { maps: list, title: h };
    }
    for (const name of ["C5", "F6"]) {
      const shape = m0.outputs.find((o) => o.name === name).shape;
      const section = el("section", "lx-layer lx-vector", layers);
      section.dataset.layer = name;
      const h = el("p", "lx-layer-title", section);
      h.textContent = `${name}: ${shape[1]} units`;
      const row = el("div", "lx-vector-row", section);
      const c = canvas(shape[1] * 5, 64, "lx-bars", row);
      ui.layers[name] = { bars: c, title: h, row };
    }
    ui.f6pic = el("div", "lx-f6pic", ui.layers.F6.row);
    ui.f6a = canvas(7, 12, "lx-map lx-rbf", ui.f6pic);
    ui.f6b = canvas(7, 12, "lx-map lx-rbf", ui.f6pic);
    ui.f6cap = el("p", "lx-f6cap", ui.f6pic);

    ui.tip = el("div", "lx-tip", document.body);
    ui.tipCanvas = canvas(32 * 3, 32 * 3, "", ui.tip);
    ui.tipText = el("p", "", ui.tip);

    attachDrawing();
    drawThumbs();
  }

  function currentModel() {
    return api.meta.models.find((m) => m.key === state.model);
  }

  // ------------------------------------------------------------------ drawing
  function canvasPoint(ev) {
    const r = ui.canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * CANVAS / r.width, (ev.clientY - r.top) * CANVAS / r.height];
  }

  let moveFrame = 0;
  function attachDrawing() {
    const c = ui.canvas;
    c.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) { return; }
      ev.preventDefault();
      c.setPointerCapture(ev.pointerId);
      state.strokes.push([canvasPoint(ev)]);
      state.source = "drawing";
      paintCanvas();
      scheduleLive();
    });
    c.addEventListener("pointermove", (ev) => {
      if (!c.hasPointerCapture(ev.pointerId) || !state.strokes.length) { return; }
      const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
      const stroke = state.strokes[state.strokes.length - 1];
      for (const e of (events.length ? events : [ev])) { stroke.push(canvasPoint(e)); }
      paintCanvas();
      scheduleLive();
    });
    const end = (ev) => {
      if (!c.hasPointerCapture(ev.pointerId)) { return; }
      c.releasePointerCapture(ev.pointerId);
      requestUpdate(ev.timeStamp);
    };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
  }

  function scheduleLive() {
    if (moveFrame) { return; }
    moveFrame = requestAnimationFrame(() => { moveFrame = 0; requestUpdate(null); });
  }

  // The canvas holds ink as opacity: the bundled digit (if any, enlarged without smoothing) and the strokes.
  function paintCanvas() {
    const ctx = ui.ctx;
    ctx.clearRect(0, 0, CANVAS, CANVAS);
    if (state.digit >= 0) {
      const small = document.createElement("canvas");
      small.width = small.height = 28;
      paintGrey(small, api.digits.images.subarray(state.digit * 784, state.digit * 784 + 784), 255, true);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, CANVAS, CANVAS);
    }
    ctx.strokeStyle = colours.ink;
    ctx.fillStyle = colours.ink;
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const stroke of state.strokes) {
      ctx.beginPath();
      ctx.moveTo(stroke[0][0], stroke[0][1]);
      if (stroke.length === 1) {
        ctx.arc(stroke[0][0], stroke[0][1], LINE_WIDTH / 2, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      for (let i = 1; i < stroke.length; i++) { ctx.lineTo(stroke[i][0], stroke[i][1]); }
      ctx.stroke();
    }
  }

  // The canvas's ink as opacity in 0..1 (what the preprocessing reads).
  function canvasInk() {
    const rgba = ui.ctx.getImageData(0, 0, CANVAS, CANVAS).data;
    const ink = new Float64Array(CANVAS * CANVAS);
    for (let i = 0; i < ink.length; i++) { ink[i] = rgba[4 * i + 3] / 255; }
    return ink;
  }

  function clearDrawing() {
    state.strokes = [];
    state.digit = -1;
    state.source = "none";
    paintCanvas();
    requestUpdate(null);
  }

  function selectDigit(i) {
    state.strokes = [];
    state.digit = i;
    state.source = "digit";
    paintCanvas();
    return requestUpdate(null);
  }

  // ------------------------------------------------------------------ update loop
  // One update at a time; requests that arrive meanwhile are merged into one more run. A request
  // made at the end of a stroke carries that event's time, and the delay to the finished drawing
  // is recorded in api.latencies.
  let running = null, again = false;
  const marks = [];
  function requestUpdate(mark) {
    if (mark != null) { marks.push(mark); }
    again = true;
    if (!running) {
      running = (async () => {
        while (again) {
          again = false;
          const waiting = marks.splice(0);
          try {
            await updateOnce();
          } catch (err) {
            fail(err);
          }
          const done = performance.now();
          for (const m of waiting) {
            const entry = { render: done - m, frame: null };
            api.latencies.push(entry);
            requestAnimationFrame(() => { entry.frame = performance.now() - m; });
          }
        }
        running = null;
      })();
    }
    return running;
  }

  async function updateOnce() {
    const p = api.meta.preprocess;
    let v28 = null;
    if (state.source === "digit" && state.digit >= 0) {
      const img = api.digits.images.subarray(state.digit * 784, state.digit * 784 + 784);
      v28 = Float32Array.from(img, (b) => b / 255);
    } else if (state.source === "drawing") {
      v28 = mnistStyle(canvasInk(), CANVAS, CANVAS, p);
    }
    state.v28 = v28;
    state.result = v28 ? await infer(state.model, v28) : null;
    render();
  }

  // ------------------------------------------------------------------ rendering
  function paintGrey(c, values, max, asInk) {
    const ctx = c.getContext("2d");
    const img = ctx.createImageData(c.width, c.height);
    for (let i = 0; i < values.length; i++) {
      const a = Math.max(0, Math.min(1, values[i] / max));
      if (asInk) {                       // opacity only: the colour comes from the canvas's fill
        img.data.set([colours.inkRgb[0], colours.inkRgb[1], colours.inkRgb[2], Math.round(a * 255)], 4 * i);
      } else {                           // ink on paper
        const px = [0, 1, 2].map((k) => Math.round(colours.paper[k] + (colours.inkRgb[k] - colours.paper[k]) * a));
        img.data.set([px[0], px[1], px[2], 255], 4 * i);
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  function paintMap(c, values, offset, size, range) {
    const ctx = c.getContext("2d");
    const img = ctx.createImageData(c.width, c.height);
    for (let i = 0; i < size; i++) {
      const [r, g, b] = diverging(values[offset + i], range);
      img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function rangeOf(values) {
    let m = 0;
    for (let i = 0; i < values.length; i++) { m = Math.max(m, Math.abs(values[i])); }
    return Math.max(SQUASH, m);
  }

  function paintBars(c, values) {
    const ctx = c.getContext("2d");
    const range = rangeOf(values), w = c.width / values.length, mid = c.height / 2;
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.fillStyle = `rgb(${colours.zero.join(",")})`;
    ctx.fillRect(0, 0, c.width, c.height);
    for (let i = 0; i < values.length; i++) {
      const v = values[i], hgt = (Math.abs(v) / range) * (mid - 1);
      ctx.fillStyle = `rgb(${(v < 0 ? colours.neg : colours.pos).join(",")})`;
      ctx.fillRect(i * w + 0.5, v < 0 ? mid : mid - hgt, Math.max(1, w - 1), hgt);
    }
    ctx.fillStyle = colours.ink;
    ctx.fillRect(0, mid, c.width, 1);
  }

  function render() {
    const model = currentModel();
    const res = state.result;
    ui.source.textContent = state.source === "digit"
      ? `MNIST test image ${api.digits.indices[state.digit]} (label ${api.digits.labels[state.digit]})`
      : state.source === "drawing" ? "your drawing" : "draw a digit or pick one below";
    ui.clear.disabled = state.source === "none";
    for (const t of ui.thumbs) { t.button.classList.remove("lx-selected"); }
    if (state.source === "digit") { ui.thumbs[state.digit].button.classList.add("lx-selected"); }
    root.classList.toggle("lx-empty", !res);
    if (!res) {
      for (const c of [ui.in28, ui.in32]) { c.getContext("2d").clearRect(0, 0, c.width, c.height); }
      ui.prediction.textContent = "";
      ui.outTitle.textContent = "";
      for (const b of ui.bars) { b.fill.style.width = "0"; b.value.textContent = ""; b.row.classList.remove("lx-win"); }
      for (const name of model.maps) {
        for (const c of ui.layers[name].maps) { c.getContext("2d").clearRect(0, 0, c.width, c.height); }
      }
      for (const name of ["C5", "F6"]) { ui.layers[name].bars.getContext("2d").clearRect(0, 0, 1e4, 1e4); }
      ui.f6pic.hidden = true;
      return;
    }
    paintGrey(ui.in28, state.v28, 1, false);
    const { scale, offset } = model.input;
    paintGrey(ui.in32, Float32Array.from(res.input, (x) => (x - offset) / scale), 1, false);

    for (const name of model.maps) {
      const shape = model.outputs.find((o) => o.name === name).shape, size = shape[2] * shape[3];
      const values = res.outputs[name], range = rangeOf(values);
      ui.layers[name].maps.forEach((c, k) => paintMap(c, values, k * size, size, range));
    }
    paintBars(ui.layers.C5.bars, res.outputs.C5);
    paintBars(ui.layers.F6.bars, res.outputs.F6);

    const scores = res.outputs[model.prediction];
    const distances = model.prediction === "distances";
    const shown = distances ? scores : res.outputs.probabilities;
    let best = 0;
    for (let d = 1; d < 10; d++) { if (distances ? scores[d] < scores[best] : scores[d] > scores[best]) { best = d; } }
    const max = Math.max(...shown);
    ui.outTitle.textContent = distances
      ? "RBF distance of F6 to each digit's bitmap (shortest wins)"
      : "probability of each digit (softmax of the 10 scores)";
    ui.bars.forEach((b, d) => {
      b.fill.style.width = `${(100 * shown[d]) / (max || 1)}%`;
      b.value.textContent = distances ? shown[d].toFixed(1) : `${(100 * shown[d]).toFixed(1)} %`;
      b.row.classList.toggle("lx-win", d === best);
      b.row.title = distances ? `distance ${scores[d].toFixed(4)}` : `score ${scores[d].toFixed(4)}`;
    });
    ui.prediction.innerHTML = "";
    el("span", "lx-pred-label", ui.prediction).textContent = "prediction";
    el("span", "lx-pred-digit", ui.prediction).textContent = String(best);
    api.prediction = best;

    ui.f6pic.hidden = !model.rbf_centres;
    if (model.rbf_centres) {
      const f6 = res.outputs.F6;
      const [rows, cols] = model.rbf_shape;
      paintMap(ui.f6a, f6, 0, rows * cols, SQUASH);
      paintMap(ui.f6b, model.rbf_centres[best], 0, rows * cols, 1);
      ui.f6cap.textContent = `F6 as a ${cols}×${rows} picture, and the bitmap of ${best}, the nearest`;
    }
    if (hover) { showHover(hover.layer, hover.map, hover.row, hover.col, hover.x, hover.y); }
  }

  function drawThumbs() {
    ui.thumbs.forEach((t, i) => paintGrey(t.canvas, api.digits.images.subarray(i * 784, i * 784 + 784), 255, false));
  }

  // ------------------------------------------------------------------ receptive fields on hover
  // Unit (row, col) of layer L sees the input rows [r0, r1]: walk back through each layer's window.
  function receptiveField(model, layer, row, col) {
    const idx = model.windows.findIndex((w) => w.name === layer);
    let r0 = row, r1 = row, c0 = col, c1 = col;
    for (let i = idx; i >= 0; i--) {
      const { kernel, stride } = model.windows[i];
      r0 *= stride; c0 *= stride;
      r1 = r1 * stride + kernel - 1; c1 = c1 * stride + kernel - 1;
    }
    return { r0, r1, c0, c1 };
  }

  let hover = null;
  function attachHover(c, layer, map) {
    c.addEventListener("pointermove", (ev) => {
      const r = c.getBoundingClientRect();
      const col = Math.min(c.width - 1, Math.floor(((ev.clientX - r.left) / r.width) * c.width));
      const row = Math.min(c.height - 1, Math.floor(((ev.clientY - r.top) / r.height) * c.height));
      hover = { layer, map, row, col, x: ev.clientX, y: ev.clientY };
      showHover(layer, map, row, col, ev.clientX, ev.clientY);
    });
    c.addEventListener("pointerleave", () => { hover = null; hideHover(); });
  }

  function outline(c, box, unit) {
    const ctx = c.getContext("2d");
    ctx.clearRect(0, 0, c.width, c.height);
    const s = c.width / unit;
    ctx.lineWidth = Math.max(2, s / 3);
    ctx.strokeStyle = colours.accent;
    ctx.strokeRect(box.c0 * s + ctx.lineWidth / 2, box.r0 * s + ctx.lineWidth / 2,
                   (box.c1 - box.c0 + 1) * s - ctx.lineWidth, (box.r1 - box.r0 + 1) * s - ctx.lineWidth);
  }

  function showHover(layer, map, row, col, x, y) {
    const model = currentModel();
    if (!state.result) { return; }
    const shape = model.outputs.find((o) => o.name === layer).shape;
    const value = state.result.outputs[layer][map * shape[2] * shape[3] + row * shape[3] + col];
    const box = receptiveField(model, layer, row, col);
    outline(ui.in32box, box, 32);
    const tip = ui.tipCanvas.getContext("2d");
    tip.imageSmoothingEnabled = false;
    tip.clearRect(0, 0, ui.tipCanvas.width, ui.tipCanvas.height);
    tip.drawImage(ui.in32, 0, 0, ui.tipCanvas.width, ui.tipCanvas.height);
    const s = ui.tipCanvas.width / 32;
    tip.lineWidth = 2;
    tip.strokeStyle = colours.accent;
    tip.strokeRect(box.c0 * s + 1, box.r0 * s + 1, (box.c1 - box.c0 + 1) * s - 2, (box.r1 - box.r0 + 1) * s - 2);
    ui.tipText.textContent = `${layer} map ${map}, unit at row ${row}, column ${col}: ${value.toFixed(3)}. ` +
      `It sees input rows ${box.r0}–${box.r1} and columns ${box.c0}–${box.c1} ` +
      `(${box.r1 - box.r0 + 1}×${box.c1 - box.c0 + 1} pixels of the 32×32 input).`;
    ui.tip.classList.add("lx-show");
    const w = ui.tip.offsetWidth, h = ui.tip.offsetHeight;
    ui.tip.style.left = `${Math.min(window.innerWidth - w - 8, x + 16)}px`;
    ui.tip.style.top = `${y + h + 24 > window.innerHeight ? y - h - 16 : y + 16}px`;
    api.hover = { layer, map, row, col, box };
  }

  function hideHover() {
    ui.tip.classList.remove("lx-show");
    ui.in32box.getContext("2d").clearRect(0, 0, ui.in32box.width, ui.in32box.height);
    api.hover = null;
  }

  // ------------------------------------------------------------------ models, theme, start
  async function setModel(key) {
    state.model = key;
    for (const r of root.querySelectorAll("input[name=lx-model]")) { r.checked = r.value === key; }
    ui.status.textContent = `Loading the ${currentModel().short}…`;
    await session(key);
    ui.status.textContent = "";
    return requestUpdate(null);
  }

  function fail(err) {
    api.error = String(err && err.message ? err.message : err);
    if (ui.status) {
      ui.status.textContent = `The explorer stopped: ${api.error}`;
      ui.status.classList.add("lx-error");
    } else {
      root.textContent = `The explorer could not start: ${api.error}`;
    }
    console.error("LeNet explorer:", err);
  }

  function onTheme() {
    readColours();
    if (!ui.canvas) { return; }
    paintCanvas();
    drawThumbs();
    render();
  }

  async function fetchJson(name) {
    const r = await fetch(new URL(name, DATA));
    if (!r.ok) { throw new Error(`${name}: HTTP ${r.status}`); }
    return r.json();
  }

  async function start() {
    readColours();
    if (!window.ort) { throw new Error("onnxruntime-web (ort.wasm.min.js) did not load"); }
    window.ort.env.wasm.numThreads = 1;     // no cross-origin isolation on a plain static server
    window.ort.env.wasm.proxy = false;
    window.ort.env.wasm.wasmPaths = ORT_DIR.href;
    window.ort.env.logLevel = "error";
    // The runtime and the first network load while the metadata and the digits arrive.
    const early = root.dataset.firstModel;
    if (early) { session(early).catch(() => {}); }
    const pendingDigits = fetchJson("digits.json");
    const meta = await fetchJson("models.json");
    api.timings.meta = performance.now();
    api.meta = meta;
    state.model = meta.models.some((m) => m.key === early) ? early : meta.models[0].key;
    const first = session(state.model);
    const digits = await pendingDigits;
    const bytes = Uint8Array.from(atob(digits.images_base64), (ch) => ch.charCodeAt(0));
    api.digits = {
      labels: digits.labels, indices: digits.indices, images: bytes,
      perClass: digits.labels.filter((l) => l === 0).length,
    };
    build();
    ui.status.textContent = `Loading the ${currentModel().short}…`;
    await first;
    api.timings.session = performance.now();
    ui.status.textContent = "";
    await selectDigit(api.digits.labels.indexOf(7));
    api.readyAt = performance.now();
    root.dataset.ready = "true";
    new MutationObserver(onTheme).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    // Load the other networks while the reader looks at the first.
    for (const m of meta.models) { session(m.key).catch(fail); }
    return true;
  }

  // ------------------------------------------------------------------ the API for tests and benchmarks
  Object.assign(api, {
    mnistStyle: (ink, width, height) => mnistStyle(Float64Array.from(ink), width, height, api.meta.preprocess),
    infer,                                            // (modelKey, v28) -> {input, outputs}
    setModel,
    selectDigit,
    clear: clearDrawing,
    canvasInk: () => Array.from(canvasInk(), (a) => Math.round(a * 255)),
    canvasSize: CANVAS,
    state: () => ({
      model: state.model, source: state.source, digit: state.digit, prediction: api.prediction,
      v28: state.v28 ? Array.from(state.v28) : null,
      input: state.result ? Array.from(state.result.input) : null,
      outputs: state.result ? Object.fromEntries(Object.entries(state.result.outputs).map(([k, v]) => [k, Array.from(v)])) : null,
    }),
    idle: () => running || Promise.resolve(),
  });

  api.ready = start().catch((err) => { fail(err); return false; });
})();
