// The output-size formula of a convolution as an interactive figure (chapter 3, on the website).
//
// Each <div class="lenet-conv-shape" data-n="7" data-k="3" data-p="1" data-s="2"> becomes sliders for
// the input size n, the kernel size k, the padding p on each side and the stride s; a drawing of the
// padded input with the first window positions along the top row, the input columns no window reaches,
// and the output grid; and the formula evaluated for the setting. A setting with no output (the
// kernel does not fit in the padded input) shows why instead. The arithmetic is that of
// lenet_utils.shapes.conv_output_size (a browser test compares the two on every setting of the grid).
// window.lenetConvShape exposes outputSize() and set() for that test.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const LIMITS = { n: [1, 32], k: [1, 7], p: [0, 3], s: [1, 4] };
  const LABELS = { n: "input size n", k: "kernel k", p: "padding p (per side)", s: "stride s" };
  const WINDOWS = 3;

  // {size} for a valid setting, {error} (a sentence) for an impossible one.
  function outputSize(n, k, p, s) {
    for (const [name, v] of [["input size n", n], ["kernel k", k], ["padding p", p], ["stride s", s]]) {
      if (!Number.isInteger(v)) { return { error: `${name} must be a whole number, got ${v}.` }; }
    }
    if (n < 1) { return { error: `The input size n must be at least 1, got ${n}.` }; }
    if (k < 1) { return { error: `The kernel size k must be at least 1, got ${k}.` }; }
    if (s < 1) { return { error: `The stride s must be at least 1, got ${s}: the formula divides by it.` }; }
    if (p < 0) { return { error: `The padding p must be 0 or more pixels on each side, got ${p}.` }; }
    if (k > n + 2 * p) {
      return {
        error: `No output: a ${k}×${k} kernel does not fit in the padded input, which is only ` +
          `n + 2p = ${n} + 2·${p} = ${n + 2 * p} pixels wide, so ⌊(n + 2p − k) / s⌋ + 1 would be below 1. ` +
          "Use a smaller kernel or more padding.",
      };
    }
    return { size: Math.floor((n + 2 * p - k) / s) + 1 };
  }

  function node(tag, attrs, parent, ns) {
    const e = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") { e.textContent = v; } else { e.setAttribute(k, v); }
    }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function setup(host) {
    const value = { n: 7, k: 3, p: 0, s: 1 };
    for (const key of Object.keys(value)) {
      const v = parseInt(host.dataset[key], 10);
      if (Number.isInteger(v)) { value[key] = Math.min(LIMITS[key][1], Math.max(LIMITS[key][0], v)); }
    }
    host.innerHTML = "";
    host.classList.add("lcs-ready");
    const controls = node("div", { class: "lcs-controls" }, host);
    const inputs = {};
    for (const key of Object.keys(value)) {
      const label = node("label", { class: "lcs-control" }, controls);
      node("span", { class: "lcs-name", text: LABELS[key] }, label);
      const input = node("input", {
        type: "range", min: LIMITS[key][0], max: LIMITS[key][1], step: 1, value: value[key], "data-key": key,
      }, label);
      const out = node("output", { class: "lcs-value", text: String(value[key]) }, label);
      input.addEventListener("input", () => { out.textContent = input.value; draw(); });
      inputs[key] = { input, out };
    }
    const formula = node("p", { class: "lcs-formula", "aria-live": "polite" }, host);
    const message = node("p", { class: "lcs-message", role: "alert" }, host);
    const figure = node("div", { class: "lcs-figure" }, host);
    const state = { selected: 0 };

    function current() {
      const v = {};
      for (const key of Object.keys(inputs)) { v[key] = parseInt(inputs[key].input.value, 10); }
      return v;
    }

    function draw() {
      const { n, k, p, s } = current();
      const res = outputSize(n, k, p, s);
      host.dataset.outputSize = res.error ? "" : String(res.size);
      figure.innerHTML = "";
      if (res.error) {
        formula.textContent = `n = ${n}, k = ${k}, p = ${p} per side (p_h = ${2 * p}), s = ${s}`;
        message.textContent = res.error;
        message.hidden = false;
        host.classList.add("lcs-impossible");
        return res;
      }
      message.textContent = "";
      message.hidden = true;
      host.classList.remove("lcs-impossible");
      const out = res.size, size = n + 2 * p;
      formula.textContent = `⌊(n − k + p_h + s) / s⌋ = ⌊(${n} − ${k} + ${2 * p} + ${s}) / ${s}⌋ = ${out}` +
        `   (p_h = 2p; PyTorch writes it ⌊(n + 2p − k) / s⌋ + 1 = ${out}): the output is ${out}×${out}.`;
      state.selected = Math.min(state.selected, out - 1);
      const reach = (out - 1) * s + k;              // input columns that some window covers
      const cell = Math.max(6, Math.min(22, Math.floor(330 / size)));
      const outCell = Math.max(6, Math.min(22, Math.floor(200 / out)));
      const pad = 4;
      const wIn = size * cell + 2 * pad, wOut = out * outCell + 2 * pad;
      const gap = 36;
      const height = Math.max(size * cell, out * outCell) + 2 * pad + 22;
      const svg = node("svg", {
        class: "lcs-svg", width: wIn + gap + wOut, height, viewBox: `0 0 ${wIn + gap + wOut} ${height}`,
        role: "img", "aria-label": `padded input ${size}×${size}, output ${out}×${out}`,
      }, figure, true);
      node("text", { x: pad, y: 14, class: "lcs-caption", text: `padded input ${size}×${size}` }, svg, true);
      node("text", { x: wIn + gap + pad, y: 14, class: "lcs-caption", text: `output ${out}×${out}` }, svg, true);
      // A board of size x size cells: a few rectangles and one path of grid lines, so that redrawing
      // is cheap whatever the size (the browser test redraws every setting of the grid).
      function board(g, rows, cols, c) {
        node("rect", { x: 0, y: 0, width: cols * c, height: rows * c, class: "lcs-cell" }, g, true);
        return () => {
          let d = "";
          for (let i = 0; i <= rows; i++) { d += `M0 ${i * c}H${cols * c}`; }
          for (let j = 0; j <= cols; j++) { d += `M${j * c} 0V${rows * c}`; }
          node("path", { d, class: "lcs-grid" }, g, true);
        };
      }
      const gIn = node("g", { transform: `translate(${pad},${22 + pad})`, "data-cells": String(size) }, svg, true);
      const linesIn = board(gIn, size, size, cell);
      if (p > 0) {   // the padding ring: the whole board grey, the input itself white again
        node("rect", { x: 0, y: 0, width: size * cell, height: size * cell, class: "lcs-cell lcs-pad" }, gIn, true);
        node("rect", { x: p * cell, y: p * cell, width: n * cell, height: n * cell, class: "lcs-cell" }, gIn, true);
      }
      if (reach < size) {   // the rows and columns past the last window
        const r = reach * cell, w = (size - reach) * cell;
        node("rect", { x: r, y: 0, width: w, height: size * cell, class: "lcs-unreached" }, gIn, true);
        node("rect", { x: 0, y: r, width: r, height: w, class: "lcs-unreached" }, gIn, true);
      }
      linesIn();
      // The first windows along the top row, in colours 0..2, and the one the reader points at (colour 3).
      const shown = [...Array(Math.min(WINDOWS, out)).keys()].map((j) => ({ j, colour: j }));
      if (state.selected >= WINDOWS) { shown.push({ j: state.selected, colour: WINDOWS }); }
      shown.forEach(({ j, colour }, idx) => {
        const inset = 1.5 + idx;     // overlapping windows stay distinguishable
        node("rect", {
          x: j * s * cell + inset, y: inset, width: Math.max(1, k * cell - 2 * inset), height: Math.max(1, k * cell - 2 * inset),
          class: `lcs-window lcs-w${colour}` + (j === state.selected ? " lcs-current" : ""),
        }, gIn, true);
      });
      const gOut = node("g", { transform: `translate(${wIn + gap + pad},${22 + pad})`, "data-cells": String(out) }, svg, true);
      const linesOut = board(gOut, out, out, outCell);
      for (const { j, colour } of shown) {
        node("rect", { x: j * outCell, y: 0, width: outCell, height: outCell, class: `lcs-fill${colour}` }, gOut, true);
      }
      linesOut();
      for (let j = 0; j < out; j++) {   // the top row answers the pointer: show that cell's window
        const r = node("rect", { x: j * outCell, y: 0, width: outCell, height: outCell, class: "lcs-hit" }, gOut, true);
        r.addEventListener("mouseenter", () => { if (state.selected !== j) { state.selected = j; draw(); } });
        node("title", { text: `output column ${j}: its window starts at input column ${j * s}` }, r, true);
      }
      const notes = node("p", { class: "lcs-notes" }, figure);
      let text = `Grey: padding. The coloured windows are the first positions along the top row (point at ` +
        `an output cell of the top row to see its window); window j starts at column j·s.`;
      if (reach < size) {
        text += ` The last ${size - reach} column(s) and row(s) (tinted red) are never covered: the next ` +
          `window would run past the edge, which is what the floor in the formula throws away.`;
      }
      notes.textContent = text;
      return res;
    }

    host.lenetConvShape = {
      set(v) {
        for (const key of Object.keys(v)) { inputs[key].input.value = v[key]; inputs[key].out.textContent = String(v[key]); }
        return draw();
      },
    };
    draw();
  }

  function init() {
    for (const host of document.querySelectorAll(".lenet-conv-shape")) { setup(host); }
  }

  window.lenetConvShape = {
    outputSize,
    limits: LIMITS,
    set: (host, v) => host.lenetConvShape.set(v),
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
