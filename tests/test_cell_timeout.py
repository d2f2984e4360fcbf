"""$LENET_CELL_TIMEOUT replaces execute.timeout for one build (book/_ext/cell_timeout.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from sphinx.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "book" / "_ext" / "cell_timeout.py"


def load_extension():
    spec = importlib.util.spec_from_file_location("cell_timeout_under_test", EXT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unset_or_empty_keeps_the_configured_limit():
    ext = load_extension()
    assert ext.cell_timeout_from_env({}) is None
    assert ext.cell_timeout_from_env({"LENET_CELL_TIMEOUT": "  "}) is None


def test_a_whole_number_of_seconds_replaces_it(monkeypatch):
    ext = load_extension()
    assert ext.cell_timeout_from_env({"LENET_CELL_TIMEOUT": "900"}) == 900
    monkeypatch.setenv("LENET_CELL_TIMEOUT", "900")
    config = SimpleNamespace(nb_execution_timeout=120)
    ext._apply(None, config)
    assert config.nb_execution_timeout == 900


@pytest.mark.parametrize("bad", ["ten", "-5", "0", "1.5"])
def test_anything_else_is_a_clear_error(bad):
    ext = load_extension()
    with pytest.raises(ConfigError, match=r"LENET_CELL_TIMEOUT must be a whole number of seconds"):
        ext.cell_timeout_from_env({"LENET_CELL_TIMEOUT": bad})


def test_the_build_loads_it_and_nbval_uses_the_same_limit():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert cfg["sphinx"]["local_extensions"]["cell_timeout"] == "book/_ext"
    assert "cell_timeout" in cfg["sphinx"]["config"]["extensions"]
    assert isinstance(cfg["execute"]["timeout"], int) and 0 < cfg["execute"]["timeout"] < 600
    test_sh = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert '--nbval-cell-timeout="$cell_timeout"' in test_sh
    assert "${LENET_CELL_TIMEOUT:-" in test_sh and "['execute']['timeout']" in test_sh
