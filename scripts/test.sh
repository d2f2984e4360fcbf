#!/usr/bin/env bash
# Set everything up and run every test: the unit tests, the notebooks live in JupyterLab and
# the rendered site in headless Chromium (pytest tests), then every notebook under nbval.
# Extra arguments go to the first pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_BROWSER=1 bash scripts/setup.sh
# The data root as lenet_utils resolves it ($LENET_DATA, else data/ in the repository), absolute, so that
# the tests and the notebook kernels (which run in notebooks/) read the same folder.
LENET_DATA="$(.venv/bin/python -c 'from lenet_utils.data import data_root; print(data_root().resolve())')"
export LENET_DATA
echo "MNIST data root: $LENET_DATA"
.venv/bin/python -m pytest tests "$@"
# One per-cell time limit for nbval and the build: execute.timeout of _config.yml, or
# $LENET_CELL_TIMEOUT on a busy machine (book/AUTHORING.md, "Time limit per cell").
# A cell past it fails, naming notebook and cell.
cell_timeout=${LENET_CELL_TIMEOUT:-$(.venv/bin/python -c "import yaml; print(yaml.safe_load(open('_config.yml'))['execute']['timeout'])")}
.venv/bin/python -m pytest --nbval notebooks/ --nbval-cell-timeout="$cell_timeout" -p no:cacheprovider
