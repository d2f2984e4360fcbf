"""The paper-faithful LeNet-5 (lenet_utils.models.LeNet5Faithful): shapes, C3's sparsity, RBF output,
MAP loss, init."""
import pytest
import torch

from lenet_utils.models import C3_TABLE, LeNet5Faithful, MAPLoss, connection_table, fan_in, rbf_centres


@pytest.fixture
def model(faithful_model):
    return faithful_model


def test_layer_shapes(model):
    feats = model.features(torch.randn(3, 1, 32, 32))
    expected = {"C1": (3, 6, 28, 28), "S2": (3, 6, 14, 14), "C3": (3, 16, 10, 10), "S4": (3, 16, 5, 5),
                "C5": (3, 120), "F6": (3, 84), "penalties": (3, 10)}
    for name, shape in expected.items():
        assert tuple(feats[name].shape) == shape, name
    assert model(torch.randn(3, 1, 32, 32)).shape == (3, 10)
    for name in ("c1", "s2", "c3", "s4", "c5", "f6", "output"):
        assert hasattr(model, name)


def test_28x28_input_is_padded_with_background(model):
    x28 = torch.rand(2, 1, 28, 28)
    x32 = torch.nn.functional.pad(x28, (2, 2, 2, 2), value=-0.1)
    assert torch.equal(model(x28), model(x32))


@pytest.mark.parametrize("shape", [(2, 1, 30, 30), (2, 3, 32, 32), (1, 32, 32), (2, 784)])
def test_bad_input_shape_raises_with_expected_shape(model, shape):
    with pytest.raises(ValueError, match=r"\[N, 1, 32, 32\]"):
        model(torch.zeros(shape))


def test_c3_table_has_60_links():
    assert sum(len(m) for m in C3_TABLE) == 60
    assert connection_table().sum().item() == 60


def test_c3_sparsity_through_gradients(model):
    s2 = torch.randn(2, 6, 14, 14, requires_grad=True)
    out = model.c3(s2)
    table = connection_table()
    for k in range(16):
        (grad,) = torch.autograd.grad(out[:, k].sum(), s2, retain_graph=True)
        per_map = grad.abs().sum(dim=(0, 2, 3))
        for m in range(6):
            if table[k, m]:
                assert per_map[m] > 0, (k, m)
            else:
                assert per_map[m] == 0, (k, m)


def test_c3_absent_weights_stay_zero_after_training(model):
    assert model.c3.weight.numel() == 60 * 25
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(16, 1, 32, 32), torch.randint(0, 10, (16,))
    before = model.c3.weight.detach().clone()
    for _ in range(5):
        opt.zero_grad()
        MAPLoss()(model(x), y).backward()
        opt.step()
    assert not torch.equal(before, model.c3.weight)
    dense = model.c3.dense_weight().detach()
    outside = ~connection_table()
    assert dense[outside].abs().max() == 0
    assert dense[connection_table()].abs().sum(dim=(1, 2)).min() > 0


def test_rbf_centres_are_fixed_plus_minus_one_bitmaps(model):
    c = rbf_centres()
    assert c.shape == (10, 84) and set(c.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(row.tolist()) for row in c}) == 10
    assert all(p is not model.output.centres for p in model.parameters())
    assert "output.centres" in model.state_dict()
    before = model.output.centres.clone()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    opt.zero_grad()
    MAPLoss()(model(torch.randn(4, 1, 32, 32)), torch.arange(4)).backward()
    opt.step()
    assert torch.equal(before, model.output.centres)


def test_scores_are_negated_distances_to_the_bitmaps(model):
    x = torch.randn(5, 1, 32, 32)
    f6 = model.f6_output(x)
    y = ((f6.unsqueeze(1) - rbf_centres().unsqueeze(0)) ** 2).sum(-1)
    assert torch.allclose(model(x), -y, atol=1e-4)
    assert torch.equal(model(x).argmax(1), y.argmin(1))


def test_map_loss_equals_hand_computation():
    y = torch.tensor([[1.0, 2.0, 3.0], [0.5, 4.0, 0.2]])  # penalties
    target = torch.tensor([1, 2])
    j = 0.7
    import math
    hand = 0.0
    for row, c in zip(y.tolist(), target.tolist()):
        hand += row[c] + math.log(math.exp(-j) + sum(math.exp(-v) for v in row))
    hand /= 2
    assert MAPLoss(j)(-y, target).item() == pytest.approx(hand, rel=1e-6)


def test_init_within_paper_bounds():
    torch.manual_seed(1)
    model = LeNet5Faithful()
    fans = fan_in(model)
    for name, p in model.named_parameters():
        bound = 2.4 / torch.as_tensor(fans[name])
        if name in ("s2.weight", "s4.weight"):  # our coefficient multiplies the average, the paper's the sum
            value = p / 4
        else:
            value = p
        assert (value.abs() <= bound + 1e-7).all(), name
        assert value.abs().max() > 0.5 * bound.min(), name  # actually spread over the range
    # C3 fan-in counts only the table's links: 3, 4 or 6 maps x 25
    assert sorted(set(fans["c3.bias"].tolist())) == [75.0, 100.0, 150.0]
