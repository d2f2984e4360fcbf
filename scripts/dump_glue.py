"""Print every glued value of every chapter, or compare two such dumps.

Every number in the book's prose is glued (``myst_nb.glue``) by an executed cell, so the glued
values are the chapters' results. This tool lists them, one ``notebook<TAB>name<TAB>value`` line
each, so that a change to ``lenet_utils`` can be checked against them:

    python scripts/dump_glue.py                         # from the last book build (_build/jupyter_execute)
    python scripts/dump_glue.py --execute OUT > a.tsv   # execute every notebook now into OUT first
    python scripts/dump_glue.py --compare a.tsv b.tsv   # what differs between two dumps

Executing runs each notebook of ``notebooks/`` with its folder as working directory, as the book
build does (``MPLBACKEND`` is dropped, ``LENET_DATA`` is passed on). ``--compare`` lists every
value that differs; values whose name says they are a timing (seconds, speed, milliseconds) are
listed apart, since they differ from run to run by nature. It exits 1 when a non-timing value
differs or a value is missing on one side.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BUILT = ROOT / "_build" / "jupyter_execute" / "notebooks"
TIMING = re.compile(r"seconds|speed|_ms$")


def glued(path: Path) -> list[tuple[str, str]]:
    """(name, text/plain value) of every glue output in an executed notebook, in cell order.

    The book build moves them out of the notebook into ``<stem>.glue.json`` beside it."""
    sidecar = path.with_suffix(".glue.json")
    if sidecar.is_file():
        return [(name, output["data"].get("text/plain", ""))
                for name, output in json.loads(sidecar.read_text(encoding="utf-8")).items()]
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if "name" in scrap:  # glue(display=False) keys its data by a prefixed mime type
                data = output["data"]
                out.append((scrap["name"], data.get(scrap.get("mime_prefix", "") + "text/plain",
                                                    data.get("text/plain", ""))))
    return out


def execute(notebook: Path, dest: Path, timeout: int = 1200) -> Path:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    os.environ.pop("MPLBACKEND", None)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / notebook.name
    nbformat.write(nb, path)
    return path


def read_dump(path: Path) -> dict[tuple[str, str], str]:
    rows = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        notebook, name, value = line.split("\t", 2)
        rows[(notebook, name)] = value
    return rows


def compare(a: Path, b: Path) -> int:
    before, after = read_dump(a), read_dump(b)
    changed, timings, missing = [], [], []
    for key in list(before) + [k for k in after if k not in before]:
        if key not in before or key not in after:
            missing.append(f"{key[0]} {key[1]}: only in {'the second' if key in after else 'the first'} dump")
        elif before[key] != after[key]:
            line = f"{key[0]} {key[1]}: {before[key]} -> {after[key]}"
            (timings if TIMING.search(key[1]) else changed).append(line)
    print(f"{len(before)} values before, {len(after)} after; {len(changed)} changed, {len(missing)} missing, "
          f"{len(timings)} timings differ")
    for title, lines in (("changed", changed), ("missing", missing), ("timings (differ by nature)", timings)):
        if lines:
            print(f"\n{title}:")
            print("\n".join(f"  {line}" for line in lines))
    return 1 if changed or missing else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help="executed notebooks or folders of them (default: the last build's)")
    parser.add_argument("--execute", type=Path, metavar="OUT",
                        help="execute the notebooks of notebooks/ (or the given ones) into OUT first")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two dumps")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.execute:
        sources = args.paths or sorted(NOTEBOOKS.glob("*.ipynb"))
        for nb in sources:  # print each notebook's values as soon as it has run
            print(f"executing {nb.name}", file=sys.stderr, flush=True)
            _print(execute(nb.resolve(), args.execute))
        return 0
    paths = []
    for p in args.paths or [BUILT]:
        paths += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    if not paths:
        print("no executed notebooks found: build the book or pass --execute OUT", file=sys.stderr)
        return 1
    for path in paths:
        _print(path)
    return 0


def _print(path: Path) -> None:
    for name, value in glued(path):
        print(f"{path.stem}\t{name}\t{value}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
