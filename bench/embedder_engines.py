"""Every CPU engine on the bi-encoder, side by side: seconds to embed SciFact abstracts, the lowest
cosine to PyTorch's vectors, and how many of each text's ten nearest neighbours (among the texts)
stay those PyTorch's vectors give, which is what a dense search returns.

    python -m bench.embedder_engines [--json] [--docs 300] [--repeats 2]

`auto` measures only the engines whose neighbours hold (scoring/engines/embedder.py); this bench
is the evidence for that list. With --json the last line is one JSON object."""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.index_speed import DATASET, log

EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
NEIGHBOURS = 10


def nearest(vectors: np.ndarray) -> np.ndarray:
    """Each text's NEIGHBOURS nearest other texts, by cosine (the vectors are normalised)."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1)[:, :NEIGHBOURS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.embedder_engines", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default=str(DATASET), help="BEIR-format dataset whose abstracts are embedded")
    ap.add_argument("--docs", type=int, default=300, help="first documents of the corpus (first 1,500 characters each)")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved timed runs per engine (best is reported)")
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from ragate.retrieval.beir import BeirDataset
    from ragate.retrieval.embedder import Embedder
    from ragate.scoring.engines import cpu_engines
    from ragate.scoring.engines.choice import min_cosine
    from ragate.scoring.engines.embedder import apply_engine

    texts = [d.text[:1500] for d in itertools.islice(BeirDataset.load(Path(args.dataset), "test").documents(), args.docs)]
    names = ["torch", *(b for b in cpu_engines.ENGINES if cpu_engines.available(b))]
    with tempfile.TemporaryDirectory(prefix="ragate-embedder-engines-") as cache:
        embedders = {}
        for name in names:
            embedders[name] = Embedder(EMBEDDER, "cpu")
            apply_engine(embedders[name], backend=name, cache_dir=cache)
        seconds = dict.fromkeys(names, float("inf"))
        vectors = {}
        for _ in range(args.repeats):
            for name, embedder in embedders.items():
                t0 = time.perf_counter()
                vectors[name] = embedder.encode(texts)
                seconds[name] = min(seconds[name], time.perf_counter() - t0)
    reference = nearest(vectors["torch"])
    rows = {}
    log(f"{len(texts)} abstracts, {EMBEDDER}")
    for name in names:
        got = nearest(vectors[name])
        kept = float(np.mean([len(set(reference[i]) & set(got[i])) / NEIGHBOURS for i in range(len(texts))]))
        rows[name] = {
            "engine": embedders[name].kind,
            "seconds": round(seconds[name], 2),
            "x_torch": round(seconds["torch"] / seconds[name], 2),
            "min_cosine": round(min_cosine(vectors["torch"], vectors[name]), 5),
            "top10_kept": round(kept, 3),
        }
        r = rows[name]
        log(f"  {name:14} {r['seconds']:6.2f} s  x{r['x_torch']:.2f}  min cosine {r['min_cosine']:.5f}  top-10 kept {r['top10_kept']:.3f}")
    if args.json:
        print(json.dumps({"texts": len(texts), "engines": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
