#!/usr/bin/env bash
# Set everything up and run every test: the unit tests, then every notebook under nbval,
# then the rendered-site test in headless Chromium. Extra arguments go to the first pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_BROWSER=1 bash scripts/setup.sh
export LENET_DATA=${LENET_DATA:-$PWD/data}
echo "MNIST data root: $LENET_DATA"
.venv/bin/python -m pytest tests "$@"
.venv/bin/python -m pytest --nbval notebooks/ --nbval-cell-timeout=600 -p no:cacheprovider
