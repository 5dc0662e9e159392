"""Does one ranking beat another on this collection? A paired bootstrap over queries.

Each query gives one difference (variant − baseline, e.g. nDCG@10). Resampling the queries with
replacement, a fixed number of times from a fixed seed, gives the spread of the mean difference a
different sample of the same kind of queries could have produced; the central 95% of those means
is the interval. Pairing (each query against itself) removes the large query-to-query variation
that two separate intervals would carry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
SEED = 13
LEVEL = 0.95


@dataclass(frozen=True)
class PairedDifference:
    mean: float  # mean over queries of variant − baseline
    low: float  # bounds of the bootstrap interval of that mean
    high: float
    queries: int

    @property
    def verdict(self) -> str:
        """Plain words: an interval wholly above or below 0 is a difference, anything else is not."""
        if self.low > 0:
            return "reranking helps this collection"
        if self.high < 0:
            return "reranking hurts this collection"
        return "no clear difference"

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "mean_difference": self.mean,
            "ci_low": self.low,
            "ci_high": self.high,
            "queries": self.queries,
            "verdict": self.verdict,
        }


def paired_bootstrap(
    variant: np.ndarray, baseline: np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> PairedDifference:
    """Percentile bootstrap interval of mean(variant − baseline); the arrays hold one value per
    query, in the same query order."""
    diff = np.asarray(variant, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    if diff.size == 0:
        raise ValueError("no queries to compare")
    picks = np.random.default_rng(seed).integers(0, diff.size, size=(resamples, diff.size))
    means = diff[picks].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    # Kept at the 4 places every report shows, so a decision (low > 0) and its stated reason read the same number.
    return PairedDifference(mean=round(float(diff.mean()), 4), low=round(float(low), 4), high=round(float(high), 4), queries=int(diff.size))
