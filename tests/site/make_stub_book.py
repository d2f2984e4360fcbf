"""Make a scratch copy of the book in which every missing chapter is a small stub.

Used to test the site infrastructure (config, vendored JS, browser test) before the
real chapters exist, or independently of them:

    python tests/site/make_stub_book.py DEST      # default: lenet-stub-book in the system's temp folder
    cd DEST && bash scripts/vendor_js.sh && jupyter-book build .

Each stub notebook has what the real chapters use: inline and numbered display
math, a numbered matplotlib figure referenced with {numref}, a widget cell that
follows the book's convention (tag ``remove-output`` plus a note), an exercise with
a dropdown solution, a glossary link and a citation. Stubs are never committed.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[2]
COPY = ["_config.yml", "_toc.yml", "book", "package.json", "package-lock.json", "scripts"]


def stub_notebook(stem: str, title: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    lab = stem.replace("_", "-")
    md = nbformat.v4.new_markdown_cell
    code = nbformat.v4.new_code_cell
    nb.cells = [
        md(f"# {title}\n\nA stub page for `{stem}`. A {{term}}`convolution` slides a "
           f"{{term}}`kernel <kernel>` over the input {{cite:p}}`lecun1998gradient`. "
           f"Inline math $y = \\tanh(a)$ and a numbered equation:\n\n"
           f"$$\nf(a) = A \\tanh(S a), \\qquad A = 1.7159\n$$ (eq-{lab})\n\n"
           f"Equation {{eq}}`eq-{lab}` is the squashing function; {{numref}}`fig-{lab}` plots it. "
           f"See {{cite:t}}`zhang2023dive`, exercise {{ref}}`ex-{lab}-1`, the "
           f"[first chapter](01_background.ipynb) and {{doc}}`the glossary </book/glossary>`."),
        code("import numpy as np\nimport matplotlib.pyplot as plt\n"
             "a = np.linspace(-3, 3, 200)\n"
             "fig, ax = plt.subplots(figsize=(4, 2.5))\n"
             "ax.plot(a, 1.7159 * np.tanh(2 * a / 3))\nax.set_xlabel('a')\nplt.show()",
             metadata={"mystnb": {"figure": {"caption": "The squashing function.", "name": f"fig-{lab}"}}}),
        md("```{note}\n**Interactive figure.** Run this notebook live in JupyterLab to use the "
           "widget below; this page shows the figure above at the widget's default settings "
           "({doc}`how to run the book live </book/intro>`).\n```"),
        code("import ipywidgets as widgets\n"
             "slider = widgets.IntSlider(value=3, min=1, max=7, description='kernel')\n"
             "out = widgets.Output()\n"
             "display(widgets.VBox([slider, out]))",
             metadata={"tags": ["remove-output"]}),
        md(f"## Exercises\n\n```{{exercise}}\n:label: ex-{lab}-1\n\n"
           f"What is $f(1)$ for the squashing function?\n```\n\n"
           f"```{{solution}} ex-{lab}-1\n:class: dropdown\n\n"
           f"It is $1$, by the choice of $A$ and $S$: $f(1) = 1.7159 \\tanh(2/3) \\approx 1$.\n```"),
    ]
    if stem.startswith("00"):
        # One widget left visible on purpose: checks that the vendored widget manager
        # draws it from the saved state with no network (and no font 404s).
        nb.cells.append(code("widgets.IntSlider(value=5, min=0, max=10, description='visible')"))
    return nb


def toc_files(toc: dict) -> list[str]:
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for ch in part.get("chapters", []):
            files.append(ch["file"])
            files += [s["file"] for s in ch.get("sections", []) if "file" in s]
    return files


def main(dest: str, real: set[str] | None = None) -> None:
    """Copy the book to dest; chapters missing here (or not in ``real``) become stubs.

    ``real``: names of the existing chapters to copy (default: all). dest/_build is
    kept, so executed notebooks stay cached between runs.
    """
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child.name not in ("_build", "node_modules"):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=shutil.ignore_patterns("_vendor", "__pycache__"))
        elif src.exists():
            shutil.copy2(src, out / name)
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for f in toc_files(toc):
        stem = Path(f).name
        have = [p for p in (ROOT / (f + ext) for ext in (".ipynb", ".md")) if p.exists()]
        if have and (real is None or stem in real or not f.startswith("notebooks/")):
            dst = out / have[0].relative_to(ROOT)
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(have[0], dst)
            continue
        target = out / (f + ".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(stub_notebook(stem, stem.replace("_", " ").title()), target)
    print(f"stub book in {out}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest", nargs="?", default=str(Path(tempfile.gettempdir()) / "lenet-stub-book"))
    ap.add_argument("--real", default=None,
                    help="comma-separated chapters to copy as they are (default: every existing one); "
                         "'' for stubs only")
    args = ap.parse_args()
    real = None if args.real is None else {r.strip() for r in args.real.split(",") if r.strip()}
    main(args.dest, real)
