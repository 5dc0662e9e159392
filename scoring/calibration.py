"""Cross-encoder logits → probabilities of relevance.

Default: the model's own sigmoid. Fitted: Platt scaling (sigmoid(a·logit + b)) or isotonic
regression on labelled pairs, kept in a collection's calibration profile (scoring/profile.py) with
the reranker and chunking it was fitted for. Always computed in fp32/fp64."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel

from ragate.retrieval.errors import BadInput


def sigmoid(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit  # no overflow for large |x|

    return expit(np.asarray(x, dtype=np.float64))


class CalibrationParams(BaseModel):
    method: Literal["sigmoid", "platt", "isotonic"] = "sigmoid"
    model: str = ""
    chunking: str = ""
    a: float = 1.0
    b: float = 0.0
    # isotonic: breakpoints (logit → probability), interpolated linearly
    x: list[float] = []
    y: list[float] = []
    ece_before: float | None = None
    ece_after: float | None = None
    threshold: float | None = None
    fitted_on: str = ""
    pairs: int = 0


class Calibrator:
    def __init__(self, params: CalibrationParams | None = None):
        self.params = params or CalibrationParams()

    @property
    def method(self) -> str:
        return self.params.method

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64)
        p = self.params
        if p.method == "platt":
            return sigmoid(p.a * z + p.b)
        if p.method == "isotonic":
            return np.interp(z, p.x, p.y)
        return sigmoid(z)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Σ_bins (|bin| / n) · |mean(prob) − mean(label)| over equal-width probability bins."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if len(probs) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(probs, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(probs[m].mean() - labels[m].mean())
    return float(ece)


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Logistic regression of labels on logits with Platt's smoothed targets, which keep the
    optimum finite even when the pairs are perfectly separated (plain Newton steps can run off)."""
    from scipy.optimize import minimize
    from scipy.special import log_expit

    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        s = ab[0] * z + ab[1]
        value = -np.sum(t * log_expit(s) + (1 - t) * log_expit(-s))
        r = sigmoid(s) - t
        return float(value), np.array([np.sum(r * z), np.sum(r)])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


def fit_isotonic(logits: np.ndarray, labels: np.ndarray) -> tuple[list[float], list[float]]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(logits, labels)
    return [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]


def fit(
    logits: np.ndarray, labels: np.ndarray, method: Literal["platt", "isotonic"], model: str, chunking: str, fitted_on: str = ""
) -> CalibrationParams:
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if len(set(labels.tolist())) < 2:
        raise BadInput("calibration needs both relevant and non-relevant pairs")
    params = CalibrationParams(method=method, model=model, chunking=chunking, fitted_on=fitted_on, pairs=len(labels))
    if method == "platt":
        params.a, params.b = fit_platt(logits, labels)
    else:
        params.x, params.y = fit_isotonic(logits, labels)
    params.ece_before = expected_calibration_error(sigmoid(logits), labels)
    params.ece_after = expected_calibration_error(Calibrator(params)(logits), labels)
    return params


def threshold_for_precision(probs: np.ndarray, labels: np.ndarray, target: float) -> float | None:
    """The lowest threshold t such that precision of {p ≥ t} reaches the target, or None if none does."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(-probs, kind="stable")
    p_sorted, l_sorted = probs[order], labels[order]
    tp = np.cumsum(l_sorted)
    precision = tp / np.arange(1, len(l_sorted) + 1)
    best = None
    for i in range(len(p_sorted)):
        # Only cut between distinct scores: everything at the same score is accepted together.
        if i + 1 < len(p_sorted) and p_sorted[i + 1] == p_sorted[i]:
            continue
        if precision[i] >= target:
            best = float(p_sorted[i])
    return best
