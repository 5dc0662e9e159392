"""`backend = "auto"` on CPU: which engine is fastest on this machine while keeping fp32's output.

Speed depends on the CPU (int8 pays off with VNNI/AMX, not everywhere) and accuracy on the model,
so neither is assumed: every candidate engine computes the same output, timed side by side, and
the fastest that clears the model's accuracy bar against fp32 PyTorch wins (of engines within TIE
of the fastest, the most accurate). The cross-encoder's bar is on its scores (Spearman rho >=
MIN_SPEARMAN, logits within MAX_LOGIT_ERROR); the bi-encoder's on its vectors (cosine >=
MIN_COSINE for every text). The verdict is stored as a small JSON file beside the exports, keyed
by weights, CPU, thread count and candidates, so it is measured once per model and machine.

Engines that cannot win on this CPU are not exported or measured at all (`worth_measuring`): int8
pays only with VNNI or AMX, bf16 only with AVX-512 BF16 or AMX. With `later`, a first start
answers at once in PyTorch while the rest are measured in a background thread at the lowest CPU
priority; the winner is timed once more against PyTorch before the switch, and kept only if it
still wins."""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ragate.scoring.engines import cpu_engines
from ragate.scoring.engines.runners import lowest_priority

log = logging.getLogger(__name__)

MIN_SPEARMAN = 0.99  # the ranking bar every reranker engine must clear (bench/RESULTS.md)
# Calibrated relevance and the abstain gate read the logits themselves, so an engine must keep
# them as well as their order (static int8 moved a relevant pair's logit by 0.6).
MAX_LOGIT_ERROR = 0.3
MIN_COSINE = 0.99  # every text's vector from an embedder engine against fp32's
ROUNDS = 3  # interleaved rounds, best of each: a busy machine slows one round, not the verdict
TIE = 0.10  # engines this close to the fastest count as equally fast; timing noise then decides nothing


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The lowest cosine between matching rows: the text an engine moves most."""
    a, b = np.atleast_2d(a).astype(np.float64), np.atleast_2d(b).astype(np.float64)
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return float(cos.min())


@dataclass(frozen=True)
class Bar:
    """What an engine must keep of the reference's output: an agreement figure (1 = the same) of
    at least `minimum`, and where callers read the values themselves, no value further than
    `max_error` from the reference's."""

    figure: str  # key of the agreement figure in the measurements
    label: str  # how it reads in the verdict
    agreement: Callable[[np.ndarray, np.ndarray], float]
    minimum: float
    words: str  # the bar, as the verdict states it
    max_error: float | None = None
    error_label: str = "error"

    def figures(self, reference: np.ndarray, got: np.ndarray) -> dict[str, float]:
        out = {self.figure: round(self.agreement(reference, got), 5)}
        if self.max_error is not None:
            out["max_error"] = round(float(np.abs(reference - got).max()), 4)
        return out

    def passes(self, m: dict[str, float]) -> bool:
        return m[self.figure] >= self.minimum and (self.max_error is None or m["max_error"] <= self.max_error)

    def shortfall(self, m: dict[str, float]) -> str:
        error = f", max {self.error_label} {m['max_error']:.2f}" if self.max_error is not None else ""
        return f"{self.label} {m[self.figure]:.3f}{error}"


SCORES = Bar(
    "spearman",
    "rho",
    spearman,
    MIN_SPEARMAN,
    f"keeps Spearman rho >= {MIN_SPEARMAN} and logits within {MAX_LOGIT_ERROR} of fp32",
    MAX_LOGIT_ERROR,
    "logit error",
)
EMBEDDINGS = Bar("min_cosine", "min cosine", min_cosine, MIN_COSINE, f"keeps every vector at cosine >= {MIN_COSINE} with fp32's")


def cpuinfo(field: str) -> str | None:
    """The first value of `field` in /proc/cpuinfo (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine(threads: int) -> str:
    """The CPU model and thread count the verdict holds for."""
    return f"{cpuinfo('model name') or platform.processor() or platform.machine()}; {threads} threads"


# Raised when what engines are checked on changes, so verdicts measured on the old check are measured again.
CHECK_VERSION = 2


INT8 = ("onnx-int8", "onnx-qdq", "openvino-int8")
BF16 = ("openvino-bf16",)
VNNI = ("avx512_vnni", "avx_vnni", "amx_int8")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags() -> set[str]:
    return set((cpuinfo("flags") or "").split())


def worth_measuring(candidates: Sequence[str], flags: set[str]) -> tuple[list[str], list[str]]:
    """(the candidates that can win on a CPU with these flags, the others with why). Unknown flags
    (no /proc/cpuinfo) leave every candidate in."""
    if not flags:
        return list(candidates), []
    keep, skip = [], []
    for name in candidates:
        if name in INT8 and not flags & set(VNNI):
            skip.append(f"{name} (int8 needs VNNI or AMX)")
        elif name in BF16 and not flags & set(BF16_FLAGS):
            skip.append(f"{name} (bf16 needs AVX-512 BF16 or AMX)")
        else:
            keep.append(name)
    return keep, skip


@dataclass
class Later:
    """A measurement left to the background: `switch(engine, why)` is called with its verdict."""

    switch: Callable[[str, str], None]
    pending: bool = False
    done: threading.Event = field(default_factory=threading.Event)


def verdict_key(threads: int, candidates: Sequence[str]) -> str:
    """What a stored verdict must have been measured for: this CPU, thread count, candidates and check."""
    return f"{machine(threads)}; candidates {','.join(candidates)}; check v{CHECK_VERSION}"


def measure(outputs: dict[str, Callable[[], np.ndarray]], *, reference: str, bar: Bar, rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """Seconds (best of `rounds`, engines interleaved) and agreement with `reference` per engine."""
    seconds = {name: float("inf") for name in outputs}
    got: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for name, compute in outputs.items():
            t0 = time.perf_counter()
            got[name] = compute()
            seconds[name] = min(seconds[name], time.perf_counter() - t0)
    return {name: {"seconds": round(seconds[name], 4), **bar.figures(got[reference], got[name])} for name in outputs}


def pick(measured: dict[str, dict[str, float]], *, reference: str, bar: Bar) -> tuple[str, str]:
    """The fastest engine that clears the bar, and why, in words."""
    passing = [n for n, m in measured.items() if n == reference or bar.passes(m)]
    fastest = min(measured[n]["seconds"] for n in passing)
    # Among the equally fast, the one closest to fp32.
    best = max((n for n in passing if measured[n]["seconds"] <= fastest * (1 + TIE)), key=lambda n: measured[n][bar.figure])
    base = measured[reference]["seconds"]
    why = f"fastest on this CPU that {bar.words} (ties within {TIE:.0%} go to the higher {bar.label}): " + ", ".join(
        f"{n} x{base / measured[n]['seconds']:.2f} {bar.label} {measured[n][bar.figure]:.4f}"
        for n in sorted(passing, key=lambda n: measured[n]["seconds"])
    )
    failed = [f"{n} ({bar.shortfall(m)})" for n, m in measured.items() if n not in passing]
    if failed:
        why += "; rejected for accuracy: " + ", ".join(failed)
    return best, why


def choose(
    path: Path,
    *,
    threads: int,
    candidates: Sequence[str],
    build: Callable[[str], Callable[[], np.ndarray]],
    bar: Bar,
    label: str,
    reference: str = "torch",
    later: Later | None = None,
) -> tuple[str, str]:
    """The engine (and why) from the verdict stored at `path`, or measured now and stored. Candidates
    this install lacks or this CPU cannot make win are left out (and the verdict key says which were
    measured, so installing one measures again); `build(name)` readies an engine (exporting it if
    needed) and returns what computes its output on the check inputs; an engine that cannot be
    built is no candidate. With `later` and no stored verdict, returns `reference` at once and
    measures in the background (see the module's docstring)."""
    installed = [name for name in candidates if name == reference or cpu_engines.available(name)]
    usable, skipped = worth_measuring(installed, cpu_flags())
    key = verdict_key(threads, usable)
    verdict = load(path, key=key)

    def run(recheck: bool) -> dict:
        return _measure(path, key, usable, skipped, build, bar, label, reference, recheck=recheck)

    if verdict is None and later is not None:
        later.pending = True
        threading.Thread(target=_measure_later, args=(run, label, later), name=f"{label}-engines", daemon=True).start()
        return reference, f"PyTorch while the {label}'s CPU engines are measured in the background (once per model and machine)"
    if verdict is None:
        verdict = run(False)
    return verdict["engine"], _reason(verdict, candidates, installed)


def _reason(verdict: dict, candidates: Sequence[str], installed: Sequence[str]) -> str:
    missing = [name for name in candidates if name not in installed]
    return verdict["why"] + (f"; not installed: {', '.join(missing)}" if missing else "")


def _measure(
    path: Path,
    key: str,
    usable: Sequence[str],
    skipped: Sequence[str],
    build: Callable[[str], Callable[[], np.ndarray]],
    bar: Bar,
    label: str,
    reference: str,
    recheck: bool = False,
) -> dict:
    log.warning("measuring the %s's CPU engines for backend=auto (once per model and machine)", label)
    outputs, failed = {}, []
    for name in usable:
        try:
            outputs[name] = build(name)
        except Exception as e:  # an engine that can't take this model
            if name == reference:
                raise
            log.warning("%s engine %s unavailable (%s)", label, name, str(e).splitlines()[0][:300])
            failed.append(name)
    measured = measure(outputs, reference=reference, bar=bar)
    engine, why = pick(measured, reference=reference, bar=bar)
    if recheck and engine != reference:
        # Measured beside the calls of a running server: the winner must win again before it is used.
        again = measure({n: outputs[n] for n in (reference, engine)}, reference=reference, bar=bar, rounds=2)
        if again[engine]["seconds"] * (1 + TIE) > again[reference]["seconds"]:
            why = f"{engine} won the measurement but not the re-check (x{again[reference]['seconds'] / again[engine]['seconds']:.2f}); PyTorch"
            engine = reference
    if failed:
        why += "; failed to export: " + ", ".join(failed)
    if skipped:
        why += "; not measured on this CPU: " + ", ".join(skipped)
    verdict = {"key": key, "engine": engine, "why": why, "measured": measured}
    save(path, verdict)
    return verdict


def _measure_later(run: Callable[[bool], dict], label: str, later: Later) -> None:
    lowest_priority()
    try:
        verdict = run(True)
        later.switch(verdict["engine"], verdict["why"])
        log.warning("%s now runs on %s: %s", label, verdict["engine"], verdict["why"])
    except Exception as e:  # the model keeps running where it is
        log.warning("%s engines could not be measured in the background (%s); staying in PyTorch", label, str(e).splitlines()[0][:300])
    finally:
        later.pending = False
        later.done.set()


def load(path: Path, *, key: str | None) -> dict | None:
    """The stored verdict if it was measured for this key (machine and candidate engines); any
    stored verdict with `key` None."""
    try:
        verdict = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return verdict if key is None or verdict.get("key") == key else None


def save(path: Path, verdict: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(verdict, indent=1))
    os.replace(tmp, path)  # atomic: a concurrent loader reads all of it or none
