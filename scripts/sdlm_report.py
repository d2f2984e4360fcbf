"""The figures of issue 13's closing note (online SDLM), printed as one JSON object.

    LENET_DATA=... .venv/bin/python scripts/sdlm_report.py [--runs DIR] [--diverged DIR] [--steps N]

1. The curvature recursion (``sdlm.paper_diagonal_hessian``) against an independent per-connection
   version of the same recursion (tests/sdlm_reference.py): largest relative error per layer, 4 digits;
   and against the exact Gauss-Newton diagonal (``sdlm.gauss_newton_diagonal``): per layer, the median
   ratio paper / exact and the correlation of the two over the layer's parameters, at the Efficient
   BackProp initialisation and, if ``--runs`` holds one, at the weights of a trained plain run.
2. One online step: the eager loop against ``FastOnlineStep`` (``online.benchmark``), seconds per pass
   of 60,000 updates, with the 1-minute load average.
3. From the online records in ``--runs``: test and training error per pass and seed, the paper's beside
   them; per-layer step sizes and the share of parameters where mu > h in the first and last pass.
4. From the mu = 0.02 records in ``--diverged`` (the paper's exact settings): test error per pass, the
   saturated share of each layer's units and the share of parameters where mu > h, pass by pass.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from lenet_utils.chapters.reproduction import PAPER_CURVE, run_paths  # noqa: E402
from lenet_utils.data import load_mnist, prepare  # noqa: E402
from lenet_utils.models import LeNet5Faithful, efficient_backprop_init_  # noqa: E402
from lenet_utils.online import benchmark  # noqa: E402
from lenet_utils.paper import PAPER_TARGETS  # noqa: E402
from lenet_utils.sdlm import gauss_newton_diagonal, paper_diagonal_hessian  # noqa: E402
from lenet_utils.train import load_checkpoint, seeded  # noqa: E402
from sdlm_reference import per_sample_paper_h  # noqa: E402

LAYERS = ("c1", "s2", "c3", "s4", "c5", "f6")


def _by_layer(model, values: dict) -> dict:
    return {layer: torch.cat([values[n].flatten() for n, _ in model.named_parameters() if n.startswith(layer + ".")])
            for layer in LAYERS}


def curvature_checks(model, x4, x_gn) -> dict:
    h4, ref = _by_layer(model, paper_diagonal_hessian(model, x4)), _by_layer(model, per_sample_paper_h(model, x4))
    recursion = {layer: float(((h4[layer] - ref[layer]).abs() / ref[layer].abs().clamp_min(1e-12)).max())
                 for layer in LAYERS}
    h, gn = _by_layer(model, paper_diagonal_hessian(model, x_gn)), _by_layer(model, gauss_newton_diagonal(model, x_gn))
    exact = {}
    for layer in LAYERS:
        a, b = h[layer].double(), gn[layer].double()
        corr = float(torch.corrcoef(torch.stack([a, b]))[0, 1])
        exact[layer] = {"median_ratio_paper_over_exact": float((a / b.clamp_min(1e-30)).median()),
                        "correlation": round(corr, 4)}
    return {"max_rel_error_vs_independent_recursion": recursion, "samples_recursion": len(x4),
            "vs_exact_gauss_newton": exact, "samples_gauss_newton": len(x_gn)}


def _runs(folder: Path, pattern: str) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob(pattern))}


def run_summary(records: dict) -> dict:
    out = {}
    for stem, r in records.items():
        first, last = r["step_sizes_per_pass"][0], r["step_sizes_per_pass"][-1]
        out[stem] = {
            "passes_done": r["passes_done"], "test_error_per_pass": r["test_error_per_pass"],
            "train_error_per_pass": r["train_error_per_pass"],
            "paper_test_error": PAPER_TARGETS[r["run"]],
            "paper_train_error_after_19": PAPER_CURVE["train_error"] if r["run"] == "plain" else None,
            "step_sizes_first_pass": {k: {q: round(v[q], 6) for q in ("eps_min", "eps_median", "eps_max", "mu_dominates")}
                                      for k, v in first.items()},
            "step_sizes_last_pass": {k: {q: round(v[q], 6) for q in ("eps_min", "eps_median", "eps_max", "mu_dominates")}
                                     for k, v in last.items()},
            "seconds_per_pass": r["seconds_per_pass"], "step_seconds_per_pass": r["step_seconds_per_pass"],
        }
    return out


def divergence_summary(records: dict) -> dict:
    out = {}
    for stem, r in records.items():
        out[stem] = {"mu": r["optimizer_settings"]["mu"], "init": r["optimizer_settings"]["init"],
                     "test_error_per_pass": r["test_error_per_pass"],
                     "saturation_per_pass": r.get("saturation_per_pass"),
                     "mu_dominates_per_pass": [{k: round(v["mu_dominates"], 3) for k, v in s.items()}
                                               for s in r["step_sizes_per_pass"]],
                     "h_median_per_pass": [{k: v["h_median"] for k, v in s.items()} for s in r["step_sizes_per_pass"]]}
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=ROOT / "results" / "reproduction",
                        help="folder with the online records sdlm-online_*.json (default results/reproduction)")
    parser.add_argument("--diverged", type=Path, default=None, help="folder with mu = 0.02 online records")
    parser.add_argument("--steps", type=int, default=2000, help="timed steps per way for the step benchmark")
    parser.add_argument("--gn-samples", type=int, default=50)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    xtr, _ = load_mnist(True)
    x = prepare(xtr[:args.gn_samples], "paper", pad=True)
    report = {}
    with seeded(0):
        model = efficient_backprop_init_(LeNet5Faithful(init=False))
    report["curvature_at_init"] = curvature_checks(model, x[:4], x)
    trained = run_paths(args.runs, "sdlm-online_plain_seed0")[1]
    if trained.is_file():
        load_checkpoint(model, trained)
        report["curvature_trained_plain_seed0"] = curvature_checks(model, x[:4], x)
    report["online_step"] = benchmark(args.steps)
    report["runs"] = run_summary(_runs(args.runs, "sdlm-online_*.json"))
    if args.diverged is not None:
        report["mu_0.02"] = divergence_summary(_runs(args.diverged, "sdlm-online*.json"))
    report["load_average_1min_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
