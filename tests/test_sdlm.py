"""Stochastic diagonal Levenberg-Marquardt: curvature, step rule, schedule; distortions."""
import pytest
import torch
from torch import nn

from lenet_utils.distortions import PaperDistortion
from lenet_utils.models import LeNet5Faithful, MAPLoss, efficient_backprop_init_
from lenet_utils.sdlm import (
    SDLM, gauss_newton_diagonal, map_rbf_hessian, map_rbf_hessian_diag, paper_diagonal_hessian, paper_eta,
    paper_scales,
)

from sdlm_reference import graph_forward_matches, per_sample_paper_h


def test_paper_eta_schedule():
    assert [paper_eta(e) for e in (1, 2, 3, 5, 6, 8, 9, 12, 13, 20)] == [
        5e-4, 5e-4, 2e-4, 2e-4, 1e-4, 1e-4, 5e-5, 5e-5, 1e-5, 1e-5]


def test_step_is_eta_over_mu_plus_h_times_grad():
    torch.manual_seed(0)
    lin = nn.Linear(3, 2, bias=False)
    x = torch.randn(5, 3)
    H = torch.tensor([[2.0, 0.5], [0.5, 1.0]])  # fixed loss Hessian in the outputs
    # hand: h[a, b] = mean_n x_nb^2 * H_aa
    h_hand = torch.diag(H).unsqueeze(1) * (x ** 2).mean(0).unsqueeze(0)
    h = gauss_newton_diagonal(lin, x, outputs=lambda m, xb: m(xb), hessian=lambda out: H)
    assert torch.allclose(h["weight"], h_hand, atol=1e-6)
    opt = SDLM(lin.parameters(), lr=0.1, mu=0.02)
    opt.set_curvature([h_hand])
    w0 = lin.weight.detach().clone()
    loss = (lin(x) ** 2).sum()
    loss.backward()
    grad = lin.weight.grad.clone()
    opt.step()
    assert torch.allclose(lin.weight, w0 - 0.1 / (0.02 + h_hand) * grad, atol=1e-7)


def test_map_rbf_hessian_matches_autograd():
    torch.manual_seed(0)
    model = LeNet5Faithful()
    centres = model.output.centres
    for x in (0.3 * torch.randn(84), centres[3] + 0.2 * torch.randn(84), 0.5 * (centres[3] + centres[5])):
        H = map_rbf_hessian(x, centres, 0.1)
        auto = torch.autograd.functional.hessian(
            lambda z: MAPLoss(0.1)(-model.output(z.unsqueeze(0)), torch.tensor([3])), x)
        assert torch.allclose(H, auto, atol=1e-4)
        assert torch.linalg.eigvalsh(H).min() > -1e-4  # positive semi-definite
        assert torch.allclose(map_rbf_hessian_diag(x.unsqueeze(0), centres, 0.1)[0], torch.diag(H), atol=1e-5)


def test_paper_diagonal_hessian_is_positive_and_shaped():
    torch.manual_seed(0)
    model = LeNet5Faithful()
    h = paper_diagonal_hessian(model, torch.randn(8, 1, 32, 32))
    for name, p in model.named_parameters():
        assert h[name].shape == p.shape and (h[name] >= 0).all() and h[name].sum() > 0, name
    # F6 bias: exactly mean_n f'(a)^2 * d2E/dx^2 (one connection per bias)
    x = torch.randn(8, 1, 32, 32)
    h = paper_diagonal_hessian(model, x)
    feats = model.features(x)
    a = model.f6(feats["C5"])
    fprime2 = (1.7159 * 2 / 3 * (1 - torch.tanh(2 / 3 * a) ** 2)) ** 2
    seed = map_rbf_hessian_diag(feats["F6"], model.output.centres, 0.1)
    assert torch.allclose(h["f6.bias"], (fprime2 * seed).mean(0).detach(), rtol=1e-4)


def test_sdlm_keeps_c3_sparse_and_lowers_loss():
    torch.manual_seed(0)
    model = LeNet5Faithful()
    x, y = torch.randn(32, 1, 32, 32), torch.randint(0, 10, (32,))
    opt = SDLM(model.parameters(), lr=1e-7 * 32)
    opt.estimate_curvature(model, x)
    loss_fn = MAPLoss()
    first = loss_fn(model(x), y).item()
    for _ in range(10):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    assert loss_fn(model(x), y).item() < first
    assert model.c3.dense_weight()[~torch.tensor([[m in t for m in range(6)] for t in model.c3.table])].abs().max() == 0


def test_distortion_is_per_image_and_fills_background():
    x = torch.full((4, 1, 32, 32), -0.1)
    x[:, :, 8:24, 8:24] = 1.175
    out = PaperDistortion(seed=0)(x)
    assert out.shape == x.shape
    assert torch.allclose(out[:, :, 0, :], torch.full_like(out[:, :, 0, :], -0.1), atol=1e-6)
    assert not torch.allclose(out[0], out[1])  # each image its own transform
    assert out.min() >= -0.1 - 1e-5 and out.max() <= 1.175 + 1e-5
    identity = PaperDistortion(shift=0, scale=0, squeeze=0, shear=0)(x)
    assert torch.allclose(identity, x, atol=1e-5)


@pytest.fixture(scope="module")
def digits(data_root):
    from lenet_utils.data import load_mnist, prepare

    x, _ = load_mnist(True)
    return prepare(x[:4], "paper", pad=True)


@pytest.mark.parametrize("init", ["paper", "efficient-backprop"])
def test_paper_diagonal_hessian_equals_an_independent_recursion(digits, init):
    """Every parameter's h against the recursion written out over explicit connection lists, sample by
    sample (tests/sdlm_reference.py), on 4 real digits, for both initialisations."""
    torch.manual_seed(0)
    model = LeNet5Faithful(init=init == "paper")
    if init != "paper":
        efficient_backprop_init_(model)
    assert graph_forward_matches(model, digits) < 1e-5   # the connection lists are the model
    h, ref = paper_diagonal_hessian(model, digits), per_sample_paper_h(model, digits)
    for name, _ in model.named_parameters():
        assert torch.allclose(h[name], ref[name], rtol=1e-4, atol=1e-6 * ref[name].abs().max().item()), name


def test_f6_curvature_equals_the_exact_gauss_newton_diagonal(digits):
    """An F6 weight or bias feeds one output, so the paper's diagonal terms are all of its Gauss-Newton
    diagonal; below F6 the paper drops the cross terms between the connections of a shared weight."""
    torch.manual_seed(0)
    model = efficient_backprop_init_(LeNet5Faithful(init=False))
    h, gn = paper_diagonal_hessian(model, digits), gauss_newton_diagonal(model, digits)
    for name in ("f6.weight", "f6.bias"):
        assert torch.allclose(h[name], gn[name], rtol=1e-4, atol=1e-7), name
    # C1 shares each weight over 784 positions: the paper's estimate is well below the exact diagonal
    assert h["c1.weight"].mean() < 0.5 * gn["c1.weight"].mean()


def test_scales_step_as_the_paper_parametrisation():
    """Our subsampling coefficient multiplies the average of 4 inputs, the paper's the sum: theta = 4 phi.
    With paper_scales, SDLM moves theta exactly as the paper's SDLM moves phi (mu > 0 matters)."""
    torch.manual_seed(0)
    x, t = torch.randn(6, 4), torch.randn(6)
    phi = torch.tensor(0.3, requires_grad=True)
    theta = torch.tensor(1.2, requires_grad=True)  # = 4 * phi
    h_phi = 2 * (x.sum(1) ** 2).mean()               # Gauss-Newton diagonal of the squared error
    h_theta = 2 * (x.mean(1) ** 2).mean()
    o_phi = SDLM([phi], lr=0.05, mu=0.02)
    o_phi.set_curvature([h_phi.reshape(())])
    o_theta = SDLM([theta], lr=0.05, mu=0.02, scales=[4.0])
    o_theta.set_curvature([h_theta.reshape(())])
    for _ in range(5):
        for p, o, pred in ((phi, o_phi, lambda: phi * x.sum(1)), (theta, o_theta, lambda: theta * x.mean(1))):
            o.zero_grad()
            ((pred() - t) ** 2).mean().backward()
            o.step()
    assert torch.allclose(theta, 4 * phi, rtol=1e-6)
    # without the scale the two would differ
    unscaled = SDLM([torch.tensor(1.2)], lr=0.05, mu=0.02)
    unscaled.set_curvature([h_theta.reshape(())])
    assert not torch.allclose(unscaled.step_sizes()[0], o_theta.step_sizes()[0])
    assert paper_scales(LeNet5Faithful()) == {"s2.weight": 4.0, "s4.weight": 4.0}
