"""Run chapter 1's hand-made-feature baselines on MNIST and write ``results/baselines.json``:
``python -m lenet_utils.cli.baselines`` (see ``--help``)."""
from __future__ import annotations

import argparse

from ..chapters.background import PIPELINES, RESULTS_PATH, run_baselines, save_results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run the hand-made-feature baselines on MNIST.")
    parser.add_argument("--names", nargs="*", default=None, help=f"pipelines to run (default all: {list(PIPELINES)})")
    parser.add_argument("--train-sample", type=int, default=None,
                        help="train on a random sample of N images (default: each pipeline's own size)")
    parser.add_argument("--test-sample", type=int, default=None, help="test on a random sample of N images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS_PATH))
    args = parser.parse_args(argv)
    rows = run_baselines(args.names, args.train_sample, args.test_sample, args.seed, verbose=True)
    print("wrote", save_results(rows, args.out, args.seed))


if __name__ == "__main__":
    main()
