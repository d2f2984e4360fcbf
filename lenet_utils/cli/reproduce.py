"""Reproduce the 1998 paper's LeNet-5 results: ``python -m lenet_utils.cli.reproduce``.

Trains ``LeNet5Faithful`` with the MAP loss for 20 passes, without and with the paper's affine
distortions, and writes for each run a JSON record (test and training error per pass, final test
error, per-layer step sizes for SDLM, seed, minutes, machine, torch version, the git commit it ran
from) and the checkpoint. Optimizers (``--optimizer``):

* ``sdlm`` (default): the paper's own training (Appendix C, Sec. III): stochastic diagonal
  Levenberg-Marquardt with one image per update, eta from the paper's schedule, the curvature
  re-estimated on 500 patterns before each pass (``lenet_utils.online``); mu = 0.1 and the Efficient
  BackProp initialisation (``--mu 0.02 --init paper`` give the paper's). Files
  ``sdlm-online_{run}_seed{N}.json`` / ``.pt``.
* ``sdlm-batch``: the same step rule summed over mini-batches of 16 (``--eta-scale 0.02`` trains).
* ``adam``: Adam with a one-cycle schedule.

Files go to ``--out`` (default ``runs/reproduction/``, outside the committed results); the committed
records in ``results/reproduction/`` change only if you name that folder. An existing file is never
replaced unless ``--overwrite`` is given. After every pass the record and checkpoint of the passes
done so far are saved, so a run cut short keeps what it finished, and ``--resume`` continues it from
its last finished pass to ``--epochs`` passes with the same numbers as an uninterrupted run.

``--short`` is a smoke run (1 pass over 2,000 images, 2,000 test images) into a new temporary folder
unless ``--out`` is given. ``--compare-batch N`` measures mini-batch against one-sample SDLM instead.
The training itself is in ``lenet_utils.chapters.reproduction``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from ..chapters.reproduction import (DEFAULT_OUT, DEFAULTS, check_free, compare_batch, paper_tensors, record_stem,
                                     resume_run, run_name, run_paths, train_run, write_run)
from ..models import INIT_RULES
from ..paper import PAPER_TARGETS
from ..train import get_device


def _progress(out, model, history, record) -> None:
    write_run(out, model, history, record)
    loss = history[-1].get("train_loss", history[-1].get("train_loss_online"))
    print(f"  {record_stem(record)} pass {len(history)}: test error {record['test_error_per_pass'][-1]:.2f}%, "
          f"train loss {loss:.3f}, {record['minutes']:.1f} min", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lenet_utils.cli.reproduce", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", choices=["plain", "distorted", "both"], default="both")
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (paper: 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimizer", choices=sorted(DEFAULTS), default="sdlm",
                        help="sdlm: the paper's online SDLM (default); sdlm-batch: mini-batches of 16; adam")
    parser.add_argument("--init", choices=sorted(INIT_RULES), default=None,
                        help="initialisation (default: efficient-backprop for sdlm, paper for the others)")
    parser.add_argument("--mu", type=float, default=None,
                        help=f"online SDLM's mu (default {DEFAULTS['sdlm']['mu']}; the paper: 0.02)")
    parser.add_argument("--batch-size", type=int, default=None, help="sdlm-batch: 16, adam: 32")
    parser.add_argument("--j", type=float, default=0.1, help="the MAP loss constant j")
    parser.add_argument("--eta-scale", type=float, default=None,
                        help="multiply the paper's eta schedule (sdlm, sdlm-batch; default 1, 0.02 with --compare-batch)")
    parser.add_argument("--curvature-samples", type=int, default=500, help="patterns for h before each pass")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N training images")
    parser.add_argument("--test-subset", type=int, default=None)
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (sdlm-batch and adam; sdlm runs on the CPU)")
    parser.add_argument("--short", action="store_true",
                        help="smoke run: 1 pass on 2,000 images, 2,000 test images, into a new temporary folder")
    parser.add_argument("--compare-batch", type=int, default=None, metavar="N",
                        help="instead of training: SDLM one-sample vs mini-batch on N images")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for the records (default {DEFAULT_OUT}; --short: a new temporary folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace records that already exist in --out")
    parser.add_argument("--resume", action="store_true",
                        help="continue the online SDLM runs in --out from their last finished pass to --epochs passes")
    args = parser.parse_args(argv)

    out = args.out
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="lenet-reproduce-")) if args.short else DEFAULT_OUT
    if args.compare_batch:
        target = out / "sdlm_batch_check.json"
        if target.exists() and not args.overwrite:
            parser.error(f"{target} exists; choose another --out or pass --overwrite")
        result = compare_batch(args.compare_batch, args.batch_size or DEFAULTS["sdlm-batch"]["batch_size"], args.seed,
                               device=args.device or "cpu", progress=not args.no_progress,
                               eta_scale=0.02 if args.eta_scale is None else args.eta_scale)
        out.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
        return 0
    epochs, subset, test_subset, curv = args.epochs, args.subset, args.test_subset, args.curvature_samples
    if args.short:
        epochs, subset, test_subset, curv = 1, subset or 2000, test_subset or 2000, min(curv, 20)
    runs = ["plain", "distorted"] if args.run == "both" else [args.run]
    eta_scale = 1.0 if args.eta_scale is None else args.eta_scale
    init = args.init or DEFAULTS[args.optimizer]["init"]
    if args.mu is not None and args.optimizer != "sdlm":
        parser.error("--mu applies to --optimizer sdlm")
    mu = DEFAULTS["sdlm"]["mu"] if args.mu is None else args.mu
    stems = [run_name(args.optimizer, run, eta_scale, args.seed, init, mu) for run in runs]
    if args.resume:
        if args.optimizer != "sdlm":
            parser.error("--resume continues online SDLM runs (--optimizer sdlm)")
        missing = [str(p) for stem in stems for p in run_paths(out, stem) if not p.exists()]
        if missing:
            parser.error(f"nothing to resume: {', '.join(missing)} not found; start the run without --resume")
    else:
        try:
            check_free(out, stems, args.overwrite)
        except FileExistsError as err:
            parser.error(str(err))
    device = torch.device("cpu") if args.optimizer == "sdlm" else (
        torch.device(args.device) if args.device else get_device())
    tensors = paper_tensors(device, subset, test_subset)
    print(f"writing to {out}", flush=True)
    for run, stem in zip(runs, stems):
        progress = lambda m, h, r: _progress(out, m, h, r)  # noqa: E731
        try:
            if args.resume:
                model, history, record = resume_run(out, stem, epochs, tensors=tensors, progress=not args.no_progress,
                                                    checkpoint_every=progress)
            else:
                model, history, record = train_run(run, args.optimizer, epochs, args.seed, args.batch_size,
                                                   device=device, progress=not args.no_progress, j=args.j,
                                                   curvature_samples=curv, tensors=tensors, eta_scale=eta_scale,
                                                   init=init, mu=mu if args.optimizer == "sdlm" else None,
                                                   checkpoint_every=progress)
        except KeyboardInterrupt:
            print(f"interrupted: the passes finished so far are saved in {out}", flush=True)
            return 130
        path = write_run(out, model, history, record)
        print(f"{record_stem(record)}: test error {record['final_test_error']:.2f}% "
              f"(paper {PAPER_TARGETS[run]}%) in {record['minutes']:.1f} min -> {path}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
