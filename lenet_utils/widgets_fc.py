"""ipywidgets wrapper for chapter 5: follow a batch's shape through a LeNet."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .fully_connected import plot_shape_flow
from .models import MODELS


def shape_flow_widget():
    """Pick a model and a batch size; redraws ``plot_shape_flow``."""
    def show(model_name="LeNet5Classic", batch_size=256):
        fig = plot_shape_flow(model_name, batch_size)
        plt.close(fig)  # displayed once, as the returned value
        return fig

    return widgets.interactive(
        show,
        model_name=widgets.Dropdown(options=sorted(MODELS), value="LeNet5Classic", description="model"),
        batch_size=widgets.IntSlider(value=256, min=1, max=1024, step=1, description="batch size",
                                     continuous_update=False),
    )


__all__ = ["shape_flow_widget"]
