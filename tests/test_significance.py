"""The paired bootstrap interval behind `ragate eval`'s verdict on reranking."""

import numpy as np
import pytest

from ragate.scoring.significance import paired_bootstrap

BASE = np.random.default_rng(0).random(200)
NOISE = np.random.default_rng(1).normal(0, 0.1, 200)


def test_a_steady_gain_is_a_help_and_a_steady_loss_a_hurt():
    gain = paired_bootstrap(BASE + 0.05 + NOISE, BASE)
    assert 0 < gain.low < gain.mean < gain.high and gain.mean == pytest.approx(0.05 + NOISE.mean(), abs=5e-5)
    # The report states the very numbers the verdict was taken on.
    assert (gain.to_dict()["ci_low"], gain.to_dict()["mean_difference"]) == (gain.low, gain.mean)
    assert gain.verdict == "reranking helps this collection"
    assert paired_bootstrap(BASE - 0.05 + NOISE, BASE).verdict == "reranking hurts this collection"


def test_noise_around_zero_and_identical_runs_are_no_clear_difference():
    noise = paired_bootstrap(BASE + NOISE - NOISE.mean(), BASE)
    assert noise.low < 0 < noise.high and noise.verdict == "no clear difference"
    same = paired_bootstrap(BASE, BASE)
    assert (same.low, same.mean, same.high) == (0.0, 0.0, 0.0) and same.verdict == "no clear difference"


def test_the_interval_is_repeatable_and_narrows_with_more_queries():
    a = paired_bootstrap(BASE + NOISE, BASE)
    assert a == paired_bootstrap(BASE + NOISE, BASE)  # fixed seed: the same report every run
    few = paired_bootstrap(BASE[:20] + NOISE[:20], BASE[:20])
    assert few.high - few.low > a.high - a.low
    with pytest.raises(ValueError, match="no queries"):
        paired_bootstrap(np.array([]), np.array([]))
