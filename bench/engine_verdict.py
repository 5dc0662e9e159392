"""Does `backend = "auto"` reach the same verdict on a busy machine? Measures both models' CPU
engines from scratch several times, first on a quiet machine, then with a competing busy loop
pinned to one core, and prints each run's verdict with every engine's speed-up over PyTorch and
its interval (scoring/engines/choice.py).

    python -m bench.engine_verdict [--runs 3] [--busy-cores 1] [--json]

Exports are made once into a folder of this bench (kept between runs, so only the first run pays
for them); the stored verdict is removed before each run, so each one measures. With --json the
last line is one JSON object."""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.index_speed import log

EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"


def busy(core: int) -> None:
    """Spin on one core: the load a second program puts on a 2-core machine."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    while True:
        pass


def measure_reranker(model: str, exports: Path) -> dict:
    from ragate.scoring.engines.reranker import CrossEncoderReranker

    for verdict in exports.glob("*.engine.json"):
        verdict.unlink()
    t0 = time.perf_counter()
    engine = CrossEncoderReranker(model, "cpu", backend="auto", cache_dir=exports)
    return _verdict(engine.kind, engine.engine_reason, engine.engine_verdict_path, time.perf_counter() - t0)


def measure_embedder(exports: Path) -> dict:
    from ragate.retrieval.embedder import Embedder
    from ragate.scoring.engines.embedder import apply_engine

    embedder = Embedder(EMBEDDER, "cpu")
    t0 = time.perf_counter()
    apply_engine(embedder, backend="auto", cache_dir=exports)
    return _verdict(embedder.kind, embedder.engine_reason, embedder.engine_verdict_path, time.perf_counter() - t0)


def _verdict(engine: str, why: str, path: Path | None, seconds: float) -> dict:
    stored = json.loads(path.read_text()) if path is not None else {}
    timed = {name: m for name, m in stored.get("measured", {}).items() if "speedup" in m}
    return {"engine": engine, "seconds": round(seconds, 1), "why": why, "timed": timed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.engine_verdict", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs under the competing load (one quiet run comes first)")
    ap.add_argument("--busy-cores", type=int, default=1, help="cores the competing busy loops take")
    ap.add_argument("--model", default=os.environ.get("RAGATE_RERANKER_MODEL", "cross-encoder/ms-marco-MiniLM-L6-v2"), help="the reranker")
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    from ragate.scoring.engines.choice import cpuinfo

    cpu = f"{cpuinfo('model name')}, {os.cpu_count()} cores"
    log(f"CPU: {cpu}; load average before: {os.getloadavg()[0]:.2f}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="ragate-engine-verdict-") as folder:
        exports = Path(folder)
        log("exporting every engine once (not timed as a run)")
        measure_reranker(args.model, exports)
        measure_embedder(exports)
        for i in range(args.runs + 1):
            load = "quiet" if i == 0 else f"{args.busy_cores} busy core(s)"
            loops = [multiprocessing.Process(target=busy, args=(c,), daemon=True) for c in range(args.busy_cores)] if i else []
            for p in loops:
                p.start()
            try:
                run = {"load": load, "reranker": measure_reranker(args.model, exports), "embedder": measure_embedder(exports)}
            finally:
                for p in loops:
                    p.terminate()
            runs.append(run)
            for label in ("reranker", "embedder"):
                r = run[label]
                figures = ", ".join(
                    f"{n} x{m['speedup']:.2f} [{m['low']:.2f}-{m['high']:.2f}] ({m['rounds']})" for n, m in r["timed"].items()
                )
                log(f"run {i} ({load}) {label}: {r['engine']} in {r['seconds']} s; {figures}")
    loaded = runs[1:]
    summary = {
        label: {
            "quiet": runs[0][label]["engine"],
            "loaded": [r[label]["engine"] for r in loaded],
            "same_as_quiet": sum(r[label]["engine"] == runs[0][label]["engine"] for r in loaded),
        }
        for label in ("reranker", "embedder")
    }
    for label, s in summary.items():
        print(
            f"{label}: quiet {s['quiet']}; under load {', '.join(s['loaded'])}: the quiet verdict in {s['same_as_quiet']} of {len(loaded)}"
        )
    if args.json:
        print(json.dumps({"cpu": cpu, "runs": runs, "summary": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
