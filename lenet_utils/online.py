"""Online training of the faithful LeNet-5, as the 1998 paper trains it: one image per update.

Appendix C of the paper: the weights are updated after every single training pattern, the patterns
are presented "in a constant random order", and before each pass the step size of every parameter,
eps_k = eta / (mu + h_kk), is recomputed from the diagonal curvature h_kk estimated on 500 patterns
and then kept fixed for the pass. Sec. III gives eta per pass (``sdlm.paper_eta``) and mu = 0.02.

Two implementations of one step, with the same numbers:

* ``eager_step``: the definition. Forward pass, MAP loss, ``loss.backward()``, ``SDLM.step()``.
* ``FastOnlineStep``: the same arithmetic written out for one 32x32 image, without autograd, on
  preallocated buffers (about 4x less time per step on a CPU; ``benchmark`` measures both). All 60,000 parameters live in one flat tensor, so the update of a step is
  a single ``addcmul_``; the model's parameters are views into that tensor.

``train_online`` runs whole passes (plain, or with the paper's distortions: a fixed pool of 540,000
distorted copies beside the 60,000 originals, 60,000 patterns per pass).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from .distortions import affine_matrices, apply_affine
from .data import PAPER_BACKGROUND
from .models import MAPLoss
from .sdlm import PAPER_MU, SDLM, paper_diagonal_hessian, paper_eta, paper_scales

__all__ = ["eager_step", "FastOnlineStep", "PatternStream", "train_online", "step_size_stats",
           "PAPER_CURVATURE_SAMPLES", "PAPER_DISTORTED_COPIES", "OnlineResult", "benchmark"]

PAPER_CURVATURE_SAMPLES = 500
# Sec. III: "the 60,000 original patterns plus 540,000 instances of distorted patterns".
PAPER_DISTORTED_COPIES = 9


def eager_step(model, optimizer: SDLM, loss_fn, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One online update, the plain way: x [1, 1, 32, 32], y [1]. Returns the scores [1, 10]."""
    scores = model(x)
    loss = loss_fn(scores, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return scores.detach()


def _unfold_index(channels: int, size: int, k: int) -> torch.Tensor:
    """Gather index [channels*k*k, out*out] that turns a flat [channels, size, size] image into the
    columns of a valid k x k convolution (im2col), out = size - k + 1."""
    out = size - k + 1
    c, kr, kc, r, col = torch.meshgrid(torch.arange(channels), torch.arange(k), torch.arange(k),
                                       torch.arange(out), torch.arange(out), indexing="ij")
    return (c * size * size + (r + kr) * size + (col + kc)).reshape(channels * k * k, out * out)


class FastOnlineStep:
    """One online SDLM update of a ``LeNet5Faithful`` for one image, written out by hand.

    Forward: C1 and C3 as gather + matrix product (im2col), S2/S4 as 2x2 sums x coefficient/4 + bias,
    C5 and F6 as matrix-vector products, the scaled tanh, the RBF penalties and the MAP loss.
    Backward: the chain rule layer by layer into one flat gradient tensor. Update: one ``addcmul_``
    with the flat step sizes eps = eta / (mu + h) (``set_step_sizes``).

    The model's parameters are re-pointed to views of ``self.theta`` (the model keeps working and
    sees every update). ``step(x, y, slot)`` writes the 11 MAP logits of the step into row ``slot``
    of ``self.logits`` (allocate with ``reserve``), so a pass needs no per-step Python bookkeeping.
    """

    def __init__(self, model, j: float = 0.1):
        self.model = model
        self.names = [n for n, _ in model.named_parameters()]
        params = [p for _, p in model.named_parameters()]
        dev, dt = params[0].device, params[0].dtype
        if dev.type != "cpu" or dt not in (torch.float32, torch.float64):
            raise ValueError("FastOnlineStep runs on CPU models in float32 or float64; use eager_step elsewhere")
        self.dtype = dt
        total = sum(p.numel() for p in params)
        self.theta = torch.empty(total, dtype=dt)
        self.grad = torch.zeros(total, dtype=dt)
        self.eps = torch.zeros(total, dtype=dt)
        self.p, self.g = {}, {}
        offset = 0
        with torch.no_grad():
            for name, p in zip(self.names, params):
                n = p.numel()
                self.theta[offset:offset + n].copy_(p.reshape(-1))
                p.data = self.theta[offset:offset + n].view(p.shape)
                self.p[name] = p.data
                self.g[name] = self.grad[offset:offset + n].view(p.shape)
                offset += n
        c3 = model.c3
        if (c3.in_channels, c3.out_channels, c3.kernel_size) != (6, 16, 5):
            raise ValueError("FastOnlineStep is written for LeNet5Faithful's C3 (6 -> 16 maps, 5x5)")
        links = [(k, m) for k, maps in enumerate(c3.table) for m in maps]
        self.c3_rows = torch.tensor([k * 6 + m for k, m in links])
        self.w3_dense = torch.zeros(16 * 6, 25, dtype=dt)        # rows k*6+m, zero outside Table I
        self.w3 = self.w3_dense.view(16, 150)
        self.idx1 = _unfold_index(1, 32, 5).reshape(-1)    # 25 x 784
        self.idx3 = _unfold_index(6, 14, 5).reshape(-1)    # 150 x 100
        # the constants as 0-d tensors: an operation with a Python float costs a conversion each time
        self.A, self.S = (torch.tensor(float(v), dtype=dt) for v in (model.squash.A, model.squash.S))
        self.AS, self.AS2 = (torch.tensor(float(model.squash.A) * float(model.squash.S) * k, dtype=dt) for k in (1, 2))
        self.quarter = torch.tensor(0.25, dtype=dt)
        # nearest-neighbour 2x upsampling of a [C, H, W] map as one gather
        self.up4 = torch.arange(16 * 25).view(16, 5, 1, 5, 1).expand(16, 5, 2, 5, 2).reshape(-1)
        self.up2 = torch.arange(6 * 196).view(6, 14, 1, 14, 1).expand(6, 14, 2, 14, 2).reshape(-1)
        self.centres = model.output.centres.detach().clone()
        self.j = float(j)
        def e(*shape):
            return torch.empty(*shape, dtype=dt)

        self.cols1, self.a1, self.t1, self.x1 = e(25, 784), e(6, 784), e(6, 784), e(6, 784)
        self.p2, self.a2, self.t2, self.x2 = e(6, 14, 14), e(6, 14, 14), e(6, 14, 14), e(6, 14, 14)
        self.cols3, self.a3, self.t3, self.x3 = e(150, 100), e(16, 100), e(16, 100), e(16, 100)
        self.p4, self.a4, self.t4, self.x4 = e(16, 5, 5), e(16, 5, 5), e(16, 5, 5), e(16, 5, 5)
        self.a5, self.t5, self.x5 = e(120), e(120), e(120)
        self.a6, self.t6, self.x6 = e(84), e(84), e(84)
        self.u, self.u2, self.q = e(10, 84), e(10, 84), e(11)
        self.d6, self.d5, self.d4 = e(84), e(120), e(16, 5, 5)
        self.d3, self.gcols3, self.d2, self.d1 = e(16, 5, 2, 5, 2), e(150, 100), torch.zeros(6 * 14 * 14, dtype=dt), e(6, 14, 2, 14, 2)
        self.gw3 = e(16, 150)
        self.reserve(1)

    def reserve(self, n: int) -> None:
        """Room for the logits of ``n`` steps: ``self.logits`` [n, 11] (column 10 = -j, the rubbish class)
        and ``self.log_probs`` [n, 11]."""
        self.logits = torch.empty(n, 11, dtype=self.dtype)
        self.logits[:, 10] = -self.j
        self.log_probs = torch.empty(n, 11, dtype=self.dtype)

    @torch.no_grad()
    def set_step_sizes(self, eps: dict) -> None:
        """eps: name -> tensor of the parameter's shape (or scalar): the step size of every entry."""
        offset = 0
        for name in self.names:
            n = self.p[name].numel()
            self.eps[offset:offset + n].copy_(torch.as_tensor(eps[name], dtype=self.dtype).expand(self.p[name].shape).reshape(-1))
            offset += n

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: int, slot: int = 0) -> None:
        """One update on image x [1, 1, 32, 32] (or [1, 32, 32], [32, 32]) with label y (a Python int)."""
        p, g, A, S, AS = self.p, self.g, self.A, self.S, self.AS
        # ---- forward
        torch.index_select(x.reshape(-1), 0, self.idx1, out=self.cols1.view(-1))
        torch.addmm(p["c1.bias"].view(6, 1), p["c1.weight"].view(6, 25), self.cols1, out=self.a1)
        torch.tanh(self.a1.mul_(S), out=self.t1)
        torch.mul(self.t1, A, out=self.x1)
        torch._C._nn.avg_pool2d(self.x1.view(1, 6, 28, 28), [2, 2], [2, 2], [0, 0], False, True, None,
                                out=self.p2.view(1, 6, 14, 14))
        c2 = p["s2.weight"].view(6, 1, 1)
        torch.addcmul(p["s2.bias"].view(6, 1, 1), self.p2, c2, out=self.a2)
        torch.tanh(self.a2.mul_(S), out=self.t2)
        torch.mul(self.t2, A, out=self.x2)
        self.w3_dense.index_copy_(0, self.c3_rows, p["c3.weight"].view(60, 25))
        torch.index_select(self.x2.view(-1), 0, self.idx3, out=self.cols3.view(-1))
        torch.addmm(p["c3.bias"].view(16, 1), self.w3, self.cols3, out=self.a3)
        torch.tanh(self.a3.mul_(S), out=self.t3)
        torch.mul(self.t3, A, out=self.x3)
        torch._C._nn.avg_pool2d(self.x3.view(1, 16, 10, 10), [2, 2], [2, 2], [0, 0], False, True, None,
                                out=self.p4.view(1, 16, 5, 5))
        c4 = p["s4.weight"].view(16, 1, 1)
        torch.addcmul(p["s4.bias"].view(16, 1, 1), self.p4, c4, out=self.a4)
        torch.tanh(self.a4.mul_(S), out=self.t4)
        torch.mul(self.t4, A, out=self.x4)
        x4 = self.x4.view(400)
        w5 = p["c5.weight"].view(120, 400)
        torch.addmv(p["c5.bias"], w5, x4, out=self.a5)
        torch.tanh(self.a5.mul_(S), out=self.t5)
        torch.mul(self.t5, A, out=self.x5)
        w6 = p["f6.weight"]
        torch.addmv(p["f6.bias"], w6, self.x5, out=self.a6)
        torch.tanh(self.a6.mul_(S), out=self.t6)
        torch.mul(self.t6, A, out=self.x6)
        # RBF penalties y_i = |x - w_i|^2 and the MAP loss = cross-entropy over [-y, -j]
        torch.sub(self.x6, self.centres, out=self.u)
        logits = self.logits[slot]
        torch.sum(torch.mul(self.u, self.u, out=self.u2), 1, out=logits[:10])
        logits[:10].neg_()
        log_probs = self.log_probs[slot]
        torch.log_softmax(logits, 0, out=log_probs)
        torch.exp(log_probs, out=self.q)
        # ---- backward.  dE/dy_i = [i == y] - q_i, dy_i/dx = 2 (x - w_i):  dE/dx = 2 (u_y - sum_i q_i u_i)
        torch.mv(self.u.t(), self.q[:10], out=self.d6)
        torch.sub(self.u[y], self.d6, out=self.d6)
        d6 = torch.ops.aten.tanh_backward(self.d6, self.t6).mul_(self.AS2)      # dE/da, F6
        torch.outer(d6, self.x5, out=g["f6.weight"])
        g["f6.bias"].copy_(d6)
        torch.mv(w6.t(), d6, out=self.d5)
        d5 = torch.ops.aten.tanh_backward(self.d5, self.t5).mul_(AS)              # C5
        torch.outer(d5, x4, out=g["c5.weight"].view(120, 400))
        g["c5.bias"].copy_(d5)
        torch.mv(w5.t(), d5, out=self.d4.view(400))
        d4 = torch.ops.aten.tanh_backward(self.d4, self.t4).mul_(AS)              # S4
        torch.sum(d4 * self.p4, (1, 2), out=g["s4.weight"])
        torch.sum(d4, (1, 2), out=g["s4.bias"])
        d4.mul_(c4).mul_(self.quarter)              # each of the 4 inputs gets coefficient / 4
        torch.index_select(d4.view(-1), 0, self.up4, out=self.d3.view(-1))
        d3 = torch.ops.aten.tanh_backward(self.d3.view(16, 100), self.t3).mul_(AS)  # C3
        torch.mm(d3, self.cols3.t(), out=self.gw3)
        torch.index_select(self.gw3.view(96, 25), 0, self.c3_rows, out=g["c3.weight"].view(60, 25))
        torch.sum(d3, 1, out=g["c3.bias"])
        torch.mm(self.w3.t(), d3, out=self.gcols3)
        self.d2.zero_().index_add_(0, self.idx3, self.gcols3.view(-1))
        d2 = torch.ops.aten.tanh_backward(self.d2.view(6, 14, 14), self.t2).mul_(AS)  # S2
        torch.sum(d2 * self.p2, (1, 2), out=g["s2.weight"])
        torch.sum(d2, (1, 2), out=g["s2.bias"])
        d2.mul_(c2).mul_(self.quarter)
        torch.index_select(d2.view(-1), 0, self.up2, out=self.d1.view(-1))
        d1 = torch.ops.aten.tanh_backward(self.d1.view(6, 784), self.t1).mul_(AS)   # C1
        torch.mm(d1, self.cols1.t(), out=g["c1.weight"].view(6, 25))
        torch.sum(d1, 1, out=g["c1.bias"])
        # ---- update: theta <- theta - eps * grad
        self.theta.addcmul_(self.eps, self.grad, value=-1.0)


class PatternStream:
    """The training patterns in the order the paper presents them, 60,000 (or ``len(x)``) per pass.

    Plain: the training set in one "constant random order" (Appendix C), the same every pass.
    ``distort=True``: a fixed pool of the originals plus ``copies`` (9) distorted instances of each
    (Sec. III: 60,000 + 540,000 patterns), in one constant random order; pass p presents the next
    ``len(x)`` patterns of it, so 20 passes show every pattern of the pool twice, as in the paper. A
    distorted pattern is defined by its affine matrix, drawn once from the seed; the image is made when
    it is presented (``distortions.apply_affine``), so the pool costs 24 bytes per pattern.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, distort: bool = False, seed: int = 0,
                 copies: int = PAPER_DISTORTED_COPIES, shift: float = 2.0, scale: float = 0.10,
                 squeeze: float = 0.10, shear: float = 0.2, fill: float = PAPER_BACKGROUND):
        if x.dim() != 4 or len(x) != len(y):
            raise ValueError(f"need images [N, 1, H, W] and N labels, got {tuple(x.shape)} and {tuple(y.shape)}")
        self.x, self.y, self.n = x, y, len(x)
        self.distort, self.fill = bool(distort), fill
        self.copies = int(copies) if distort else 0
        self.pool_size = self.n * (1 + self.copies)
        gen = torch.Generator().manual_seed(1000 * seed + 11)
        self.order = torch.randperm(self.pool_size, generator=gen)
        self.thetas = None
        if self.copies:
            self.settings = {"shift": shift, "scale": scale, "squeeze": squeeze, "shear": shear, "fill": fill,
                             "copies": self.copies}
            self.thetas = affine_matrices(self.n * self.copies, shift, scale, squeeze, shear, x.shape[-1],
                                          torch.Generator().manual_seed(1000 * seed + 12))
        self.seed = seed

    def pass_indices(self, p: int) -> torch.Tensor:
        """Pool indices of the patterns of pass p (1-based)."""
        if p < 1:
            raise ValueError(f"passes are numbered from 1, got {p}")
        return self.order[(torch.arange(self.n) + (p - 1) * self.n) % self.pool_size]

    def patterns(self, pool_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The images [K, 1, H, W] and labels [K] of the given pool indices."""
        src = pool_index % self.n
        xb, yb = self.x[src], self.y[src]
        if self.copies:
            copy = pool_index // self.n
            distorted = (copy > 0).nonzero().flatten()
            if len(distorted):
                theta = self.thetas[(copy[distorted] - 1) * self.n + src[distorted]]
                xb = xb.clone()
                xb[distorted] = apply_affine(xb[distorted], theta, self.fill)
        return xb, yb

    def blocks(self, p: int, size: int = 1000):
        """Pass p in blocks: yields (images [B, 1, H, W], labels [B])."""
        idx = self.pass_indices(p)
        for start in range(0, self.n, size):
            yield self.patterns(idx[start:start + size])

    def sample(self, k: int, p: int) -> torch.Tensor:
        """k random patterns of the pool for the curvature estimate before pass p (1-based), images only.

        A function of (seed, p) alone, so that a run resumed at pass p draws what an uninterrupted run
        draws: the p-th permutation of one generator seeded from the seed (the earlier ones are drawn
        and dropped, a few milliseconds)."""
        if p < 1:
            raise ValueError(f"passes are numbered from 1, got {p}")
        gen = torch.Generator().manual_seed(1000 * self.seed + 13)
        for _ in range(p - 1):
            torch.randperm(self.pool_size, generator=gen)
        idx = torch.randperm(self.pool_size, generator=gen)[:k]
        return self.patterns(idx)[0]


def step_size_stats(model, h: dict, eps: dict, mu: float = PAPER_MU, paper_limits=(7e-5, 0.016)) -> dict:
    """Per layer and overall, in the paper's parametrisation (``paper_scales``): min, median and max of
    the step size eps_k = eta / (mu + h_kk), the share of entries where mu > h (mu dominates the step)
    and the share inside the paper's first-pass range (Sec. III: about 7e-5 to 0.016)."""
    scales = paper_scales(model)
    rows, all_eps, all_h = {}, [], []
    lo, hi = paper_limits
    layers: dict[str, list[str]] = {}
    for name, _ in model.named_parameters():
        layers.setdefault(name.split(".")[0], []).append(name)
    for layer, names in layers.items():
        e = torch.cat([(eps[n] / scales.get(n, 1.0) ** 2).flatten() for n in names])
        hh = torch.cat([(h[n] * scales.get(n, 1.0) ** 2).flatten() for n in names])
        all_eps.append(e)
        all_h.append(hh)
        rows[layer] = _eps_row(e, hh, mu, lo, hi)
    rows["all"] = _eps_row(torch.cat(all_eps), torch.cat(all_h), mu, lo, hi)
    return rows


def _eps_row(e, hh, mu, lo, hi) -> dict:
    return {"eps_min": e.min().item(), "eps_median": e.median().item(), "eps_max": e.max().item(),
            "h_min": hh.min().item(), "h_median": hh.median().item(), "h_max": hh.max().item(),
            "mu_dominates": (hh < mu).float().mean().item(),
            "in_paper_range": ((e >= lo) & (e <= hi)).float().mean().item(), "count": e.numel()}


@dataclass
class OnlineResult:
    """Per-pass records of ``train_online`` (``history``) and whether the run ended early."""
    history: list = field(default_factory=list)
    stopped: str | None = None


@torch.no_grad()
def _error_and_loss(model, x, y, j, batch=1000) -> tuple[float, float]:
    loss_fn = MAPLoss(j, reduction="sum")
    wrong, total = 0, 0.0
    for s in range(0, len(x), batch):
        scores = model(x[s:s + batch])
        wrong += (scores.argmax(1) != y[s:s + batch]).sum().item()
        total += loss_fn(scores, y[s:s + batch]).item()
    return 100.0 * wrong / len(x), total / len(x)


@torch.no_grad()
def _saturation(model, x) -> dict:
    f = model.features(x)
    return {k: round((f[k].abs() > 1.6).float().mean().item(), 4) for k in ("C1", "S2", "C3", "S4", "C5", "F6")}


def train_online(model, stream: PatternStream, x_test: torch.Tensor, y_test: torch.Tensor, passes: int = 20,
                 eta=paper_eta, eta_scale: float = 1.0, mu: float = PAPER_MU, j: float = 0.1,
                 curvature_samples: int = PAPER_CURVATURE_SAMPLES, fast: bool = True, progress: bool = True,
                 on_pass_end=None, train_error: bool = True, first_pass: int = 1, history=None) -> OnlineResult:
    """Train ``model`` (a ``LeNet5Faithful``) online with SDLM for ``passes`` passes of ``stream``.

    Before each pass: h on ``curvature_samples`` patterns of the stream (``paper_diagonal_hessian``),
    lr = eta_scale * eta(pass), eps = lr / (mu + h) in the paper's parametrisation, fixed for the pass.
    Then one update per pattern: ``FastOnlineStep`` (``fast=True``) or ``eager_step``. After each pass
    a record with the test error, the training error measured on the fly (as the paper's Fig. 5) and
    on the whole training set after the pass (``train_error``), the step-size statistics, the seconds
    spent, and the saturation of each layer; ``on_pass_end(model, result)`` is called with it (to save
    checkpoints). A non-finite loss ends the run (``result.stopped``).

    Resuming: ``first_pass`` = k + 1 and ``history`` = the k records of the passes done continue a run from
    its weights after pass k; every pass depends only on (weights, seed, pass number), so the numbers are
    those of an uninterrupted run.
    """
    from tqdm.auto import tqdm

    opt = SDLM.for_model(model, lr=eta_scale * eta(first_pass), mu=mu)
    names = [n for n, _ in model.named_parameters()]
    loss_fn = MAPLoss(j)
    stepper = FastOnlineStep(model, j) if fast else None
    n = stream.n
    logits = torch.empty(n, 11)
    logits[:, 10] = -j
    result = OnlineResult(history=list(history or []))
    for p in range(first_pass, first_pass + passes):
        start = time.perf_counter()
        h = opt.estimate_curvature(model, stream.sample(curvature_samples, p), j)
        lr = eta_scale * eta(p)
        for group in opt.param_groups:
            group["lr"] = lr
        eps = dict(zip(names, opt.step_sizes()))
        stats = step_size_stats(model, h, eps, mu)
        curvature_seconds = time.perf_counter() - start
        labels = torch.empty(n, dtype=torch.long)
        bar = tqdm(total=n, desc=f"pass {p}", leave=False, disable=not progress, mininterval=1.0)
        step_start = time.perf_counter()
        slot = 0
        if stepper is not None:
            stepper.set_step_sizes(eps)
            stepper.logits = logits
            stepper.log_probs = torch.empty(n, 11)
        model.train()
        for xb, yb in stream.blocks(p):
            labels[slot:slot + len(yb)] = yb
            if stepper is not None:
                for i, y in enumerate(yb.tolist()):
                    stepper.step(xb[i], y, slot + i)
            else:
                for i in range(len(yb)):
                    logits[slot + i, :10] = eager_step(model, opt, loss_fn, xb[i:i + 1], yb[i:i + 1])[0]
            slot += len(yb)
            bar.update(len(yb))
        bar.close()
        step_seconds = time.perf_counter() - step_start
        log_probs = torch.log_softmax(logits, 1)
        online_loss = -log_probs[torch.arange(n), labels].mean().item()
        online_error = 100.0 * (logits[:, :10].argmax(1) != labels).float().mean().item()
        model.eval()
        test_error, test_loss = _error_and_loss(model, x_test, y_test, j)
        row = {"pass": p, "eta": lr, "test_error": round(test_error, 4), "test_loss": test_loss,
               "train_error_online": round(online_error, 4), "train_loss_online": online_loss,
               "step_seconds": round(step_seconds, 3), "curvature_seconds": round(curvature_seconds, 3),
               "step_sizes": stats, "saturation": _saturation(model, stream.x[:500])}
        if train_error:
            row["train_error"], row["train_loss"] = (round(v, 4) for v in _error_and_loss(model, stream.x, stream.y, j))
        row["seconds"] = round(time.perf_counter() - start, 3)
        result.history.append(row)
        if not math.isfinite(online_loss):
            result.stopped = f"non-finite loss in pass {p}"
        if on_pass_end is not None:
            on_pass_end(model, result)
        if result.stopped:
            break
    return result


def benchmark(steps: int = 3000, seed: int = 0) -> dict:
    """Seconds per online step on this CPU (one thread): the eager loop, phase by phase (forward with the
    MAP loss, zero_grad + backward, SDLM step), and ``FastOnlineStep``; with the 1-minute load average."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from .models import efficient_backprop_init_, LeNet5Faithful

        gen = torch.Generator().manual_seed(seed)
        x = torch.rand(steps, 1, 32, 32, generator=gen) * 1.275 - 0.1
        y = torch.randint(0, 10, (steps,), generator=gen)
        model = efficient_backprop_init_(LeNet5Faithful(init=False), gen)
        opt = SDLM.for_model(model, lr=1e-5)
        opt.estimate_curvature(model, x[:100])
        loss_fn = MAPLoss(0.1)
        phases = {"forward_and_loss": 0.0, "backward": 0.0, "sdlm_step": 0.0}
        for i in range(min(200, steps)):
            eager_step(model, opt, loss_fn, x[i:i + 1], y[i:i + 1])
        clock = time.perf_counter
        start = clock()
        for i in range(steps):
            t0 = clock()
            loss = loss_fn(model(x[i:i + 1]), y[i:i + 1])
            t1 = clock()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            t2 = clock()
            opt.step()
            t3 = clock()
            phases["forward_and_loss"] += t1 - t0
            phases["backward"] += t2 - t1
            phases["sdlm_step"] += t3 - t2
        eager = (clock() - start) / steps
        fast = FastOnlineStep(model)
        fast.set_step_sizes(dict(zip([n for n, _ in model.named_parameters()], opt.step_sizes())))
        fast.reserve(steps)
        labels = y.tolist()
        for i in range(min(200, steps)):
            fast.step(x[i], labels[i], i)
        start = clock()
        for i in range(steps):
            fast.step(x[i], labels[i], i)
        quick = (clock() - start) / steps
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        return {"steps": steps, "eager_ms_per_step": 1e3 * eager, "fast_ms_per_step": 1e3 * quick,
                "eager_s_per_pass": 60000 * eager, "fast_s_per_pass": 60000 * quick, "speedup": eager / quick,
                "eager_phases_ms_per_step": {k: 1e3 * v / steps for k, v in phases.items()},
                "load_average_1min": load, "torch": torch.__version__}
    finally:
        torch.set_num_threads(threads)
