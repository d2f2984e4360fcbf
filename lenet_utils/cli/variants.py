"""Train chapter 8's three LeNet variants with their recipes and write ``results/variants/``:
``python -m lenet_utils.cli.variants`` (see ``--help``).

For each variant, ``<name>.pt`` (weights and per-epoch history) and a row of ``summary.json``
(parameters, final and best test accuracy, seconds per epoch, machine, load, seed). The training itself
is ``lenet_utils.train.train_recipe``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from ..chapters.lenet5 import RESULTS_DIR, VARIANTS, measure_speed, summarize
from ..train import describe_machine, save_checkpoint, train_recipe


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=None, help="override every recipe's epoch count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="output folder (default results/variants)")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only (smoke tests)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads; 1 is much faster on a machine shared with other jobs")
    parser.add_argument("--measure-speed", action="store_true",
                        help="only time one pass over 10,000 images per variant and store it in summary.json")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)

    args.out.mkdir(parents=True, exist_ok=True)
    summary_path = args.out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {"variants": {}}
    if args.measure_speed:
        for name in args.variants:
            speed = measure_speed(name, seed=args.seed)
            summary["variants"].setdefault(name, {})["speed"] = speed
            print(f"{name}: {speed}")
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
        return summary
    for name in args.variants:
        before = describe_machine()
        start = time.perf_counter()
        trainer = train_recipe(name, args.epochs, args.seed, subset=args.subset, progress=not args.no_progress)
        row = summarize(name, trainer, args.seed)
        row.update(wall_seconds=round(time.perf_counter() - start, 1), measured_on=before,
                   load_average_1min_after=round(os.getloadavg()[0], 2), subset=args.subset,
                   date=time.strftime("%Y-%m-%d"))
        save_checkpoint(trainer.model, args.out / f"{name}.pt", history=trainer.history, extra=row)
        summary["variants"][name] = row
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"{name}: {row['parameters']:,} parameters, final test accuracy {row['final_test_acc']:.4f} "
              f"(best {row['best_test_acc']:.4f} at epoch {row['best_epoch']}), "
              f"{row['seconds_per_epoch']:.1f} s per epoch, load {before['load_average_1min']}")
    return summary


if __name__ == "__main__":
    main()
