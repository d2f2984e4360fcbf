import itertools

import pytest
import torch
from torch import nn

from lenet_utils.models import LeNet5Classic, LeNet5Modern, LeNet5Paper
from lenet_utils.shapes import (conv_output_size, conv_output_size_total_padding, count_parameters, layer_table,
                                pool_output_size, receptive_field_sizes, trace_shapes)


def test_lenet_sizes():
    assert conv_output_size(32, 5) == 28
    assert conv_output_size(28, 5, padding=2) == 28
    assert pool_output_size(28, 2) == 14
    assert conv_output_size(14, 5) == 10 and pool_output_size(10, 2) == 5 and conv_output_size(5, 5) == 1
    assert conv_output_size_total_padding(28, 5, total_padding=4, stride=1) == 28


@pytest.mark.parametrize("n,k,p,s", list(itertools.product([5, 8, 13], [1, 3, 5], [0, 1, 2], [1, 2, 3])))
def test_conv_formulas_match_pytorch(n, k, p, s):
    out = nn.Conv2d(1, 1, k, stride=s, padding=p)(torch.zeros(1, 1, n, n)).shape[-1]
    assert conv_output_size(n, k, p, s) == out
    assert conv_output_size_total_padding(n, k, 2 * p, s) == out


@pytest.mark.parametrize("n,k,s,p,ceil", list(itertools.product([5, 8, 13], [2, 3], [1, 2, 3], [0, 1], [False, True])))
def test_pool_formula_matches_pytorch(n, k, s, p, ceil):
    out = nn.MaxPool2d(k, s, p, ceil_mode=ceil)(torch.zeros(1, 1, n, n)).shape[-1]
    assert pool_output_size(n, k, s, p, ceil) == out


def test_dilation_matches_pytorch():
    assert conv_output_size(20, 3, 1, 2, dilation=3) == nn.Conv2d(1, 1, 3, 2, 1, dilation=3)(torch.zeros(1, 1, 20, 20)).shape[-1]


@pytest.mark.parametrize("kwargs,message", [
    (dict(n=4, kernel=5), r"kernel 5 .* does not fit in the padded input n \+ 2p = 4"),
    (dict(n=28, kernel=5, stride=0), "stride must be at least 1"),
    (dict(n=28, kernel=5, stride=-2), "stride must be at least 1"),
    (dict(n=28, kernel=5, padding=-1), "padding must be >= 0"),
    (dict(n=28, kernel=0), "kernel must be positive"),
    (dict(n=0, kernel=1), "input size n must be positive"),
    (dict(n=28.0, kernel=5), "must be an integer"),
])
def test_impossible_conv_settings_explain_the_formula(kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv_output_size(**kwargs)


def test_impossible_total_padding_and_pool_settings():
    with pytest.raises(ValueError, match=r"floor\(\(n_h - k_h \+ p_h \+ s_h\) / s_h\)"):
        conv_output_size_total_padding(3, 5, total_padding=1)
    with pytest.raises(ValueError, match="total padding"):
        conv_output_size_total_padding(28, 5, total_padding=-2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        pool_output_size(10, 2, padding=2)
    with pytest.raises(ValueError, match="pooling output size"):
        pool_output_size(1, 2)


def test_layer_table_paper_lenet():
    rows = layer_table(LeNet5Paper(), input_size=(1, 1, 32, 32))
    by_name = {r["name"]: r for r in rows}
    assert by_name["c1"]["output_shape"] == (1, 6, 28, 28) and by_name["c1"]["params"] == 156
    assert by_name["s2"]["output_shape"] == (1, 6, 14, 14) and by_name["s2"]["params"] == 12
    assert by_name["c5"]["output_shape"] == (1, 120, 1, 1) and by_name["c5"]["params"] == 48_120
    assert by_name["output"]["output_shape"] == (1, 10)
    assert sum(r["params"] for r in rows) == count_parameters(LeNet5Paper()) == 61_750


def test_layer_table_nested_modules_count_once():
    model = LeNet5Modern()
    for depth in (1, 2):
        assert sum(r["params"] for r in layer_table(model, depth=depth)) == count_parameters(model) == 61_706
    names = [r["name"] for r in layer_table(model, depth=2)]
    assert names[0] == "features.0" and names[-1] == "classifier.5"


def test_trace_shapes_classic():
    shapes = dict(trace_shapes(LeNet5Classic(), torch.zeros(256, 1, 28, 28)))
    assert shapes["features.5"] == (256, 16, 4, 4)
    assert shapes["classifier.0"] == (256, 120) and shapes["classifier.4"] == (256, 10)


@pytest.mark.parametrize("n,k,s,p", [(1, 2, 2, 0), (2, 5, 3, 1), (2, 4, 3, 0)])
def test_ceil_mode_keeps_a_window_longer_than_the_input(n, k, s, p):
    out = nn.MaxPool2d(k, s, p, ceil_mode=True)(torch.zeros(1, 1, n, n)).shape[-1]
    assert pool_output_size(n, k, s, p, ceil_mode=True) == out == 1
    with pytest.raises(ValueError, match="does not fit"):
        pool_output_size(n, k, s, p, ceil_mode=False)


def test_receptive_field_sizes():
    # LeNet-5's C1, S2, C3, S4, C5: one C5 unit sees the whole 32x32 input
    assert receptive_field_sizes([(5, 1), (2, 2), (5, 1), (2, 2), (5, 1)]) == [5, 6, 14, 16, 32]
    assert receptive_field_sizes([(3, 1), (3, 1)]) == [3, 5]
    assert receptive_field_sizes([(5, 1)]) == [5] and receptive_field_sizes([]) == []
    for bad in ([(5, 0)], [(0, 1)], [(5,)], [(2.5, 1)]):
        with pytest.raises(ValueError, match="\\(kernel, stride\\) pair of positive integers"):
            receptive_field_sizes(bad)
