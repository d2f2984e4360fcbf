"""Chapter 9, reproducing the paper: training the paper-faithful LeNet-5, its figures and its counts.

``train_run`` trains ``LeNet5Faithful`` with the MAP loss, without or with the paper's affine distortions,
with the paper's stochastic diagonal Levenberg-Marquardt schedule ("sdlm") or Adam with a one-cycle
schedule ("adam"), and returns the model, its history and the run's JSON record; ``write_run`` saves
record and checkpoint as ``results/reproduction/<run_name>.json`` and ``.pt``. The command
``python -m lenet_utils.cli.reproduce`` runs both for the paper's 20 passes. ``compare_batch`` measures
mini-batch SDLM against one-sample SDLM. ``connection_counts`` counts the model's parameters and
connections as the paper's table does; the ``plot_*`` functions draw the chapter's figures (Table I, the
RBF bitmaps, F6 against the bitmaps, the test error per pass).
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..data import TensorLoader, mnist_tensors
from ..distortions import PaperDistortion
from ..models import BITMAP_HEIGHT, BITMAP_WIDTH, LeNet5Faithful, MAPLoss, connection_table, rbf_centres
from ..paper import PAPER_TARGETS
from ..sdlm import PAPER_MU, SDLM, paper_eta
from ..train import RECIPES, RESULTS_DIR, Trainer, describe_machine, get_device, save_checkpoint, seeded

DEFAULT_OUT = RESULTS_DIR / "reproduction"
DEFAULTS = {
    "sdlm": {"batch_size": 16, "mu": PAPER_MU, "curvature_samples": 500},
    "adam": {"batch_size": RECIPES["faithful"]["batch_size"], "max_lr": RECIPES["faithful"]["lr"]},
}


def paper_tensors(device, subset=None, test_subset=None):
    """(x_train, y_train, x_test, y_test) with the paper's scaling, padded to 32x32, on ``device``."""
    return mnist_tensors("paper", pad=True, subset=subset, test_subset=test_subset, device=device)


def sdlm_epoch_hook(x_train, samples: int, batch_size: int, j: float, seed: int, eta_scale: float = 1.0):
    """``on_epoch_start`` for the Trainer: re-estimate h on ``samples`` random training images and
    set the step to the paper's eta for this pass, times the batch size (summed per-sample steps)."""
    gen = torch.Generator().manual_seed(seed + 1)

    def hook(trainer, epoch):
        idx = torch.randperm(len(x_train), generator=gen)[:samples]
        trainer.optimizer.estimate_curvature(trainer.model, x_train[idx.to(x_train.device)], j=j)
        for group in trainer.optimizer.param_groups:
            group["lr"] = eta_scale * paper_eta(epoch) * batch_size

    return hook


def train_run(run: str = "plain", optimizer: str = "sdlm", epochs: int = 20, seed: int = 0, batch_size=None,
              subset=None, test_subset=None, device=None, progress=True, j: float = 0.1, max_lr: float = DEFAULTS["adam"]["max_lr"],
              curvature_samples: int = 500, tensors=None, eta_scale: float = 1.0, checkpoint_every=None):
    """Train one faithful LeNet-5. Returns (model, history, record) where record is the JSON dict."""
    if run not in ("plain", "distorted"):
        raise ValueError(f"run must be 'plain' or 'distorted', got {run!r}")
    if optimizer not in DEFAULTS:
        raise ValueError(f"optimizer must be one of {sorted(DEFAULTS)}, got {optimizer!r}")
    device = torch.device(device) if device is not None else get_device()
    batch_size = batch_size or DEFAULTS[optimizer]["batch_size"]
    xtr, ytr, xte, yte = tensors if tensors is not None else paper_tensors(device, subset, test_subset)
    with seeded(seed):
        model = LeNet5Faithful().to(device)
    transform = PaperDistortion(seed=seed) if run == "distorted" else None
    train_loader = TensorLoader(xtr, ytr, batch_size, shuffle=True, seed=seed, transform=transform)
    test_loader = TensorLoader(xte, yte, 1000)
    loss_fn = MAPLoss(j)
    hook, scheduler, settings = None, None, {"name": optimizer, "batch_size": batch_size, "j": j}
    if optimizer == "sdlm":
        opt = SDLM(model.parameters(), lr=eta_scale * paper_eta(1) * batch_size, mu=PAPER_MU)
        hook = sdlm_epoch_hook(xtr, curvature_samples, batch_size, j, seed, eta_scale)
        settings.update(mu=PAPER_MU, curvature_samples=curvature_samples, eta_scale=eta_scale,
                        eta_per_pass=[eta_scale * paper_eta(e) for e in range(1, epochs + 1)],
                        step="lr = eta * batch_size on the mean mini-batch gradient (sum of per-sample steps)",
                        curvature="the paper's diagonal Gauss-Newton back-propagation (paper_diagonal_hessian)")
    else:
        opt = torch.optim.Adam(model.parameters(), lr=max_lr)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=epochs * len(train_loader))
        settings.update(max_lr=max_lr, schedule="OneCycleLR (cosine), stepped per batch", betas=[0.9, 0.999])
    if transform is not None:
        settings["distortion"] = repr(transform)
    trainer = Trainer(model, opt, loss_fn, device=device, scheduler=scheduler, on_epoch_start=hook)
    start = time.perf_counter()
    for epoch in range(epochs):
        history = trainer.fit(train_loader, test_loader, 1, progress=progress)
        if checkpoint_every is not None:  # keep what is done if the run is cut short
            checkpoint_every(model, history, _record(run, optimizer, seed, epochs, xtr, xte, history, start,
                                                     device, settings))
    return model, history, _record(run, optimizer, seed, epochs, xtr, xte, history, start, device, settings)


def _record(run, optimizer, seed, epochs, xtr, xte, history, start, device, settings) -> dict:
    minutes = (time.perf_counter() - start) / 60
    record = {
        "run": run, "optimizer": optimizer, "seed": seed, "epochs": epochs, "passes_done": len(history),
        "train_samples": len(xtr), "test_samples": len(xte),
        "test_error_per_pass": [round(100 * (1 - h["test_acc"]), 4) for h in history],
        "train_error_per_pass": [round(100 * (1 - h["train_acc"]), 4) for h in history],
        "train_loss_per_pass": [h["train_loss"] for h in history],
        "final_test_error": round(100 * (1 - history[-1]["test_acc"]), 4),
        "test_errors": int(round((1 - history[-1]["test_acc"]) * len(xte))),
        "paper_test_error": PAPER_TARGETS[run],
        "minutes": round(minutes, 3),
        "machine": describe_machine(device),
        "optimizer_settings": settings,
        "date": time.strftime("%Y-%m-%d"),
    }
    return record


def run_name(optimizer: str, run: str, eta_scale: float = 1.0, seed: int = 0) -> str:
    """File stem of a run: "sdlm_plain", "adam_distorted", "sdlm-eta0.02_plain", "adam_plain_seed3" ..."""
    tag = optimizer if eta_scale == 1.0 else f"{optimizer}-eta{eta_scale:g}"
    return f"{tag}_{run}" + (f"_seed{seed}" if seed else "")


def write_run(out: Path, model, history, record) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stem = run_name(record["optimizer"], record["run"], record["optimizer_settings"].get("eta_scale", 1.0),
                    record["seed"])
    save_checkpoint(model, out / f"{stem}.pt", history=history,
                    extra={k: record[k] for k in ("run", "optimizer", "seed", "final_test_error")})
    path = out / f"{stem}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def compare_batch(samples: int = 2000, batch_size: int = 16, seed: int = 0, curvature_samples: int = 500,
                  device="cpu", progress=False, eta_scale: float = 0.02) -> dict:
    """One pass of SDLM over ``samples`` training images with one-sample updates (the paper) and with
    mini-batches of ``batch_size`` (lr = batch_size * eta), from the same initial weights and curvature.
    Returns test errors (10,000 test images) and the relative distance between the two weight vectors."""
    device = torch.device(device)
    xtr, ytr, xte, yte = paper_tensors(device, subset=samples)
    with seeded(seed):
        init = LeNet5Faithful().to(device)
    probe = SDLM(init.parameters())
    h = probe.estimate_curvature(init, xtr[:curvature_samples])
    eta = eta_scale * paper_eta(1)
    result = {"samples": samples, "batch_size": batch_size, "seed": seed, "eta": eta, "mu": PAPER_MU,
              "curvature_samples": curvature_samples, "device": str(device)}
    weights = {}
    for name, b in (("one_sample", 1), ("mini_batch", batch_size)):
        model = copy.deepcopy(init)
        opt = SDLM(model.parameters(), lr=eta * b)
        opt.set_curvature([h[k] for k, _ in model.named_parameters()])
        trainer = Trainer(model, opt, MAPLoss(0.1), device=device)
        loader = TensorLoader(xtr, ytr, b, shuffle=True, seed=seed)
        start = time.perf_counter()
        trainer.fit(loader, None, 1, progress=progress)
        seconds = time.perf_counter() - start
        acc = trainer.evaluate(TensorLoader(*paper_tensors(device)[2:], 1000))["acc"]
        result[name] = {"test_error": round(100 * (1 - acc), 4), "seconds": round(seconds, 2)}
        weights[name] = torch.cat([p.detach().flatten() for p in model.parameters()])
    w0 = torch.cat([p.detach().flatten() for p in init.parameters()])
    result["relative_weight_distance"] = ((weights["one_sample"] - weights["mini_batch"]).norm()
                                          / (weights["one_sample"] - w0).norm()).item()
    return result


def _spatial(t: torch.Tensor) -> int:
    return int(t.shape[-1] * t.shape[-2]) if t.dim() == 4 else 1


@torch.no_grad()
def connection_counts(model: LeNet5Faithful) -> list[dict]:
    """Per layer: trainable parameters and connections, computed from the model itself.

    A connection is one multiply-add (weight or bias) feeding one unit: for a convolution,
    units x (live kernel weights per unit + 1 bias); for subsampling, units x (k*k inputs + 1 bias);
    for F6, outputs x (inputs + 1); for the RBF layer, 10 x 84. Returns rows {layer, params,
    connections}, the last being the total.
    """
    dev = next(model.parameters()).device
    feats = model.features(torch.zeros(1, 1, 32, 32, device=dev))

    def n_params(module) -> int:
        return sum(p.numel() for p in module.parameters() if p.requires_grad)

    rows = []
    # C1: each output unit sees in_channels * k * k weights + a bias.
    c1 = model.c1
    c1_per_unit = c1.in_channels * c1.kernel_size[0] * c1.kernel_size[1] + 1
    rows.append(("C1", n_params(c1), c1.out_channels * _spatial(feats["C1"]) * c1_per_unit))
    k2 = model.s2.kernel_size ** 2
    rows.append(("S2", n_params(model.s2), model.s2.channels * _spatial(feats["S2"]) * (k2 + 1)))
    # C3: the live weights are exactly the entries of c3.weight; each is used at every position.
    c3 = model.c3
    rows.append(("C3", n_params(c3), _spatial(feats["C3"]) * (c3.weight.numel() + c3.out_channels)))
    k2 = model.s4.kernel_size ** 2
    rows.append(("S4", n_params(model.s4), model.s4.channels * _spatial(feats["S4"]) * (k2 + 1)))
    c5 = model.c5
    rows.append(("C5", n_params(c5), c5.out_channels * 1 * (c5.in_channels * c5.kernel_size[0] * c5.kernel_size[1] + 1)))
    f6 = model.f6
    rows.append(("F6", n_params(f6), f6.out_features * (f6.in_features + 1)))
    rows.append(("output", n_params(model.output), model.output.centres.numel()))
    out = [{"layer": n, "params": p, "connections": c} for n, p, c in rows]
    out.append({"layer": "total", "params": sum(r["params"] for r in out),
                "connections": sum(r["connections"] for r in out)})
    # Sanity: every trainable tensor of the model belongs to one of the rows above.
    assert out[-1]["params"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    return out


# ---------------------------------------------------------------------------------------------- figures

def plot_connection_table(table: torch.Tensor | None = None):
    """Table I: rows = the 6 S2 maps, columns = the 16 C3 maps, filled where connected."""
    table = connection_table() if table is None else table
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.imshow(table.T.numpy(), cmap="Greys", vmin=0, vmax=1.4)
    ax.set_xticks(range(16))
    ax.set_yticks(range(6))
    ax.set_xlabel("C3 map")
    ax.set_ylabel("S2 map")
    ax.set_xticks(np.arange(-0.5, 16), minor=True)
    ax.set_yticks(np.arange(-0.5, 6), minor=True)
    ax.grid(which="minor", color="0.7", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_title(f"C3 connection table: {int(table.sum())} of {table.numel()} map pairs connected")
    fig.tight_layout()
    return fig


def plot_rbf_bitmaps(centres: torch.Tensor | None = None):
    """The 10 fixed RBF centres as 7x12 bitmaps (+1 black, -1 white)."""
    centres = rbf_centres() if centres is None else centres
    fig, axes = plt.subplots(1, 10, figsize=(10, 2.2))
    for digit, ax in enumerate(axes):
        ax.imshow(centres[digit].view(BITMAP_HEIGHT, BITMAP_WIDTH).numpy(), cmap="Greys", vmin=-1, vmax=1)
        ax.set_title(str(digit))
        ax.axis("off")
    fig.suptitle("RBF centres: one 7x12 bitmap of +1/-1 per digit (fixed, not trained)")
    fig.tight_layout()
    return fig


def plot_f6_against_rbf(image: torch.Tensor, f6: torch.Tensor, penalties: torch.Tensor, label: int | None = None,
                        centres: torch.Tensor | None = None):
    """One input digit, its 84 F6 outputs drawn as a 7x12 picture, and its squared distance to each
    digit's bitmap (the RBF penalties y_i; the smallest is the prediction)."""
    centres = rbf_centres() if centres is None else centres
    f6, penalties = f6.detach().cpu().flatten(), penalties.detach().cpu().flatten()
    pred = int(penalties.argmin())
    fig = plt.figure(figsize=(10, 3.2))
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 0.7, 0.7, 2.4])
    ax = fig.add_subplot(grid[0])
    ax.imshow(image.detach().cpu().squeeze().numpy(), cmap="Greys")
    ax.set_title("input" + (f" (label {label})" if label is not None else ""))
    ax.axis("off")
    ax = fig.add_subplot(grid[1])
    ax.imshow(f6.view(BITMAP_HEIGHT, BITMAP_WIDTH).numpy(), cmap="Greys", vmin=-1.7, vmax=1.7)
    ax.set_title("F6 output")
    ax.axis("off")
    ax = fig.add_subplot(grid[2])
    ax.imshow(centres[pred].view(BITMAP_HEIGHT, BITMAP_WIDTH).numpy(), cmap="Greys", vmin=-1, vmax=1)
    ax.set_title(f"nearest: {pred}")
    ax.axis("off")
    ax = fig.add_subplot(grid[3])
    colors = ["tab:green" if i == pred else "tab:gray" for i in range(10)]
    ax.bar(range(10), penalties.numpy(), color=colors)
    ax.set_xticks(range(10))
    ax.set_xlabel("RBF unit (digit)")
    ax.set_ylabel("penalty $y_i$ = squared distance")
    ax.set_title("distance of F6 to each bitmap")
    fig.tight_layout()
    return fig


def plot_reproduction_curves(records: list[dict], paper: dict | None = None):
    """Test error per pass for each run record (as written by ``train_run``), with the
    paper's final figures as horizontal lines."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for r in records:
        errors = r["test_error_per_pass"]
        style = "--" if r["run"] == "distorted" else "-"
        ax.plot(range(1, len(errors) + 1), errors, style, marker=".", label=r.get("label", f"{r['optimizer']} {r['run']}"))
    for name, value in (paper or {}).items():
        ax.axhline(value, color="k", linestyle=":" if "dist" in name else "-.", linewidth=1)
        ax.annotate(f"paper, {name}: {value}%", (20, value), xytext=(-4, 3), textcoords="offset points",
                    ha="right", fontsize=8)
    ax.set_ylim(0.4, 3.0)
    ax.set_xlabel("pass over the training set")
    ax.set_ylabel("test error (%)")
    ax.set_title("Faithful LeNet-5 on MNIST: test error per pass")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
