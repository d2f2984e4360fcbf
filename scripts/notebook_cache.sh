#!/usr/bin/env bash
# Keep the executed-notebook cache honest. Jupyter Book's cache (_build/.jupyter_cache) keys each
# executed notebook on its own code cells only, but what a notebook prints also depends on lenet_utils/
# and on the committed results/. This script fingerprints both folders (every file's content, tracked or
# not, __pycache__ left out):
#   bash scripts/notebook_cache.sh check   exit 0 if the cache was made with the current lenet_utils/ and
#                                          results/; otherwise delete the cache and exit 1 (the caller
#                                          then re-reads every page: jupyter-book build --all)
#   bash scripts/notebook_cache.sh stamp   record the fingerprint after a successful build
# Run from the repository root (scripts/build_book.sh does both).
set -euo pipefail
CACHE=_build/.jupyter_cache
STAMP=_build/.notebook-deps.sha256

fingerprint() {
  find lenet_utils results -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 2>/dev/null \
    | sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1
}

case "${1:-}" in
  check)
    if [[ -f $STAMP && "$(cat "$STAMP")" == "$(fingerprint)" ]]; then
      exit 0
    fi
    echo "notebook_cache.sh: lenet_utils/ or results/ changed since the last build: dropping $CACHE" >&2
    rm -rf "$CACHE" "$STAMP"
    exit 1 ;;
  stamp)
    mkdir -p "$(dirname "$STAMP")"
    fingerprint > "$STAMP" ;;
  *)
    echo "usage: bash scripts/notebook_cache.sh check|stamp" >&2
    exit 2 ;;
esac
