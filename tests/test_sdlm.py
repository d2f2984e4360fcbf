"""Stochastic diagonal Levenberg-Marquardt: curvature, step rule, schedule; distortions."""
import pytest
import torch
from torch import nn

from lenet_utils.distortions import PaperDistortion
from lenet_utils.models import LeNet5Faithful, MAPLoss
from lenet_utils.sdlm import (
    SDLM, gauss_newton_diagonal, map_rbf_hessian, map_rbf_hessian_diag, paper_diagonal_hessian, paper_eta,
)


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


def _paper_diagonal_hessian_as_written_before(model, x, j=0.1):
    """paper_diagonal_hessian as it was before it reused the model's layers (the forward pass written out
    again, with the pooling size hard-coded): the new code must return exactly what this returns."""
    F = torch.nn.functional
    with torch.no_grad():
        feats = model.features(x)
    squash = model.squash

    def dsq(pre):
        return (squash.A * squash.S * (1 - torch.tanh(squash.S * pre) ** 2)) ** 2

    with torch.no_grad():
        pre = {
            "C1": model.c1(feats["input"]), "S2": model.s2(feats["C1"]), "C3": model.c3(feats["S2"]),
            "S4": model.s4(feats["C3"]), "C5": model.c5(feats["S4"]).flatten(1), "F6": model.f6(feats["C5"]),
        }
        seed = map_rbf_hessian_diag(feats["F6"], model.output.centres, j)
    sq = {name: p.detach().pow(2).requires_grad_(True) for name, p in model.named_parameters()}
    k2 = model.s2.kernel_size ** 2
    with torch.enable_grad():
        h = F.conv2d(feats["input"] ** 2, sq["c1.weight"], sq["c1.bias"])
        h = dsq(pre["C1"]) * h
        h = F.avg_pool2d(h, 2) / k2 * sq["s2.weight"].view(1, -1, 1, 1) + sq["s2.bias"].view(1, -1, 1, 1)
        h = dsq(pre["S2"]) * h
        c3 = model.c3
        w3 = (c3.scatter @ sq["c3.weight"].reshape(sq["c3.weight"].shape[0], -1)).reshape(
            c3.out_channels, c3.in_channels, c3.kernel_size, c3.kernel_size)
        h = dsq(pre["C3"]) * F.conv2d(h, w3, sq["c3.bias"])
        h = F.avg_pool2d(h, 2) / k2 * sq["s4.weight"].view(1, -1, 1, 1) + sq["s4.bias"].view(1, -1, 1, 1)
        h = dsq(pre["S4"]) * h
        h = dsq(pre["C5"]) * F.conv2d(h, sq["c5.weight"], sq["c5.bias"]).flatten(1)
        h = dsq(pre["F6"]) * F.linear(h, sq["f6.weight"], sq["f6.bias"])
        (h * seed).sum().backward()
    return {name: t.grad / len(x) for name, t in sq.items()}


@pytest.mark.parametrize("seed", [0, 1])
def test_paper_diagonal_hessian_returns_exactly_what_it_returned_before(seed):
    torch.manual_seed(seed)
    model = LeNet5Faithful()
    if seed == 1:  # trained-looking weights: larger, with the subsampling coefficients away from the init
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(3).add_(0.1 * torch.randn_like(p))
    x = torch.rand(24, 1, 28, 28) * 1.275 - 0.1  # 28x28 inputs: the model pads them
    new, old = paper_diagonal_hessian(model, x), _paper_diagonal_hessian_as_written_before(model, x)
    assert list(new) == list(old)
    for name in old:
        assert torch.equal(new[name], old[name]), name
