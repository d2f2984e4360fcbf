"""Markdown tables for the chapters' results (shown with ``IPython.display.Markdown``)."""
from __future__ import annotations


def _cell(value, spec: str | None) -> str:
    if spec is not None:
        return format(value, spec)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(rows, formats: dict | str | None = None, index_name: str | None = None) -> str:
    """A Markdown table from a list of dicts (one per row, columns in the first row's key order) or from
    a dict of dicts ({row name: {column: value}}, the row names in a first column ``index_name``).

    ``formats`` maps a column to a format spec (e.g. ``{"acc": ".2%"}``); other floats get 4 significant
    digits and ints a thousands separator. For a dict of dicts the second positional argument may be
    the index name, as in ``markdown_table(rows, "layer")``.
    """
    if isinstance(formats, str):
        formats, index_name = None, formats
    formats = formats or {}
    if not rows:
        raise ValueError("rows is empty: give a list of dicts or a {row name: {column: value}} dict")
    if isinstance(rows, dict):
        first = index_name or ""
        rows = [{first: name, **row} for name, row in rows.items()]
    columns = list(dict.fromkeys(col for row in rows for col in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, ""), formats.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
