"""Reproduce the 1998 paper's LeNet-5 results: ``python -m lenet_utils.reproduce``.

Trains ``LeNet5Faithful`` with the MAP loss for 20 passes, without and with the paper's affine
distortions, using the paper's stochastic diagonal Levenberg-Marquardt schedule (``--optimizer
sdlm``) or Adam with a one-cycle schedule (``--optimizer adam``), and writes for each run a JSON file
(test error per pass, final test error, seed, minutes, machine, torch version, optimizer settings)
and the final checkpoint into ``--out`` (default ``results/reproduction/``):

    {optimizer}_{run}.json   {optimizer}_{run}.pt     (seed 0)
    {optimizer}_{run}_seed{N}.json   ...              (any other seed, so runs never overwrite each other)

``--short`` is a quick check of the pipeline (1 pass over a 2,000-image subset).
``--compare-batch N`` measures the mini-batch SDLM against one-sample SDLM on N images instead.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from .data import load_mnist, prepare, TensorLoader
from .distortions import PaperDistortion
from .faithful import LeNet5Faithful, MAPLoss
from .sdlm import SDLM, PAPER_MU, paper_eta
from .train import Trainer, get_device, save_checkpoint, set_seed

DEFAULT_OUT = Path("results/reproduction")
PAPER_TARGETS = {"plain": 0.95, "distorted": 0.8}  # test error %, Sec. III.C
DEFAULTS = {
    "sdlm": {"batch_size": 16, "mu": PAPER_MU, "curvature_samples": 500},
    "adam": {"batch_size": 32, "max_lr": 2e-3},
}


def machine_description(device: torch.device) -> dict:
    """Where a run happened: device, CPU model and count, GPU name, torch/CUDA versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    info = {"device": str(device), "cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def paper_tensors(device, subset=None, test_subset=None):
    """(x_train, y_train, x_test, y_test) with the paper's scaling, padded to 32x32, on ``device``."""
    xtr, ytr = load_mnist(True)
    xte, yte = load_mnist(False)
    if subset is not None:
        xtr, ytr = xtr[:subset], ytr[:subset]
    if test_subset is not None:
        xte, yte = xte[:test_subset], yte[:test_subset]
    return (prepare(xtr, "paper", pad=True).to(device), ytr.to(device),
            prepare(xte, "paper", pad=True).to(device), yte.to(device))


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
              subset=None, test_subset=None, device=None, progress=True, j: float = 0.1, max_lr: float = 2e-3,
              curvature_samples: int = 500, tensors=None, eta_scale: float = 1.0, checkpoint_every=None):
    """Train one faithful LeNet-5. Returns (model, history, record) where record is the JSON dict."""
    if run not in ("plain", "distorted"):
        raise ValueError(f"run must be 'plain' or 'distorted', got {run!r}")
    if optimizer not in DEFAULTS:
        raise ValueError(f"optimizer must be one of {sorted(DEFAULTS)}, got {optimizer!r}")
    device = torch.device(device) if device is not None else get_device()
    batch_size = batch_size or DEFAULTS[optimizer]["batch_size"]
    xtr, ytr, xte, yte = tensors if tensors is not None else paper_tensors(device, subset, test_subset)
    set_seed(seed)
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
        "machine": machine_description(device),
        "torch": torch.__version__,
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


def _progress(out, model, history, record) -> None:
    write_run(out, model, history, record)
    print(f"  {run_name(record['optimizer'], record['run'], record['optimizer_settings'].get('eta_scale', 1.0))} "
          f"pass {len(history)}: test error {record['test_error_per_pass'][-1]:.2f}%, "
          f"train loss {history[-1]['train_loss']:.3f}, {record['minutes']:.1f} min", flush=True)


def compare_batch(samples: int = 2000, batch_size: int = 16, seed: int = 0, curvature_samples: int = 500,
                  device="cpu", progress=False, eta_scale: float = 0.02) -> dict:
    """One pass of SDLM over ``samples`` training images with one-sample updates (the paper) and with
    mini-batches of ``batch_size`` (lr = batch_size * eta), from the same initial weights and curvature.
    Returns test errors (10,000 test images) and the relative distance between the two weight vectors."""
    device = torch.device(device)
    xtr, ytr, xte, yte = paper_tensors(device, subset=samples)
    set_seed(seed)
    init = LeNet5Faithful().to(device)
    probe = SDLM(init.parameters())
    h = probe.estimate_curvature(init, xtr[:curvature_samples])
    eta = eta_scale * paper_eta(1)
    result = {"samples": samples, "batch_size": batch_size, "seed": seed, "eta": eta, "mu": PAPER_MU,
              "curvature_samples": curvature_samples, "device": str(device)}
    weights = {}
    for name, b in (("one_sample", 1), ("mini_batch", batch_size)):
        model = LeNet5Faithful(init=False).to(device)
        model.load_state_dict(init.state_dict())
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lenet_utils.reproduce", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", choices=["plain", "distorted", "both"], default="both")
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (paper: 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimizer", choices=sorted(DEFAULTS), default="sdlm")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 16 for sdlm, 32 for adam")
    parser.add_argument("--j", type=float, default=0.1, help="the MAP loss constant j")
    parser.add_argument("--eta-scale", type=float, default=None,
                        help="multiply the paper's eta schedule (sdlm; default 1, and 0.02 with --compare-batch)")
    parser.add_argument("--curvature-samples", type=int, default=500, help="samples for h before each pass")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N training images")
    parser.add_argument("--test-subset", type=int, default=None)
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: the best available)")
    parser.add_argument("--short", action="store_true", help="quick check: 1 pass on 2,000 images, 2,000 test images")
    parser.add_argument("--compare-batch", type=int, default=None, metavar="N",
                        help="instead of training: SDLM one-sample vs mini-batch on N images")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    if args.compare_batch:
        result = compare_batch(args.compare_batch, args.batch_size or DEFAULTS["sdlm"]["batch_size"], args.seed,
                               device=args.device or "cpu", progress=not args.no_progress, eta_scale=0.02 if args.eta_scale is None else args.eta_scale)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "sdlm_batch_check.json").write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
        return 0
    epochs, subset, test_subset, curv = args.epochs, args.subset, args.test_subset, args.curvature_samples
    if args.short:
        epochs, subset, test_subset, curv = 1, subset or 2000, test_subset or 2000, min(curv, 20)
    runs = ["plain", "distorted"] if args.run == "both" else [args.run]
    device = torch.device(args.device) if args.device else get_device()
    tensors = paper_tensors(device, subset, test_subset)
    for run in runs:
        model, history, record = train_run(run, args.optimizer, epochs, args.seed, args.batch_size, device=device,
                                           progress=not args.no_progress, j=args.j, curvature_samples=curv,
                                           tensors=tensors, eta_scale=1.0 if args.eta_scale is None else args.eta_scale,
                                           checkpoint_every=lambda m, h, r: _progress(args.out, m, h, r))
        path = write_run(args.out, model, history, record)
        print(f"{record['optimizer']} {run}: test error {record['final_test_error']:.2f}% "
              f"(paper {PAPER_TARGETS[run]}%) in {record['minutes']:.1f} min -> {path}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
