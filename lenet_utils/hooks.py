"""What each layer of a model computes, caught with forward hooks during one forward pass.

``record_calls`` is the one place the book registers forward hooks: shape traces, feature maps, the
layer probes and the shift measurements are all read from the calls it records.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class LayerCall(NamedTuple):
    """One call of a submodule during the forward pass."""

    name: str             # the module's name in model.named_modules(), e.g. "features.0"
    module: nn.Module
    input: torch.Tensor   # its first positional input
    output: torch.Tensor


def record_calls(model: nn.Module, x: torch.Tensor, layers=None, grad: bool = False
                 ) -> tuple[torch.Tensor, list[LayerCall]]:
    """Run ``model(x)`` once in eval mode and record every call of the named submodules (every leaf module
    when ``layers`` is None), in call order: returns (the model's output, [LayerCall, ...]). A module that
    runs twice is recorded twice. Without ``grad`` the pass runs under ``torch.no_grad()``. The model's
    train/eval mode is restored afterwards, even when the forward pass raises."""
    modules = dict(model.named_modules())
    if layers is None:
        names = [name for name, module in modules.items() if name and next(module.children(), None) is None]
    else:
        names = list(layers)
        missing = [name for name in names if name not in modules]
        if missing:
            raise ValueError(f"no layer named {missing} in {type(model).__name__}; layers are {list(modules)[1:]}")
    calls: list[LayerCall] = []
    hooks = [modules[name].register_forward_hook(
        lambda module, inputs, output, name=name: calls.append(
            LayerCall(name, module, inputs[0] if inputs else None, output)))
        for name in names]
    was_training = model.training
    model.eval()
    try:
        with torch.set_grad_enabled(grad):
            output = model(x)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return output, calls


def capture_activations(model: nn.Module, x: torch.Tensor, layers) -> dict[str, torch.Tensor]:
    """Outputs of the named submodules for input ``x`` (detached, on the CPU), in eval mode."""
    _, calls = record_calls(model, x, layers)
    return {call.name: call.output.detach().cpu() for call in calls}


__all__ = ["LayerCall", "record_calls", "capture_activations"]
