"""The package's layering: the core never imports a chapter or a command, no chapter imports another."""
import ast
from pathlib import Path

import lenet_utils

ROOT = Path(lenet_utils.__file__).parent
CHAPTERS = ["background", "input_layer", "convolution", "pooling", "fully_connected", "activations", "innovations",
            "lenet5", "reproduction"]


def _relative_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    return [(node.level, node.module or "") for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]


def test_one_module_per_chapter():
    assert sorted(p.stem for p in (ROOT / "chapters").glob("*.py") if p.stem != "__init__") == sorted(CHAPTERS)


def test_the_core_imports_no_chapter_and_no_command():
    for path in ROOT.glob("*.py"):
        for level, module in _relative_imports(path):
            assert level == 1 and not module.startswith(("chapters", "cli")), (path.name, module)
        assert "lenet_utils.chapters" not in path.read_text().replace("``lenet_utils.chapters``", ""), path.name


def test_a_chapter_imports_only_the_core():
    for name in CHAPTERS:
        for level, module in _relative_imports(ROOT / "chapters" / f"{name}.py"):
            # from ..core_module import ...: level 2; a level-1 import would be another chapter
            assert level == 2 and module and not module.startswith(("chapters", "cli")), (name, module)
