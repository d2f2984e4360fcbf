"""Output-size formulas for convolution and pooling, receptive fields, and layer-by-layer shape tables."""
from __future__ import annotations

import torch
from torch import nn

from .hooks import record_calls


def _check(n, kernel, padding, stride, dilation=1, what="convolution", check_fit=True):
    for name, value in (("input size n", n), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not isinstance(padding, int) or isinstance(padding, bool):
        raise ValueError(f"padding must be an integer, got {padding!r}")
    if n <= 0:
        raise ValueError(f"input size n must be positive, got n={n}")
    if kernel <= 0:
        raise ValueError(f"kernel must be positive, got kernel={kernel}")
    if stride <= 0:
        raise ValueError(
            f"stride must be at least 1, got stride={stride}: the {what} output size floor((n + 2p - k) / s) + 1 "
            f"divides by the stride s."
        )
    if dilation <= 0:
        raise ValueError(f"dilation must be at least 1, got dilation={dilation}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0 (pixels added on each side), got padding={padding}")
    span = dilation * (kernel - 1) + 1
    if check_fit and span > n + 2 * padding:
        raise ValueError(
            f"kernel {kernel} (spanning {span} pixels) does not fit in the padded input n + 2p = {n} + 2*{padding} "
            f"= {n + 2 * padding}: the {what} output size floor((n + 2p - k) / s) + 1 would be below 1. "
            f"Use a smaller kernel or more padding."
        )


def conv_output_size(n: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """Output height (or width) of a convolution, as PyTorch's nn.Conv2d counts it.

    ``padding`` is per side: out = floor((n + 2*padding - dilation*(kernel-1) - 1) / stride) + 1.
    """
    _check(n, kernel, padding, stride, dilation)
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_output_size_total_padding(n: int, kernel: int, total_padding: int = 0, stride: int = 1) -> int:
    """The second source document's form: floor((n_h - k_h + p_h + s_h) / s_h), with p_h the padding
    added on both sides together (p_h = 2 * padding when both sides get the same)."""
    if not isinstance(total_padding, int) or total_padding < 0:
        raise ValueError(f"total padding p_h must be an integer >= 0, got {total_padding!r}")
    _check(n, kernel, 0, stride, check_fit=False)
    if kernel > n + total_padding:
        raise ValueError(
            f"kernel {kernel} does not fit in the padded input n_h + p_h = {n} + {total_padding}: "
            f"floor((n_h - k_h + p_h + s_h) / s_h) would be below 1."
        )
    return (n - kernel + total_padding + stride) // stride


def pool_output_size(n: int, kernel: int, stride: int | None = None, padding: int = 0, ceil_mode: bool = False) -> int:
    """Output size of max/average pooling as nn.MaxPool2d/nn.AvgPool2d count it (stride defaults to kernel)."""
    stride = kernel if stride is None else stride
    # In ceil mode PyTorch keeps a window that starts inside the input even if it runs past the end,
    # so a window longer than the padded input can still give one output.
    _check(n, kernel, padding, stride, what="pooling", check_fit=not ceil_mode)
    if padding * 2 > kernel:
        raise ValueError(f"pooling padding must be at most half the kernel (PyTorch's rule), got p={padding}, k={kernel}")
    size = (n + 2 * padding - kernel + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (size - 1) * stride >= n + padding:  # the last window may not start in the padding
        size -= 1
    if size < 1:
        raise ValueError(f"kernel {kernel} does not fit in the padded input n + 2p = {n + 2 * padding}: "
                         f"the pooling output size would be {size}.")
    return size


def receptive_field_sizes(layers) -> list[int]:
    """Receptive field of one unit after each layer, for a stack of (kernel, stride) pairs:
    r_l = r_{l-1} + (k_l - 1) * j_{l-1}, with j_l = j_{l-1} * s_l the layer's step in input pixels (r_0 = j_0 = 1)."""
    sizes, r, jump = [], 1, 1
    for item in layers:
        if len(item) != 2 or any(not isinstance(v, int) or v < 1 for v in item):
            raise ValueError(f"each layer must be a (kernel, stride) pair of positive integers, got {item!r}")
        kernel, stride = item
        r += (kernel - 1) * jump
        jump *= stride
        sizes.append(r)
    return sizes


def layer_table(model: nn.Module, input_size=(1, 1, 28, 28), depth: int = 1) -> list[dict]:
    """One row per layer: name, type, output shape and trainable parameter count (via torchinfo).

    ``depth`` is how deep to descend into nested modules (1 = the model's direct children).
    """
    from torchinfo import summary

    stats = summary(model, input_size=tuple(input_size), depth=depth, verbose=0, device="cpu")
    names = {id(module): name for name, module in model.named_modules()}
    rows = []
    for info in stats.summary_list:
        # Keep leaves, and containers cut off at ``depth``, so every parameter is counted exactly once.
        is_leaf = not any(True for _ in info.module.children())
        if info.depth == 0 or info.depth > depth or not (is_leaf or info.depth == depth):
            continue
        rows.append({
            "name": names.get(id(info.module), info.var_name),
            "type": info.class_name,
            "output_shape": tuple(info.output_size),
            "params": sum(p.numel() for p in info.module.parameters() if p.requires_grad),
        })
    return rows


def trace_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple]]:
    """Run ``x`` through the model's leaf modules and record (name, output shape) in call order."""
    _, calls = record_calls(model, x)
    return [(call.name, tuple(call.output.shape)) for call in calls]


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["conv_output_size", "conv_output_size_total_padding", "pool_output_size", "receptive_field_sizes",
           "layer_table", "trace_shapes", "count_parameters"]
