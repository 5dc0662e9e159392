"""Adaptive rerank depth against reading the whole pool, side by side in one run: per corpus, the
cross-encoder's pairs read per query, nDCG@10 of what `search` returns, and search latency, with
`[reranker] depth = "all"` and `"adaptive"` (scoring/rerank_stage.py).

    python -m bench.rerank_depth [--dataset DIR ...] [--queries 200] [--candidates 100] [--index-dir DIR] [--json]

Each dataset is a BEIR-format folder (SciFact by default; `python -m bench.corpora` builds more),
indexed once into --index-dir (reused when it is there). Every query is searched through the
product's own `search` by two pipelines on one store and one set of models, differing only in
`depth`, in an order rotated from query to query so that drifting machine load falls on both alike.
The score cache is off: each search pays for every pair it reads. Each collection keeps its own
calibration (none: the shipped default profile). nDCG@10 is over the documents of the returned
results, in their order."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench.rerank_speed import DATASET, corpus_env, log

DEPTHS = ("all", "adaptive")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.rerank_depth", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", action="append", help="BEIR-format dataset folder; repeat for several (default SciFact)")
    ap.add_argument("--split", default="test", help="the qrels split whose queries are asked")
    ap.add_argument("--index-dir", default=".ragate/bench-qdrant", help="Qdrant path holding the corpora (default .ragate/bench-qdrant)")
    ap.add_argument("--queries", type=int, default=200, help="queries per dataset (a fixed sample when fewer than all)")
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from tqdm import tqdm

    from ragate.retrieval.beir import BeirDataset, beir_collection, beir_id, sample_queries
    from ragate.scoring.engines.choice import cpuinfo
    from ragate.server.lab.evaluate import index_dataset, metrics
    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline
    from ragate.server.requests import SearchRequest
    from ragate.server.settings_loader import load_settings

    env = corpus_env(args.index_dir, RAGATE_RERANKER_MICROBATCH_WAIT_MS="0", RAGATE_RERANKER_MEASURE="at_load")
    pipelines: dict[str, Pipeline] = {}
    settings = load_settings(None, env | {"RAGATE_RERANKER_DEPTH": "all"})
    models = Models(settings).load()
    pipelines["all"] = Pipeline(settings, models)
    pipelines["adaptive"] = Pipeline(
        load_settings(None, env | {"RAGATE_RERANKER_DEPTH": "adaptive"}), models, qdrant=pipelines["all"].catalog.qdrant
    )
    reranker = models.require_reranker()
    out: dict = {
        "cpu": f"{cpuinfo('model name')}, {os.cpu_count()} cores",
        "reranker": {"model": settings.reranker.model, "engine": reranker.kind},
        "candidates": args.candidates,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "corpora": {},
    }
    try:
        for dataset in args.dataset or [str(DATASET)]:
            ds = BeirDataset.load(dataset, args.split)
            collection = beir_collection(dataset)
            index_dataset(pipelines["all"].catalog, ds, collection, progress=True)
            qids = sample_queries(ds, args.queries)
            runs: dict[str, dict[str, dict[str, float]]] = {d: {} for d in DEPTHS}
            pairs: dict[str, list[int]] = {d: [] for d in DEPTHS}
            ms: dict[str, list[float]] = {d: [] for d in DEPTHS}
            for depth in DEPTHS:  # engines' first calls out of the timings
                pipelines[depth].search(SearchRequest(query=ds.queries[qids[0]], collection=collection, candidates=args.candidates))
            for i, qid in enumerate(tqdm(qids, desc=Path(dataset).name, file=sys.stderr, dynamic_ncols=True)):
                for depth in DEPTHS[i % 2 :] + DEPTHS[: i % 2]:
                    req = SearchRequest(query=ds.queries[qid], collection=collection, candidates=args.candidates, top_k=args.top_k)
                    started = time.perf_counter()
                    resp = pipelines[depth].search(req)
                    ms[depth].append((time.perf_counter() - started) * 1000)
                    pairs[depth].append(resp.rerank_stage.pairs if resp.rerank_stage else 0)
                    run: dict[str, float] = {}
                    for rank, r in enumerate(resp.results):
                        run.setdefault(beir_id(r.source), float(len(resp.results) - rank))
                    runs[depth][qid] = run
            row = {"queries": len(qids), "chunks": pipelines["all"].catalog.store(collection).count()}
            for depth in DEPTHS:
                row[depth] = {
                    "pairs_mean": round(float(np.mean(pairs[depth])), 1),
                    "pairs_p50": float(np.percentile(pairs[depth], 50)),
                    "ndcg@10": metrics(ds.qrels, runs[depth])["ndcg@10"],
                    "search_ms_p50": round(float(np.percentile(ms[depth], 50)), 1),
                    "search_ms_p95": round(float(np.percentile(ms[depth], 95)), 1),
                }
            row["ndcg_delta"] = round(row["adaptive"]["ndcg@10"] - row["all"]["ndcg@10"], 4)
            row["pairs_ratio"] = round(row["adaptive"]["pairs_mean"] / max(row["all"]["pairs_mean"], 1e-9), 3)
            out["corpora"][Path(dataset).name] = row
            log(
                f"{Path(dataset).name}: {row['queries']} queries over {row['chunks']} chunks; "
                + "; ".join(
                    f"{d}: pairs {row[d]['pairs_mean']} nDCG@10 {row[d]['ndcg@10']:.4f} search p50 {row[d]['search_ms_p50']} ms "
                    f"p95 {row[d]['search_ms_p95']} ms"
                    for d in DEPTHS
                )
                + f"; delta {row['ndcg_delta']:+.4f}, pairs x{row['pairs_ratio']}"
            )
    finally:
        pipelines["all"].close()  # the one store both pipelines read
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    log(f"CPU {out['cpu']}; reranker on {out['reranker']['engine']}; load {out['loadavg_start']} -> {out['loadavg_end']}")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
