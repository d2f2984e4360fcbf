"""Reproduce the 1998 paper's LeNet-5 results: ``python -m lenet_utils.cli.reproduce``.

Trains ``LeNet5Faithful`` with the MAP loss for 20 passes, without and with the paper's affine
distortions, using the paper's stochastic diagonal Levenberg-Marquardt schedule (``--optimizer
sdlm``) or Adam with a one-cycle schedule (``--optimizer adam``), and writes for each run a JSON file
(test error per pass, final test error, seed, minutes, machine, torch version, optimizer settings)
and the final checkpoint into ``--out`` (default ``results/reproduction/``):

    {optimizer}_{run}.json   {optimizer}_{run}.pt     (seed 0)
    {optimizer}_{run}_seed{N}.json   ...              (any other seed, so runs never overwrite each other)

``--short`` is a quick check of the pipeline (1 pass over a 2,000-image subset).
``--compare-batch N`` measures the mini-batch SDLM against one-sample SDLM on N images instead.
The training itself is ``lenet_utils.chapters.reproduction.train_run``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ..chapters.reproduction import (DEFAULT_OUT, DEFAULTS, compare_batch, paper_tensors, run_name, train_run,
                                     write_run)
from ..paper import PAPER_TARGETS
from ..train import get_device


def _progress(out, model, history, record) -> None:
    write_run(out, model, history, record)
    print(f"  {run_name(record['optimizer'], record['run'], record['optimizer_settings'].get('eta_scale', 1.0))} "
          f"pass {len(history)}: test error {record['test_error_per_pass'][-1]:.2f}%, "
          f"train loss {history[-1]['train_loss']:.3f}, {record['minutes']:.1f} min", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lenet_utils.cli.reproduce", description=__doc__.split("\n\n")[0])
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
