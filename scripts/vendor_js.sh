#!/usr/bin/env bash
# Fetch the pinned browser libraries the book site serves itself and copy what the
# site needs into book/_vendor/ (git-ignored), which _config.yml lists in
# html_static_path. Versions are pinned in package.json / package-lock.json:
#   mathjax 3.2.2                        -> book/_vendor/mathjax/       (es5/ bundle + fonts)
#   @jupyter-widgets/html-manager 1.0.15 -> book/_vendor/html-manager/  (embed-amd.js + icon fonts)
#   requirejs 2.3.8                      -> book/_vendor/requirejs/require.js
#   onnxruntime-web 1.30.0               -> book/_vendor/ort/  (the plain WebAssembly build, for the LeNet explorer)
#   @fontsource-variable/noto-sans-sc    stays in node_modules/: scripts/cjk_font.py subsets it after the build
# Needs node/npm and access to the npm registry (or a warm npm cache). Without npm it installs
# Debian's nodejs and npm with apt when run as root, else stops with the command to run.
# Usage: bash scripts/vendor_js.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENDOR=book/_vendor
STAMP=$VENDOR/.stamp

if ! command -v npm >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "vendor_js.sh: npm not found; installing Debian's nodejs and npm with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "vendor_js.sh: npm not found. Install Node.js and npm, e.g. on Debian/Ubuntu: sudo apt-get install -y nodejs npm" >&2
    exit 1
  fi
fi

want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ "${1:-}" != "--force" && -f $STAMP && "$(cat "$STAMP")" == "$want" \
      && -f $VENDOR/mathjax/tex-chtml.js && -f $VENDOR/html-manager/embed-amd.js \
      && -f $VENDOR/requirejs/require.js && -d book/_vendor_extra/notebooks/@jupyter-widgets \
      && -f $VENDOR/ort/ort.wasm.min.js && -f node_modules/@fontsource-variable/noto-sans-sc/unicode.json ]]; then
  echo "vendor_js.sh: $VENDOR is up to date"
  exit 0
fi

echo "vendor_js.sh: npm ci (pinned by package-lock.json)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

NM=$ROOT/node_modules
rm -rf "$VENDOR"
mkdir -p "$VENDOR/mathjax" "$VENDOR/html-manager" "$VENDOR/requirejs" "$VENDOR/ort"

# MathJax: the whole es5/ folder (tex-chtml.js loads its fonts from output/chtml/fonts/
# and extensions from input/tex/extensions/ relative to itself).
cp -R "$NM/mathjax/es5/." "$VENDOR/mathjax/"
cp "$NM/mathjax/LICENSE" "$VENDOR/mathjax/LICENSE"

# Widget manager: embed-amd.js plus the webpack assets beside it (icon fonts, svgs).
HM=$NM/@jupyter-widgets/html-manager
cp "$HM/dist/embed-amd.js" "$VENDOR/html-manager/"
find "$HM/dist" -maxdepth 1 -type f \
  \( -name '*.woff' -o -name '*.woff2' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) \
  -exec cp {} "$VENDOR/html-manager/" \;
cp "$HM/LICENSE" "$VENDOR/html-manager/LICENSE" 2>/dev/null || true

cp "$NM/requirejs/require.js" "$VENDOR/requirejs/require.js"

# onnxruntime-web, for the LeNet explorer page only: the WebAssembly-only build (no WebGL, WebGPU or
# WebNN) and the one runtime it loads, ort-wasm-simd-threaded.{mjs,wasm}, which also runs on one thread
# (a plain http.server sends no cross-origin isolation headers, so the page sets numThreads = 1).
ORT=$NM/onnxruntime-web
cp "$ORT/dist/ort.wasm.min.js" "$ORT/dist/ort-wasm-simd-threaded.mjs" "$ORT/dist/ort-wasm-simd-threaded.wasm" \
   "$VENDOR/ort/"
node -p "const p = require('$ORT/package.json'); p.name + ' ' + p.version + ', ' + p.license + ' license (Copyright (c) Microsoft Corporation), ' + p.repository.url" \
  > "$VENDOR/ort/LICENSE.txt"

# The widget CSS sometimes asks for its icon fonts relative to the page, as
# <page folder>/@jupyter-widgets/<hash>.woff2, before lenet-widgets-offline.js has
# re-pointed the asset path. Serve copies there too (html_extra_path in _config.yml),
# for every folder that holds pages, so no such request can 404.
EXTRA=book/_vendor_extra
rm -rf "$EXTRA"
for folder in . notebooks book; do
  mkdir -p "$EXTRA/$folder/@jupyter-widgets"
  find "$HM/dist" -maxdepth 1 -type f \( -name '*.woff' -o -name '*.woff2' -o -name '*.ttf' -o -name '*.eot' \) \
    -exec cp {} "$EXTRA/$folder/@jupyter-widgets/" \;
done

echo "$want" > "$STAMP"
echo "vendor_js.sh: vendored $(du -sh "$VENDOR" | cut -f1) into $VENDOR"
