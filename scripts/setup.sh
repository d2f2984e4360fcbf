#!/usr/bin/env bash
# Create (or reuse) .venv and install everything the book and its tests need.
# Usage: bash scripts/setup.sh            (Python packages)
#        WITH_BROWSER=1 bash scripts/setup.sh   (also Chromium for the site test, via apt when run as root)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  .venv/bin/python -m pip install --quiet --no-deps -e .
  echo "$want" > "$stamp"
fi
.venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (LeNet Book)" >/dev/null
# System packages for the tests: Chromium for the site test, Fashion-MNIST for offline data tests.
if [ "${WITH_BROWSER:-0}" = "1" ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "Missing system packages for the tests: install them with 'sudo apt-get install -y ${missing[*]}'." >&2
    fi
  fi
fi
echo "setup done: $(.venv/bin/python -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)')"
