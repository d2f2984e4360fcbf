"""lenet_utils.hooks: the one forward-hook helper."""
import pytest
import torch
from torch import nn

from lenet_utils.hooks import capture_activations, record_calls
from lenet_utils.models import LeNet5Classic, LeNet5Paper


@pytest.mark.parametrize("training", [True, False])
def test_capture_activations_values_and_mode(training):
    torch.manual_seed(0)
    model = LeNet5Paper().train(training)
    x = torch.randn(2, 1, 32, 32)
    acts = capture_activations(model, x, ["c1", "s4"])
    assert list(acts) == ["c1", "s4"]
    assert acts["c1"].shape == (2, 6, 28, 28) and acts["s4"].shape == (2, 16, 5, 5)
    assert torch.equal(acts["c1"], model.c1(x).detach())
    assert not acts["c1"].requires_grad
    assert model.training is training


def test_record_calls_every_leaf_in_call_order_with_repeats():
    model = LeNet5Paper()
    out, calls = record_calls(model, torch.zeros(1, 1, 28, 28))
    names = [c.name for c in calls]
    # the one ScaledTanh module `act` runs after c1, c3, c5 and f6
    assert names == ["c1", "act", "s2", "c3", "act", "s4", "c5", "act", "f6", "act", "output"]
    assert calls[0].input.shape == (1, 1, 32, 32)          # the model padded the 28x28 input in forward()
    assert torch.equal(calls[-1].output, out) and out.shape == (1, 10)
    assert all(calls[i].output is calls[i + 1].input for i in (0, 2, 3))


def test_record_calls_grad_and_errors():
    model = LeNet5Classic().train()
    x = torch.randn(1, 1, 28, 28, requires_grad=True)
    _, calls = record_calls(model, x, ["features.0"], grad=True)
    calls[0].output[0, 0, 12, 12].backward()
    assert (x.grad[0, 0] != 0).sum() == 25                 # one 5x5 window
    _, calls = record_calls(model, x, ["features.0"])
    assert not calls[0].output.requires_grad
    with pytest.raises(ValueError, match=r"no layer named \['conv9'\] in LeNet5Classic"):
        record_calls(model, x, ["conv9"])
    assert model.training


def test_record_calls_restores_mode_and_removes_hooks_when_forward_raises():
    model = LeNet5Classic().train()
    with pytest.raises(ValueError, match="expects a batch of grey images"):
        record_calls(model, torch.zeros(1, 1, 32, 32))
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
    bare = nn.Sequential(nn.Linear(3, 2))
    record_calls(bare, torch.zeros(1, 3))
    assert not bare[0]._forward_hooks
