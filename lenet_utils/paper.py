"""Numbers quoted from the 1998 paper (LeCun, Bottou, Bengio and Haffner, "Gradient-based learning
applied to document recognition", Proc. IEEE 86(11)). They are quoted, never measured here; the
chapters compare their own measurements with them.
"""
from __future__ import annotations

# Test errors (%) on MNIST from the paper's Fig. 9.
PAPER_FIG9: dict[str, float] = {
    "linear classifier": 12.0,
    "pairwise linear": 7.6,
    "k-NN, Euclidean": 5.0,
    "40 PCA + quadratic": 3.3,
    "1000 RBF + linear": 3.6,
    "2-layer net, 300 hidden": 4.7,
    "3-layer net, 500-150": 2.95,
    "SVM, polynomial degree 4": 1.1,
    "tangent distance": 1.1,
    "LeNet-1": 1.7,
    "LeNet-4": 1.1,
    "LeNet-5": 0.95,
    "LeNet-5, distortions": 0.8,
}

# LeNet-5's test error (%) without and with the training distortions (Sec. III.C and Fig. 9).
PAPER_TARGETS: dict[str, float] = {"plain": PAPER_FIG9["LeNet-5"], "distorted": PAPER_FIG9["LeNet-5, distortions"]}

# The paper's layer table (Sec. II.B): layer -> (trainable parameters, connections).
PAPER_COUNTS: dict[str, tuple[int, int]] = {
    "C1": (156, 122_304), "S2": (12, 5_880), "C3": (1_516, 151_600), "S4": (32, 2_000),
    "C5": (48_120, 48_120), "F6": (10_164, 10_164), "output": (0, 840), "total": (60_000, 340_908),
}

__all__ = ["PAPER_FIG9", "PAPER_TARGETS", "PAPER_COUNTS"]
