"""Sphinx extension: ``$LENET_CELL_TIMEOUT`` overrides ``execute.timeout`` for one build.

Loaded from ``_config.yml`` (``sphinx.local_extensions``); not part of the rendered book.

``execute.timeout`` in ``_config.yml`` is the per-cell time limit of the build and (through
``scripts/test.sh``) of nbval, chosen a little above the slowest cell on a machine that is
not busy with other work (book/AUTHORING.md, "Time limit per cell"). On a machine loaded
with other jobs the training cells run many times slower; raise the limit for that run:

    LENET_CELL_TIMEOUT=900 bash scripts/test.sh
"""
from __future__ import annotations

import os

from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)
VARIABLE = "LENET_CELL_TIMEOUT"


def cell_timeout_from_env(environ=os.environ) -> int | None:
    """The override in seconds, None when unset; a clear error when it is not a whole number."""
    value = environ.get(VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{VARIABLE} must be a whole number of seconds (for example 900), not {value!r}")
    return int(value)


def _apply(app, config) -> None:
    seconds = cell_timeout_from_env()
    if seconds is not None:
        logger.info(f"{VARIABLE}={seconds}: per-cell time limit {seconds} s instead of "
                    f"execute.timeout {config.nb_execution_timeout} s")
        config.nb_execution_timeout = seconds


def setup(app):
    app.connect("config-inited", _apply)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
