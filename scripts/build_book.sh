#!/usr/bin/env bash
# Build The LeNet Book into _build/html/ with every notebook executed.
#   1. bash scripts/setup.sh        (.venv with requirements.txt and lenet_utils)
#   2. bash scripts/vendor_js.sh    (MathJax, widget manager, RequireJS -> book/_vendor/)
#   3. python -m lenet_utils.cli.export  (the LeNet explorer's ONNX models and test digits -> book/_generated/)
#   4. .venv/bin/jupyter-book build .
#   5. python scripts/cjk_font.py   (the web font for the book's Chinese characters -> _build/html/_static/)
# Notebook results are cached in _build/.jupyter_cache, so a rebuild re-runs only
# the notebooks that changed; when lenet_utils/ or results/ changed since the last
# build, scripts/notebook_cache.sh drops the cache and every notebook runs again.
# Pass --all to rebuild every page from scratch (cached executions are still
# reused), or --no-setup to skip step 1.
# A cell that raises fails the build (allow_errors: false in _config.yml), and so
# does any Sphinx warning (-W: an unknown glossary term, citation key, label or
# directive would otherwise render silently wrong); --keep-going lists them all.
# JUPYTER_BOOK overrides the jupyter-book executable (default .venv/bin/jupyter-book).
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1
jb_args=()
for arg in "$@"; do
  case "$arg" in
    --no-setup) setup=0 ;;
    --all) jb_args+=(--all) ;;
    *) echo "usage: bash scripts/build_book.sh [--no-setup] [--all]" >&2; exit 2 ;;
  esac
done

if [[ $setup == 1 ]]; then
  bash scripts/setup.sh
fi
bash scripts/vendor_js.sh

JUPYTER_BOOK=${JUPYTER_BOOK:-.venv/bin/jupyter-book}
# The notebooks read MNIST from the data root that lenet_utils resolves ($LENET_DATA, else data/ in the
# repository), the same for the scripts, the tests and the notebooks; exported as an absolute path so
# that the kernels, which run in notebooks/, find the same folder.
python_bin="$(dirname "$JUPYTER_BOOK")/python"
[[ -x $python_bin ]] || python_bin=python3
LENET_DATA="$("$python_bin" -c 'from lenet_utils.data import data_root; print(data_root().resolve())')"
export LENET_DATA
echo "build_book.sh: LENET_DATA=$LENET_DATA"
# A non-interactive MPLBACKEND (e.g. Agg, as test scripts often export) would reach
# the notebook kernels, and plt.show() would then put no figure on the page.
unset MPLBACKEND

# The cache knows only the notebooks' code: a page must never show outputs of older
# lenet_utils code or older results, so a change there re-executes every notebook.
if ! bash scripts/notebook_cache.sh check; then
  jb_args+=(--all)
fi

# _build/.build-failed marks a failed build, so tests/test_site.py rebuilds instead
# of testing pages a failed build left behind.
mkdir -p _build
touch _build/.build-failed
start=$(date +%s)
# The explorer page (book/explorer.md) runs the trained models in the browser: export them from the
# committed checkpoints (skipped when nothing changed).
"$python_bin" -m lenet_utils.cli.export --out book/_generated/lenet-explorer-data
"$JUPYTER_BOOK" build . -W --keep-going "${jb_args[@]}"
"$python_bin" scripts/cjk_font.py _build/html
rm -f _build/.build-failed
bash scripts/notebook_cache.sh stamp
echo "build_book.sh: site built in $(( $(date +%s) - start )) s: $PWD/_build/html/index.html"
