"""Export what the LeNet explorer page runs: ``python -m lenet_utils.cli.export --out DIR``.

Writes the trained models as ONNX graphs (every layer's output a named graph output), their metadata and
100 MNIST test digits into DIR (``lenet_utils.export.export_explorer``); ``scripts/build_book.sh`` runs it
with DIR = book/_generated/lenet-explorer-data before building the site. Skipped when DIR is up to date.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..export import RESULTS, export_explorer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="folder to write the ONNX files and JSON into")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results folder holding the checkpoints")
    parser.add_argument("--force", action="store_true", help="export even if the folder is up to date")
    args = parser.parse_args(argv)
    export_explorer(args.out, args.results, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
