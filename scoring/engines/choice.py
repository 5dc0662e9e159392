"""`backend = "auto"` on CPU: which engine is fastest on this machine while keeping fp32's output.

Speed depends on the CPU (int8 pays off with VNNI/AMX, not everywhere) and accuracy on the model,
so neither is assumed: every candidate engine computes the same output, and the engines that clear
the model's accuracy bar against fp32 PyTorch are timed in paired rounds. The cross-encoder's bar
is on its scores (Spearman rho >= MIN_SPEARMAN, logits within MAX_LOGIT_ERROR); the bi-encoder's
on its vectors (cosine >= MIN_COSINE for every text).

A verdict must hold on a busy machine, so it is read from paired ratios, not from one timing per
engine: each round runs every engine once (in a rotating order), each round gives the ratio of two
engines' times, and the speed-up is their geometric mean with a CONFIDENCE interval. The CPU
class names a prior (openvino-bf16 where the CPU has bf16 units, else PyTorch); another engine
replaces it only when its speed-up over the prior is beyond doubt (the interval's low end above
1) and worth a switch (the estimate above 1 + TIE). Contested engines are timed in more rounds, up
to MAX_ROUNDS; still undecided, the prior stays. The verdict is stored as a small JSON file in the
per-machine engine folder, keyed by weights, CPU, thread count and candidates, so it is measured
once per model and machine, and again when the CPU changes.

Engines that cannot win on this CPU are not exported or measured at all (`worth_measuring`): int8
pays only with VNNI or AMX, bf16 only with AVX-512 BF16 or AMX. With `later`, a first start
answers at once in PyTorch while a background thread at the lowest CPU priority readies the prior
(switching to it as soon as it is built and keeps the output, so a first index does not run its
whole length on PyTorch), then measures every engine and switches to the verdict."""

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
MIN_ROUNDS = 5  # paired rounds every measurement takes
MAX_ROUNDS = 15  # rounds a contested engine may take before the prior stays
CONFIDENCE = 0.90  # two-sided, on each speed-up
TIE = 0.10  # a speed-up below 1 + TIE is not worth leaving the prior for; nor, among winners, worth a less exact engine


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
CHECK_VERSION = 3


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
    """A measurement left to the background: `switch(engine, why)` is called with the prior once it
    is ready (with `prior_first`: a first start, still on the reference; a re-measurement keeps the
    engine it has), then with the verdict."""

    switch: Callable[[str, str], None]
    prior_first: bool = True
    pending: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    early: str | None = None  # the prior it switched to first, if it did


def verdict_key(threads: int, candidates: Sequence[str]) -> str:
    """What a stored verdict must have been measured for: this CPU, thread count, candidates and check."""
    return f"{machine(threads)}; candidates {','.join(candidates)}; check v{CHECK_VERSION}"


@dataclass
class Timings:
    """Each engine's agreement with the reference, and the paired rounds of the engines that keep
    the output: per round, the seconds of each engine it ran."""

    agreement: dict[str, dict[str, float]]
    rounds: list[dict[str, float]] = field(default_factory=list)

    @property
    def timed(self) -> list[str]:
        return list(self.rounds[0]) if self.rounds else []

    def times(self, engine: str) -> list[float]:
        """Its seconds in each round that ran it."""
        return [r[engine] for r in self.rounds if engine in r]

    def speedup(self, engine: str, over: str) -> tuple[float, float, float]:
        """How many times faster `engine` runs than `over` (geometric mean of the ratios of the rounds
        that ran both) with its CONFIDENCE interval (Student t on the log ratios)."""
        if engine == over:
            return 1.0, 1.0, 1.0
        logs = np.log([r[over] / r[engine] for r in self.rounds if engine in r and over in r])
        mean = float(logs.mean())
        if len(logs) < 2:
            return float(np.exp(mean)), 0.0, float("inf")
        from scipy.stats import t

        half = float(t.ppf(0.5 + CONFIDENCE / 2, len(logs) - 1) * logs.std(ddof=1) / np.sqrt(len(logs)))
        return float(np.exp(mean)), float(np.exp(mean - half)), float(np.exp(mean + half))

    def figures(self, reference: str) -> dict[str, dict[str, float]]:
        """What the verdict stores per engine: its agreement figures and, when timed, its median
        seconds, its speed-up over `reference` with the interval, and its rounds."""
        out = {}
        for name, agreement in self.agreement.items():
            times = self.times(name)
            if not times:
                out[name] = dict(agreement)
                continue
            speedup, low, high = self.speedup(name, reference)
            timing = {
                "seconds": round(float(np.median(times)), 4),
                "speedup": round(speedup, 3),
                "low": round(low, 3),
                "high": round(high, 3),
            }
            out[name] = {**timing, "rounds": len(times), **agreement}
        return out


def measure(outputs: dict[str, Callable[[], np.ndarray]], *, reference: str, bar: Bar, rounds: int = MIN_ROUNDS) -> Timings:
    """Each engine's agreement with `reference`, then `rounds` paired rounds of those that clear
    the bar (timing an engine that cannot be picked would only lengthen the measurement)."""
    got = {name: compute() for name, compute in outputs.items()}  # also the warm-up
    timings = Timings({name: bar.figures(got[reference], got[name]) for name in outputs})
    passing = [n for n, m in timings.agreement.items() if n == reference or bar.passes(m)]
    more(timings, outputs, passing, rounds)
    return timings


def more(timings: Timings, outputs: dict[str, Callable[[], np.ndarray]], names: Sequence[str], rounds: int) -> None:
    """`rounds` more paired rounds of `names`, each in another order: an engine is not always the one
    that runs right after the slowest, or first after a pause."""
    for _ in range(rounds):
        start = len(timings.rounds) % len(names)
        this: dict[str, float] = {}
        for name in [*names[start:], *names[:start]]:
            t0 = time.perf_counter()
            outputs[name]()
            this[name] = time.perf_counter() - t0
        timings.rounds.append(this)


def prior(timed: Sequence[str], flags: set[str], reference: str) -> str:
    """The engine this CPU class runs best without measuring, among those that kept the output: bf16
    where the CPU has bf16 units (x3.6-3.9 the plain loop on both CPUs with them in
    bench/RESULTS.md), else the reference."""
    return "openvino-bf16" if "openvino-bf16" in timed and flags & set(BF16_FLAGS) else reference


def contested(timings: Timings, base: str) -> list[str]:
    """Engines that look worth a switch from `base` but are not yet faster beyond doubt."""
    out = []
    for name in timings.timed:
        speedup, low, _ = timings.speedup(name, base)
        if name != base and speedup > 1 + TIE and low <= 1:
            out.append(name)
    return out


def pick(timings: Timings, *, reference: str, base: str, bar: Bar) -> tuple[str, str]:
    """The engine to run, and why, in words: `base` (the prior) unless an engine that keeps the
    output is faster beyond doubt and by more than TIE; of several such, the fastest, and of those
    within TIE of it, the one closest to fp32."""
    timed = timings.timed
    over = {n: timings.speedup(n, base) for n in timed}
    winners = [n for n in timed if n != base and over[n][1] > 1 and over[n][0] > 1 + TIE]
    if winners:
        fastest = max(over[n][0] for n in winners)
        engine = max((n for n in winners if over[n][0] * (1 + TIE) >= fastest), key=lambda n: timings.agreement[n][bar.figure])
        why = f"faster than {base} beyond doubt (of engines within {TIE:.0%} of the fastest, the closest to fp32)"
    else:
        engine = base
        why = f"{base}, the prior for this CPU: no engine is faster beyond doubt"
    why += f"; each engine timed {bar.words} (speed-up over PyTorch, {CONFIDENCE:.0%} interval, paired rounds): " + ", ".join(
        _speed(n, timings, reference, bar) for n in sorted(timed, key=lambda n: -timings.speedup(n, reference)[0])
    )
    failed = [f"{n} ({bar.shortfall(m)})" for n, m in timings.agreement.items() if n not in timed]
    if failed:
        why += "; rejected for accuracy: " + ", ".join(failed)
    return engine, why


def _speed(name: str, timings: Timings, reference: str, bar: Bar) -> str:
    speedup, low, high = timings.speedup(name, reference)
    interval = "" if name == reference else f" [{low:.2f}-{high:.2f}]"
    return f"{name} x{speedup:.2f}{interval} {len(timings.times(name))} rounds, {bar.label} {timings.agreement[name][bar.figure]:.4f}"


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
    built is no candidate. With `later` and no stored verdict, returns `reference` at once, then
    readies the prior and measures in the background (see the module's docstring)."""
    installed = [name for name in candidates if name == reference or cpu_engines.available(name)]
    usable, skipped = worth_measuring(installed, cpu_flags())
    key = verdict_key(threads, usable)
    verdict = load(path, key=key)
    built: dict[str, Callable[[], np.ndarray]] = {}

    def ready(name: str) -> Callable[[], np.ndarray]:
        """Each engine built once, whether the early switch or the measurement asks first."""
        if name not in built:
            built[name] = build(name)
        return built[name]

    def run() -> dict:
        return _measure(path, key, usable, skipped, ready, bar, label, reference)

    def early() -> None:
        engine = prior(usable, cpu_flags(), reference)
        if later is None or not later.prior_first or engine == reference:
            return
        try:
            if bar.passes(bar.figures(ready(reference)(), ready(engine)())):
                later.switch(engine, f"{engine}, the prior for this CPU, while the other engines are measured in the background")
                later.early = engine
        except Exception as e:  # the measurement that follows says why
            log.warning("%s: the prior %s could not be readied (%s)", label, engine, str(e).splitlines()[0][:300])

    if verdict is None and later is not None:
        later.pending = True
        threading.Thread(target=_measure_later, args=(early, run, label, later), name=f"{label}-engines", daemon=True).start()
        return reference, f"PyTorch while the {label}'s CPU engines are measured in the background (once per model and machine)"
    if verdict is None:
        verdict = run()
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
    timings = measure(outputs, reference=reference, bar=bar)
    base = prior(timings.timed, cpu_flags(), reference)
    while len(timings.rounds) < MAX_ROUNDS and (open_ := contested(timings, base)):
        more(timings, outputs, [base, *open_], 1)
    engine, why = pick(timings, reference=reference, base=base, bar=bar)
    if failed:
        why += "; failed to export: " + ", ".join(failed)
    if skipped:
        why += "; not measured on this CPU: " + ", ".join(skipped)
    verdict = {"key": key, "engine": engine, "why": why, "measured": timings.figures(reference)}
    save(path, verdict)
    return verdict


def _measure_later(early: Callable[[], None], run: Callable[[], dict], label: str, later: Later) -> None:
    lowest_priority()
    try:
        early()
        verdict = run()
        later.switch(verdict["engine"], verdict["why"])
        log.warning("%s now runs on %s: %s", label, verdict["engine"], verdict["why"])
    except Exception as e:  # the model keeps running where it is
        why = str(e).splitlines()[0][:300]
        log.warning("%s engines could not be measured in the background (%s); staying on its current engine", label, why)
        if later.early is not None:  # its reason must not say a measurement is still under way
            try:
                later.switch(later.early, f"{later.early}, the prior for this CPU; measuring the others failed: {why}")
            except Exception:  # it keeps serving on the prior, with the older reason
                log.warning("%s: could not restate its engine's reason", label, exc_info=True)
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
