"""ipywidgets wrappers for chapter 6: an activation and its derivative; recorded gradient norms."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .activations import ACTIVATIONS, plot_activation, plot_grad_norms


def _once(fig):
    plt.close(fig)  # displayed once, as the returned value
    return fig


def activation_widget():
    """Pick an activation and an input range; redraws ``plot_activation``."""
    def show(name="sigmoid", input_range=(-5.0, 5.0)):
        return _once(plot_activation(name, *input_range))

    return widgets.interactive(
        show,
        name=widgets.Dropdown(options=list(ACTIVATIONS), value="sigmoid", description="activation"),
        input_range=widgets.FloatRangeSlider(value=(-5.0, 5.0), min=-20.0, max=20.0, step=0.5,
                                             description="x range", continuous_update=False),
    )


def grad_norm_widget(records: dict):
    """Pick one of the recorded runs (``compare_activations``' result); redraws ``plot_grad_norms``."""
    if not records:
        raise ValueError("records is empty: run compare_activations first and pass its result")

    def show(name=next(iter(records))):
        return _once(plot_grad_norms(records, [name]))

    return widgets.interactive(show, name=widgets.Dropdown(options=list(records), description="activation"))


__all__ = ["activation_widget", "grad_norm_widget"]
