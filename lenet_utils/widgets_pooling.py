"""Widget of the pooling chapter: pick a trained pooling variant, a layer, a shift and a direction, and
see the maps of a digit and of its moved copy (``pooling.plot_shift_maps``)."""
from __future__ import annotations

import ipywidgets as widgets

from .pooling import DIRECTIONS, plot_shift_maps
from .widgets_conv import interactive_figure


def shift_maps_for(models: dict, images, variant: str, index: int = 0, shift: int = 2, layer: str = "s2",
                   direction: str = "right"):
    """``plot_shift_maps`` for ``models[variant]`` and raw digit ``images[index]`` (a pure Figure function)."""
    if variant not in models:
        raise ValueError(f"no model for variant {variant!r}; trained variants are {list(models)}")
    if not 0 <= index < len(images):
        raise ValueError(f"index must be in 0..{len(images) - 1}, got {index}")
    return plot_shift_maps(models[variant], images[index], shift=shift, layer=layer, direction=direction)


def shift_maps_widget(models: dict, images, layers=("s2", "s4"), max_shift: int = 4):
    """Menus for the variant, layer and direction and sliders for the digit and the shift over
    ``shift_maps_for``. ``models`` maps a variant name to a trained PoolingLeNet; ``images`` are raw
    uint8 digits [N, 28, 28]."""
    if not models:
        raise ValueError("models is empty: pass {variant: trained model}")
    if len(images) == 0:
        raise ValueError("images is empty: pass raw test digits uint8 [N, 28, 28]")
    return interactive_figure(
        shift_maps_for,
        models=widgets.fixed(models), images=widgets.fixed(images),
        variant=widgets.Dropdown(options=list(models), description="pooling"),
        index=widgets.IntSlider(0, 0, len(images) - 1, description="digit", continuous_update=False),
        shift=widgets.IntSlider(2, 0, max_shift, description="shift (px)", continuous_update=False),
        layer=widgets.Dropdown(options=list(layers), description="layer"),
        direction=widgets.Dropdown(options=list(DIRECTIONS), description="direction"),
    )


__all__ = ["shift_maps_for", "shift_maps_widget"]
