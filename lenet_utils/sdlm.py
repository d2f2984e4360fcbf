"""Stochastic diagonal Levenberg-Marquardt (LeCun et al. 1998, Sec. V-C and Appendix C).

Each parameter w_k gets its own step size  eta / (mu + h_kk),  where h_kk estimates the diagonal
of the Hessian of the loss with the Gauss-Newton approximation, averaged over a few hundred
samples (the paper: 500) before each pass over the training set.

Which Gauss-Newton diagonal. As in the paper, the RBF output layer and the MAP criterion form the
"loss" and everything up to F6 the "network": x = g(input; w) are the 84 F6 outputs and
E(x) = y_c(x) + log(exp(-j) + sum_i exp(-y_i(x))), y_i = |x - w_i|^2. Its Hessian in x is

    H = 2 q_r I + 4 [ sum_i q_i u_i u_i^T - m m^T ],   u_i = x - w_i,  q_i = exp(-y_i)/Z,
    q_r = exp(-j)/Z (the rubbish class),  m = sum_i q_i u_i,

which is positive semi-definite (sum_i q_i <= 1) and does not depend on the label. The
Gauss-Newton matrix is G = J^T H J with J = dx/dw; we compute its diagonal *exactly*, sample by
sample (the 84 rows of J by vector-Jacobian products, then sum_ab H_ab J_a J_b), and average over the
samples. At the start of training q_r ~ 1, so H ~ 2I: the paper's second derivative of y_c. The paper
itself used a cheaper further approximation (it back-propagates only diagonal terms, layer by layer,
with squared weights). (Taking the 10 scores -y as the network output instead would put the RBF's
curvature in the network, where Gauss-Newton drops it, and give h ~ exp(-80) at the start.) This is
*not* the empirical Fisher (squared gradients at the true labels), which vanishes on fitted samples.

Mini-batches. The paper updates after every sample with the per-sample gradient. ``SDLM`` applies
``w -= lr / (mu + h) * grad`` to whatever gradient it is given; the reproduction feeds it the
gradient of the *mean* loss over a mini-batch of B samples with ``lr = B * eta``, i.e. the sum of
the B per-sample steps taken from the same point (see the chapter for the measured difference).
"""
from __future__ import annotations

import torch
from torch.func import functional_call, vjp, vmap
from torch.optim import Optimizer

from .layers import Subsampling

__all__ = ["SDLM", "gauss_newton_diagonal", "map_rbf_hessian", "map_rbf_hessian_diag", "paper_diagonal_hessian", "paper_scales", "paper_eta", "PAPER_ETA_SCHEDULE", "PAPER_MU"]

PAPER_MU = 0.02
# (first pass, last pass, eta) from Appendix C; passes are 1-based.
PAPER_ETA_SCHEDULE = ((1, 2, 0.0005), (3, 5, 0.0002), (6, 8, 0.0001), (9, 12, 0.00005))
PAPER_ETA_LATE = 0.00001


def paper_eta(epoch: int) -> float:
    """The paper's global rate eta for pass ``epoch`` (1-based): 5e-4, 2e-4, 1e-4, 5e-5, then 1e-5."""
    if epoch < 1:
        raise ValueError(f"passes are numbered from 1, got {epoch}")
    for first, last, eta in PAPER_ETA_SCHEDULE:
        if first <= epoch <= last:
            return eta
    return PAPER_ETA_LATE


def map_rbf_hessian(x: torch.Tensor, centres: torch.Tensor, j: float) -> torch.Tensor:
    """Hessian [D, D] of the MAP criterion w.r.t. one F6 output x [D], RBF centres [C, D]."""
    u = x.unsqueeze(0) - centres                       # [C, D]
    y = (u ** 2).sum(-1)
    q = torch.softmax(torch.cat([-y, y.new_full((1,), -j)]), 0)
    q, q_r = q[:-1], q[-1]
    m = q @ u
    eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
    return 2 * q_r * eye + 4 * (u.T @ (q.unsqueeze(-1) * u) - torch.outer(m, m))


def gauss_newton_diagonal(model: torch.nn.Module, x: torch.Tensor, j: float = 0.1, outputs=None, hessian=None,
                          chunk: int = 25) -> dict[str, torch.Tensor]:
    """Mean over the samples in ``x`` of diag(J^T H J) for every trainable parameter (by name).

    Defaults fit ``LeNet5Faithful``: the network output is ``model.f6_output`` and H is the Hessian of
    the MAP criterion (constant ``j``) through the fixed RBF layer, see the module doc. For another
    model pass ``outputs(model, xb) -> [B, D]`` and ``hessian(out [D]) -> [D, D]`` (positive
    semi-definite). Exact per-sample Gauss-Newton diagonal: D vector-Jacobian products per sample.
    """
    if outputs is None:
        outputs = lambda mod, xb: mod.f6_output(xb)  # noqa: E731
    if hessian is None:
        centres = model.output.centres
        hessian = lambda out: map_rbf_hessian(out, centres, j)  # noqa: E731
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    wrapper = _Outputs(model, outputs)
    buffers = {f"m.{k}": v for k, v in model.named_buffers()}

    def per_sample(xi):
        def out_of(p):
            state = ({f"m.{k}": v for k, v in p.items()}, buffers)
            return functional_call(wrapper, state, (xi.unsqueeze(0),)).squeeze(0)

        out, pullback = vjp(out_of, params)
        eye = torch.eye(out.shape[0], dtype=out.dtype, device=out.device)
        jac = vmap(pullback)(eye)[0]                      # name -> [D, *shape]
        h = hessian(out.detach())                         # [D, D]
        result = {}
        for k, g in jac.items():
            flat = g.reshape(g.shape[0], -1)
            result[k] = (flat * (h @ flat)).sum(0).reshape(g.shape[1:])
        return result

    total = {k: torch.zeros_like(v) for k, v in params.items()}
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            part = vmap(per_sample)(x[start : start + chunk])
            for k in total:
                total[k] += part[k].sum(0)
    return {k: v / len(x) for k, v in total.items()}


class _Outputs(torch.nn.Module):
    """Wraps ``outputs(model, x)`` as a module so that ``functional_call`` can swap the parameters."""

    def __init__(self, model, outputs):
        super().__init__()
        self.m, self.outputs = model, outputs

    def forward(self, x):
        return self.outputs(self.m, x)


def map_rbf_hessian_diag(x: torch.Tensor, centres: torch.Tensor, j: float) -> torch.Tensor:
    """Diagonal of ``map_rbf_hessian`` for a batch: x [N, D] -> [N, D] (all entries >= 0)."""
    u = x.unsqueeze(1) - centres.unsqueeze(0)          # [N, C, D]
    y = (u ** 2).sum(-1)                                # [N, C]
    q = torch.softmax(torch.cat([-y, y.new_full((len(x), 1), -j)], 1), 1)
    q, q_r = q[:, :-1], q[:, -1:]
    m = (q.unsqueeze(-1) * u).sum(1)                    # [N, D]
    return 2 * q_r + 4 * ((q.unsqueeze(-1) * u ** 2).sum(1) - m ** 2)


def paper_diagonal_hessian(model: torch.nn.Module, x: torch.Tensor, j: float = 0.1) -> dict[str, torch.Tensor]:
    """The paper's estimate (Appendix C) of d2E/dw_k^2 for ``LeNet5Faithful``, averaged over ``x``.

    Appendix C's recursion with its three approximations (diagonal terms only, Gauss-Newton, an
    average over a few samples), layer by layer from the top:

        d2E/da_i^2 = f'(a_i)^2 d2E/dx_i^2          (Gauss-Newton: the f'' term is dropped)
        d2E/dx_j^2 = sum_i u_ij^2 d2E/da_i^2        (over the units i that x_j feeds)
        h_kk       = mean over samples of  sum over the connections (i, j) that share w_k of
                     x_j^2 d2E/da_i^2               (x_j the real state of unit j)

    At the F6 outputs the recursion starts from the diagonal of the MAP loss's Hessian through the fixed
    RBF layer (2 per output at initialisation). Each layer's two sums are one vector-Jacobian product
    through the model's own layer (``model.weighted_sum``) applied to the squared real states x_j^2 with
    squared weights: a weighted sum is linear in its weights and in its inputs, so its backward pass
    with d2E/da^2 as the output gradient sums exactly u_ij^2 d2E/da_i^2 over i and x_j^2 d2E/da_i^2 over
    the connections of each weight. A subsampling unit computes c * (x_1+x_2+x_3+x_4)/4 + b, so each
    of its connections has weight c/4: its squared copy gets c^2/4^2 on the average of the squared
    inputs. Values are for our parameters (see ``paper_scales`` for the paper's). Returns name -> tensor
    shaped like the parameter.
    """
    with torch.no_grad():
        x = model.padded_input(x)
        layers = model.layer_outputs(x)                     # [(name, a, f(a))] for C1 ... F6
        d2x = map_rbf_hessian_diag(layers[-1][2], model.output.centres, j)
    squash = model.squash

    def fprime2(pre):  # f'(a)^2 for the squashing function, from the pre-activation a
        return (squash.A * squash.S * (1 - torch.tanh(squash.S * pre) ** 2)) ** 2

    h = {}
    for n in range(len(layers) - 1, -1, -1):
        name, pre, _ = layers[n]
        layer_name = name.lower()
        layer = getattr(model, layer_name)
        below = x if n == 0 else layers[n - 1][2]           # the real states x_j feeding this layer
        d2a = fprime2(pre) * d2x
        sq = {k: p.detach().pow(2).requires_grad_(True) for k, p in layer.named_parameters()}
        params = dict(sq)
        if isinstance(layer, Subsampling):
            params["weight"] = params["weight"] / layer.kernel_size ** 2
        inputs = (below ** 2).requires_grad_(n > 0)
        with torch.enable_grad():
            a2 = model.weighted_sum(layer_name, inputs, params)
            wanted = [sq[k] for k in sq] + ([inputs] if n > 0 else [])
            grads = torch.autograd.grad(a2, wanted, grad_outputs=d2a)
        for k, g in zip(sq, grads):
            h[f"{layer_name}.{k}"] = g / len(x)
        if n > 0:
            d2x = grads[-1]
    return {name: h[name] for name, _ in model.named_parameters()}


def paper_scales(model: torch.nn.Module) -> dict[str, float]:
    """How our parameters relate to the paper's: ours = scale x the paper's, by name (absent = 1).

    The paper's subsampling unit multiplies the *sum* of its 4 inputs by its coefficient; ours
    multiplies their *average*, so our coefficient is 4 x the paper's (``kernel_size ** 2``). The
    diagonal Levenberg-Marquardt step is not invariant to such a change of scale when mu > 0, so
    ``SDLM`` takes these scales to step exactly as the paper does: for theta = s * phi the paper's
    step on phi, eta / (mu + h_phi) * dE/dphi, is the step eta / (mu / s^2 + h_theta) * dE/dtheta.
    """
    return {f"{name}.weight": float(module.kernel_size ** 2)
            for name, module in model.named_children() if isinstance(module, Subsampling)}


class SDLM(Optimizer):
    """Diagonal Levenberg-Marquardt step  p <- p - eps * grad  with  eps = lr / (mu + h)  per entry.

    ``h`` comes from ``set_curvature`` (a dict name -> tensor, or a list in parameter order) or
    ``estimate_curvature(model, x)``; until then h = 0 and the step is lr/mu * grad.

    ``scales`` (a list in parameter order) says which parameters are ``scale`` x the paper's parameter
    (``paper_scales``; ``SDLM.for_model`` applies them): for those the step is lr / (mu / scale^2 + h),
    the paper's step expressed in our parameter. ``step_sizes()`` gives eps.
    """

    def __init__(self, params, lr: float = 0.0005, mu: float = PAPER_MU, scales=None):
        if lr < 0 or mu <= 0:
            raise ValueError(f"need lr >= 0 and mu > 0, got lr={lr}, mu={mu}")
        super().__init__(params, {"lr": lr, "mu": mu})
        plist = self._params()
        if scales is None:
            values = [1.0] * len(plist)
        elif isinstance(scales, dict):
            raise ValueError("pass scales as a list in parameter order, or use SDLM.for_model(model, ...)")
        else:
            values = [float(v) for v in scales]
        if len(values) != len(plist) or any(v <= 0 for v in values):
            raise ValueError(f"need one positive scale per parameter ({len(plist)}), got {values}")
        for p, v in zip(plist, values):
            self.state[p]["scale"] = v

    @classmethod
    def for_model(cls, model: torch.nn.Module, lr: float = 0.0005, mu: float = PAPER_MU, paper: bool = True) -> "SDLM":
        """SDLM over all of ``model``'s parameters; ``paper=True`` applies ``paper_scales(model)``."""
        scales = paper_scales(model) if paper else {}
        return cls(model.parameters(), lr=lr, mu=mu, scales=[scales.get(n, 1.0) for n, _ in model.named_parameters()])

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    @torch.no_grad()
    def set_curvature(self, h) -> None:
        """Store the diagonal curvature: a list in parameter order, or a dict matched by position
        to ``model.named_parameters()`` order (use ``estimate_curvature`` to avoid mistakes)."""
        values = list(h.values()) if isinstance(h, dict) else list(h)
        params = self._params()
        if len(values) != len(params):
            raise ValueError(f"got {len(values)} curvature tensors for {len(params)} parameters")
        for p, v in zip(params, values):
            if v.shape != p.shape:
                raise ValueError(f"curvature of shape {tuple(v.shape)} for a parameter of shape {tuple(p.shape)}")
            self.state[p]["h"] = v.detach().to(p.device, p.dtype).clone()
            self.state[p].pop("eps_key", None)

    def estimate_curvature(self, model: torch.nn.Module, x: torch.Tensor, j: float = 0.1, method: str = "paper",
                           **kwargs) -> dict:
        """Diagonal curvature on the samples ``x`` (e.g. 500 training images), stored for each
        parameter of ``model`` that this optimizer holds. Returns the dict name -> h.

        method "paper": the paper's diagonal back-propagation (``paper_diagonal_hessian``);
        "gauss_newton": the exact Gauss-Newton diagonal (``gauss_newton_diagonal``)."""
        if method == "paper":
            h = paper_diagonal_hessian(model, x, j)
        elif method == "gauss_newton":
            h = gauss_newton_diagonal(model, x, j, **kwargs)
        else:
            raise ValueError(f"method must be 'paper' or 'gauss_newton', got {method!r}")
        by_id = {id(p): name for name, p in model.named_parameters()}
        for p in self._params():
            self.state[p]["h"] = h[by_id[id(p)]].detach().clone()
            self.state[p].pop("eps_key", None)
        return h

    @torch.no_grad()
    def step_sizes(self) -> list[torch.Tensor]:
        """eps = lr / (mu / scale^2 + h) for every parameter, in parameter order (our parameters).
        Kept until the curvature, lr or mu change."""
        out = []
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                key = (group["lr"], group["mu"], id(state.get("h")))
                if state.get("eps_key") != key:
                    mu = group["mu"] / state.get("scale", 1.0) ** 2
                    h = state.get("h")
                    state["eps"] = group["lr"] / (torch.zeros_like(p) + mu if h is None else h + mu)
                    state["eps_key"] = key
                out.append(state["eps"])
        return out

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for p, eps in zip(self._params(), self.step_sizes()):
            if p.grad is not None:
                p.addcmul_(eps, p.grad, value=-1.0)
        return loss
