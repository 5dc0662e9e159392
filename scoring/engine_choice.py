"""`backend = "auto"` on CPU: which engine is fastest on this machine while keeping the ranking.

Speed depends on the CPU (int8 pays off with VNNI/AMX, not everywhere) and accuracy on the model,
so neither is assumed: every candidate engine scores the same pairs, timed side by side, and the
fastest whose scores keep Spearman rho >= MIN_SPEARMAN and logits within MAX_LOGIT_ERROR of fp32 PyTorch wins (of engines
within TIE of the fastest, the most accurate). The verdict is
stored as a small JSON file beside the exports, keyed by weights, CPU and thread count, so it is
measured once per model and machine."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

MIN_SPEARMAN = 0.99  # the accuracy bar every engine must clear (bench/RESULTS.md)
# Calibrated relevance and the abstain gate read the logits themselves, so an engine must keep
# them as well as their order (static int8 moved a relevant pair's logit by 0.6).
MAX_LOGIT_ERROR = 0.3
ROUNDS = 3  # interleaved rounds, best of each: a busy machine slows one round, not the verdict
TIE = 0.10  # engines this close to the fastest count as equally fast; timing noise then decides nothing


def machine(threads: int) -> str:
    """The CPU model and thread count the verdict holds for."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}; {threads} threads"


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


def measure(scorers: dict[str, Callable[[], np.ndarray]], *, reference: str) -> dict[str, dict[str, float]]:
    """Seconds (best of ROUNDS, engines interleaved) and Spearman rho against `reference` per engine."""
    seconds = {name: float("inf") for name in scorers}
    scores: dict[str, np.ndarray] = {}
    for _ in range(ROUNDS):
        for name, score in scorers.items():
            t0 = time.perf_counter()
            scores[name] = score()
            seconds[name] = min(seconds[name], time.perf_counter() - t0)
    return {
        name: {
            "seconds": round(seconds[name], 4),
            "spearman": round(spearman(scores[reference], scores[name]), 5),
            "max_logit_error": round(float(np.abs(scores[reference] - scores[name]).max()), 4),
        }
        for name in scorers
    }


def pick(measured: dict[str, dict[str, float]], *, reference: str) -> tuple[str, str]:
    """The fastest engine that keeps the ranking, and why, in words."""
    passing = [
        n for n, m in measured.items() if n == reference or (m["spearman"] >= MIN_SPEARMAN and m["max_logit_error"] <= MAX_LOGIT_ERROR)
    ]
    fastest = min(measured[n]["seconds"] for n in passing)
    # Among the equally fast, the one closest to fp32.
    best = max((n for n in passing if measured[n]["seconds"] <= fastest * (1 + TIE)), key=lambda n: measured[n]["spearman"])
    base = measured[reference]["seconds"]
    failed = [f"{n} (rho {m['spearman']:.3f}, max logit error {m['max_logit_error']:.2f})" for n, m in measured.items() if n not in passing]
    why = (
        f"fastest on this CPU that keeps Spearman rho >= {MIN_SPEARMAN} against fp32 (ties within {TIE:.0%} go to the higher rho): "
        + ", ".join(
            f"{n} x{base / measured[n]['seconds']:.2f} rho {measured[n]['spearman']:.4f}"
            for n in sorted(passing, key=lambda n: measured[n]["seconds"])
        )
    )
    if failed:
        why += "; rejected for ranking: " + ", ".join(failed)
    return best, why


def load(path: Path, *, key: str) -> dict | None:
    """The stored verdict if it was measured for this key (machine and candidate engines)."""
    try:
        verdict = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return verdict if verdict.get("key") == key else None


def save(path: Path, verdict: dict) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(verdict, indent=1))
    os.replace(tmp, path)  # atomic: a concurrent loader reads all of it or none
