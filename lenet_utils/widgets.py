"""The book's one way to make a figure interactive.

A chapter draws each figure with a pure function that takes plain arguments and returns a matplotlib
Figure (the website shows it at the default settings). ``interactive_figure`` puts ipywidgets controls
on such a function for a live notebook. ipywidgets is imported only when a widget is built, so the rest
of ``lenet_utils`` works without it.
"""
from __future__ import annotations

import matplotlib.pyplot as plt


def interactive_figure(figure_fn, /, **controls):
    """``ipywidgets.interactive`` over ``figure_fn(**kwargs) -> Figure``. ``controls`` maps each argument to
    a widget, an ipywidgets abbreviation (``(lo, hi, step)``, a list of options, a bool) or
    ``ipywidgets.fixed(value)``. Every change shows the new figure exactly once: it is closed before it is
    displayed, so the inline backend does not draw it a second time."""
    import ipywidgets
    from IPython.display import display

    def show(**kwargs):
        fig = figure_fn(**kwargs)
        plt.close(fig)
        display(fig)

    return ipywidgets.interactive(show, **controls)


__all__ = ["interactive_figure"]
