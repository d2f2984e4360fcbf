"""The executed-notebook cache is invalidated when lenet_utils/ or results/ change (scripts/notebook_cache.sh),
so a build never publishes outputs computed by older library code."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "notebook_cache.sh"


def _cache(repo: Path, *args) -> int:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=repo, capture_output=True, text=True).returncode


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "lenet_utils").mkdir()
    (tmp_path / "lenet_utils" / "__init__.py").write_text("")
    (tmp_path / "lenet_utils" / "answer.py").write_text("VALUE = 41\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "run.json").write_text('{"error": 0.95}\n')
    return tmp_path


def _fill_cache(repo: Path) -> Path:
    cache = repo / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "global.db").write_text("executed notebooks")
    return cache


def test_check_keeps_the_cache_only_while_lenet_utils_and_results_are_unchanged(repo):
    cache = _fill_cache(repo)
    assert _cache(repo, "check") == 1 and not cache.exists()          # no fingerprint yet: nothing is trusted
    _cache(repo, "stamp")
    cache = _fill_cache(repo)
    assert _cache(repo, "check") == 0 and cache.exists()
    pycache = repo / "lenet_utils" / "__pycache__"
    pycache.mkdir()
    (pycache / "answer.cpython-311.pyc").write_bytes(b"compiled")     # byte code does not count
    assert _cache(repo, "check") == 0 and cache.exists()
    for change in (lambda: (repo / "lenet_utils" / "answer.py").write_text("VALUE = 42\n"),
                   lambda: (repo / "results" / "run.json").write_text('{"error": 0.8}\n'),
                   lambda: (repo / "lenet_utils" / "new.py").write_text("")):  # a file git does not know yet
        _cache(repo, "stamp")
        cache = _fill_cache(repo)
        change()
        assert _cache(repo, "check") == 1 and not cache.exists()
    assert _cache(repo, "nonsense") == 2


def _book(repo: Path) -> None:
    (repo / "_config.yml").write_text(
        "title: cache test\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: cache\n"
        "  timeout: 300\n  allow_errors: false\n  run_in_temp: false\n"
        "sphinx:\n  config:\n    nb_execution_raise_on_error: true\n")
    (repo / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: notebooks/page\n")
    (repo / "index.md").write_text("# Cache test\n")
    (repo / "notebooks").mkdir()
    code = ("import sys\nsys.path.insert(0, '..')\nfrom lenet_utils.answer import VALUE\n"
            "print(f'the library says {VALUE}')")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Page"]},
                    {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": [code]}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (repo / "notebooks" / "page.ipynb").write_text(json.dumps(nb))


def _build(repo: Path, guarded: bool) -> str:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    args = []
    if guarded and _cache(repo, "check") != 0:
        args.append("--all")
    subprocess.run([str(jupyter_book if jupyter_book.exists() else shutil.which("jupyter-book")), "build", ".",
                    *args], cwd=repo, check=True, capture_output=True, timeout=600)
    if guarded:
        _cache(repo, "stamp")
    return (repo / "_build" / "html" / "notebooks" / "page.html").read_text()


def test_a_changed_library_function_changes_the_page(repo):
    _book(repo)
    assert "the library says 41" in _build(repo, guarded=True)
    (repo / "lenet_utils" / "answer.py").write_text("VALUE = 42\n")
    # What the cache alone would publish: the old output, since the notebook's code did not change ...
    assert "the library says 41" in _build(repo, guarded=False)
    # ... and what the build publishes with scripts/notebook_cache.sh in front of it, as build_book.sh does.
    page = _build(repo, guarded=True)
    assert "the library says 42" in page and "the library says 41" not in page
