"""Make the web font that shows the book's Chinese characters on machines without a Chinese font.

Run by scripts/build_book.sh after Jupyter Book has written the site:

    .venv/bin/python scripts/cjk_font.py _build/html

It collects every CJK character in the built pages, cuts exactly those glyphs out of Noto Sans SC
(the @fontsource-variable/noto-sans-sc package that scripts/vendor_js.sh installs from npm; the
package splits the font into files by Unicode range), fixes the variable font at weight 400, merges
the pieces into one font and writes it as ``_static/lenet-cjk.woff2``. ``book/_assets/cjk-font.css``
(on every page) declares it as the family "LeNet Book CJK" for the CJK code points only.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FONT_PACKAGE = ROOT / "node_modules" / "@fontsource-variable" / "noto-sans-sc"
OUTPUT = Path("_static") / "lenet-cjk.woff2"
# CJK radicals, symbols and punctuation, kana, ideographs (with extension A), compatibility
# ideographs, fullwidth forms: the same ranges as the unicode-range in book/_assets/cjk-font.css.
CJK_RANGES = ((0x2E80, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))


def is_cjk(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in CJK_RANGES)


def site_characters(site: Path) -> set[str]:
    """Every CJK character in the site's HTML pages (text, titles and attributes alike)."""
    chars: set[str] = set()
    for page in Path(site).rglob("*.html"):
        chars |= {ch for ch in page.read_text(encoding="utf-8", errors="replace") if is_cjk(ch)}
    return chars


def _ranges(css_range: str) -> list[tuple[int, int]]:
    out = []
    for part in css_range.split(","):
        lo, _, hi = part.strip().removeprefix("U+").partition("-")
        out.append((int(lo, 16), int(hi or lo, 16)))
    return out


def source_files(chars: set[str], package: Path = FONT_PACKAGE) -> dict[Path, set[str]]:
    """The package's font files that hold ``chars``, each with the characters it holds."""
    table = package / "unicode.json"
    if not table.is_file():
        raise SystemExit(f"cjk_font.py: {table} not found; run bash scripts/vendor_js.sh (npm ci) first")
    found: dict[Path, set[str]] = {}
    for key, css_range in json.loads(table.read_text()).items():
        spans = _ranges(css_range)
        here = {ch for ch in chars if any(lo <= ord(ch) <= hi for lo, hi in spans)}
        if here:
            found[package / "files" / f"noto-sans-sc-{key.strip('[]')}-wght-normal.woff2"] = here
    missing = chars - set().union(*found.values()) if found else chars
    if missing:
        raise SystemExit(f"cjk_font.py: Noto Sans SC has no glyph for {''.join(sorted(missing))!r}")
    return found


def build_font(chars: set[str], out: Path, package: Path = FONT_PACKAGE, weight: int = 400) -> Path:
    """One woff2 font with exactly the glyphs of ``chars`` (static, at ``weight``)."""
    from fontTools import subset
    from fontTools.merge import Merger
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    with tempfile.TemporaryDirectory() as tmp:
        pieces = []
        for i, (path, here) in enumerate(sorted(source_files(chars, package).items())):
            font = TTFont(path)
            options = subset.Options()
            options.name_IDs = ["*"]
            options.notdef_outline = True
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=sorted(ord(ch) for ch in here))
            subsetter.subset(font)
            font = instancer.instantiateVariableFont(font, {"wght": weight})
            font.flavor = None
            pieces.append(str(Path(tmp) / f"piece{i}.ttf"))
            font.save(pieces[-1])
        merged = Merger().merge(pieces)
    merged.flavor = "woff2"
    out.parent.mkdir(parents=True, exist_ok=True)
    merged.save(str(out))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Subset Noto Sans SC to the CJK characters of the built site.")
    parser.add_argument("site", type=Path, help="the built site, e.g. _build/html")
    args = parser.parse_args(argv)
    chars = site_characters(args.site)
    out = args.site / OUTPUT
    if not chars:
        out.unlink(missing_ok=True)
        print("cjk_font.py: the site has no CJK characters; no font written")
        return 0
    build_font(chars, out)
    print(f"cjk_font.py: {len(chars)} CJK characters -> {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
