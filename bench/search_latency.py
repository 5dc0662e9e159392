"""End-to-end `search` latency on a real corpus, split by stage: SciFact's 5,183 abstracts
(about 10,000 chunks), 100 candidates reranked, the embedded Qdrant store, on this machine's CPU.

    python -m bench.search_latency [--queries 30] [--candidates 100] [--index-dir DIR] [--json]

The corpus is indexed once into --index-dir (reused when it is already there, e.g. by
`ragate eval`). The score cache is off so repeated queries cost what new ones do."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

import numpy as np

from bench.rerank_speed import DATASET, corpus_env, log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.search_latency", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default=str(DATASET))
    ap.add_argument("--index-dir", default=".ragate/bench-qdrant", help="Qdrant path holding the corpus (default .ragate/bench-qdrant)")
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from ragate.retrieval.beir import BeirDataset, beir_collection, sample_queries
    from ragate.server.lab.evaluate import index_dataset
    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline
    from ragate.server.requests import SearchRequest
    from ragate.server.settings_loader import load_settings

    settings = load_settings(None, corpus_env(args.index_dir))
    p = Pipeline(settings, Models(settings).load())
    try:
        ds = BeirDataset.load(args.dataset, "test")
        collection = beir_collection(args.dataset)
        index_dataset(p.catalog, ds, collection, progress=True)
        chunks = p.catalog.store(collection).count()
        qids = sample_queries(ds, args.queries)
        p.search(SearchRequest(query=ds.queries[qids[0]], candidates=args.candidates, collection=collection))  # warm-up
        stages: dict[str, list[float]] = {}
        for q in qids:
            resp = p.search(SearchRequest(query=ds.queries[q], top_k=10, candidates=args.candidates, collection=collection))
            for k, v in resp.timings_ms.items():
                stages.setdefault(k, []).append(v)
        engine = p.models.reranker
        out = {
            "chunks": chunks,
            "queries": len(qids),
            "candidates": args.candidates,
            "reranker": f"{engine.kind} on {engine.device}",
            "cpus": os.cpu_count(),
            "p50_ms": {k: round(float(np.percentile(v, 50)), 1) for k, v in stages.items()},
            "p95_ms": {k: round(float(np.percentile(v, 95)), 1) for k, v in stages.items()},
        }
    finally:
        p.close()
    log(f"search over {out['chunks']} chunks, {out['candidates']} candidates, {out['queries']} queries, reranker {out['reranker']}")
    for k in out["p50_ms"]:
        log(f"  {k:<8} p50 {out['p50_ms'][k]:9.1f} ms   p95 {out['p95_ms'][k]:9.1f} ms")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
