"""Library functions take a seed and draw from their own generator: they never reseed the caller's global
random state nor leave torch's thread count changed, and the same seed gives the same result."""
import random

import numpy as np
import pytest
import torch

from lenet_utils.chapters import activations, innovations, input_layer, pooling, reproduction
from lenet_utils.train import seeded, train_recipe

TINY = dict(subset=128, test_subset=64, progress=False)


def _strip_timing(history):
    return [{k: v for k, v in row.items() if k not in ("seconds", "samples_per_s")} for row in history]


def _mlp():
    with seeded(1):  # a model built the seeded way, so that building it moves nothing either
        return innovations.MLP()


def _runs():
    """Each library function that builds or trains a model, as a call returning something comparable."""
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    x32 = torch.rand(64, 1, 32, 32) * 1.275 - 0.1  # the paper's scale, for the online step
    return {
        "train_recipe": lambda: _strip_timing(train_recipe("modern", epochs=1, **TINY).history),
        "compare_normalizations": lambda: {k: _strip_timing(v) for k, v in input_layer.compare_normalizations(
            normalizations=("unit",), epochs=1, subset=128, test_subset=64, progress=False).items()},
        "train_pooling_variants": lambda: _strip_timing(
            pooling.train_pooling_variants(("avg",), epochs=1, **TINY)["avg"].history),
        "compare_activations": lambda: activations.compare_activations(("tanh",), subset=128, test_subset=64,
                                                                       every=4, progress=False),
        "frozen_filter_model": lambda: [p.detach().clone() for p in innovations.frozen_filter_model(c1="random").parameters()],
        "fit_tensors": lambda: _strip_timing(innovations.fit_tensors(
            _mlp(), x, y, x[:16], y[:16], progress=False).history),
        "train_run": lambda: reproduction.train_run("plain", "adam", epochs=1, device="cpu", progress=False,
                                                    tensors=(x.repeat(1, 1, 1, 1), y, x[:16], y[:16]))[1],
        "train_run_online_sdlm": lambda: [
            (r["test_error"], r["train_error_online"], r["step_sizes"]) for r in reproduction.train_run(
                "distorted", "sdlm", epochs=1, progress=False, curvature_samples=16,
                tensors=(x32, y, x32[:16], y[:16]))[1]],
    }


@pytest.mark.parametrize("name", list(_runs()))
def test_leaves_the_callers_random_state_and_threads_alone(name, data_root):
    run = _runs()[name]
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    threads = torch.get_num_threads()
    states = torch.random.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    first = run()
    assert torch.equal(torch.random.get_rng_state(), states[0]), "the caller's torch generator moved"
    assert np.array_equal(np.random.get_state()[1], states[1]) and random.getstate() == states[2]
    assert torch.get_num_threads() == threads
    torch.manual_seed(999)  # a different caller state must not change the result
    again = run()
    if name == "train_run":
        first, again = _strip_timing(first), _strip_timing(again)
    assert _equal(first, again)


def _equal(a, b):
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(u, v) for u, v in zip(a, b))
    return a == b


def test_seeded_draws_from_the_seed_and_restores_the_stream():
    torch.manual_seed(5)
    expected_after = torch.rand(3)
    torch.manual_seed(5)
    with seeded(0):
        inside = torch.rand(3)
    assert torch.equal(inside, torch.manual_seed(0) and torch.rand(3))
    torch.manual_seed(5)
    with seeded(0):
        torch.rand(100)
    assert torch.equal(torch.rand(3), expected_after)
