"""A gate threshold with a stated guarantee on how often unanswerable queries get an answer.

Learn-then-Test with fixed-sequence testing: thresholds are tried on a grid fixed in advance, from
the strictest downward; at each one the null "false-accept rate > target" is rejected when the
Clopper-Pearson upper bound on the rate, from held-out unanswerable queries, is at most the target.
The walk stops at the first threshold that fails, and the lowest one passed is chosen. With
probability at least `confidence` over the draw of calibration queries, the chosen threshold's
false-accept rate on new queries like them is at most `max_false_accept`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GRID = np.round(np.linspace(1.0, 0.0, 1001), 3)  # fixed before seeing data, strictest first


def clopper_pearson_upper(*, errors: int, n: int, confidence: float) -> float:
    """One-sided exact upper confidence bound on a binomial rate after `errors` in `n` trials."""
    from scipy.stats import beta

    if n == 0 or errors >= n:
        return 1.0
    return float(beta.ppf(confidence, errors + 1, n - errors))


def fewest_to_certify(*, max_false_accept: float, confidence: float) -> int:
    """The fewest unanswerable queries whose bound, with none of them accepted, is within the target:
    with fewer, even the strictest threshold cannot be certified."""
    return math.ceil(math.log(1 - confidence) / math.log(1 - max_false_accept) - 1e-9)


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float  # answer when p_answerable >= threshold; above 1 means never answer
    false_accept_bound: float  # Clopper-Pearson upper bound at that threshold
    false_accept_rate: float  # observed on the calibration unanswerable queries
    false_abstain_rate: float  # observed on the calibration answerable queries
    unanswerable: int
    answerable: int


def choose_threshold(*, answerable: np.ndarray, unanswerable: np.ndarray, max_false_accept: float, confidence: float) -> ThresholdChoice:
    """The lowest grid threshold reached before the first whose bound exceeds `max_false_accept`."""
    a = np.asarray(answerable, dtype=np.float64)
    u = np.asarray(unanswerable, dtype=np.float64)
    chosen = None
    for t in GRID:
        k = int((u >= t).sum())
        bound = clopper_pearson_upper(errors=k, n=len(u), confidence=confidence)
        if bound > max_false_accept:
            break
        chosen = (float(t), bound, k)
    if chosen is None:
        # Too few unanswerable queries to certify even the strictest threshold: never answer,
        # which accepts nothing for certain.
        return ThresholdChoice(1.001, 0.0, 0.0, 1.0, len(u), len(a))
    t, bound, k = chosen
    return ThresholdChoice(
        threshold=t,
        false_accept_bound=bound,
        false_accept_rate=k / len(u),
        false_abstain_rate=float((a < t).mean()) if len(a) else 0.0,
        unanswerable=len(u),
        answerable=len(a),
    )
