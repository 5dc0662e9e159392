"""Rerank cascade against the main cross-encoder alone, side by side in one run on SciFact test:
nDCG@10 and the rerank stage's milliseconds per query for the main model reading the whole pool,
for a first-pass model handing it its top K (20, 30, 50 by default), and, as the bar a first pass
has to clear, for the main model reading only the fused top K.

    python -m bench.cascade --first-pass DIR [--queries 300] [--candidates 100] [--keep 20,30,50] [--index-dir DIR] [--json]

The corpus is indexed once into --index-dir (reused when it is there). Each query's fused pool is
built once and reranked by every configuration in turn, in an order rotated from query to query so
that drifting machine load falls on all of them alike. Score caches and micro-batching are off:
every configuration pays for every pair it reads. nDCG@10 is reported on the main model's logits
(what `hybrid+rerank` measures) and on the blended order `search` returns; `kept_top10` is the share
of the main model's own top 10 (over the whole pool) among the K candidates it read."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench.rerank_speed import DATASET, corpus_env, log
from ragate.scoring.rerank_stage import FirstPass


@dataclasses.dataclass(frozen=True)
class Setup:
    """One way to rerank a pool: the main model over the fused top `head` (None: all of it), or
    over what a first pass hands on."""

    head: int | None = None
    first_pass: FirstPass | None = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.cascade", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--first-pass", required=True, metavar="DIR", help="the first-pass cross-encoder (e.g. from ragate tune --distill-layers 2)"
    )
    ap.add_argument("--dataset", default=str(DATASET))
    ap.add_argument("--index-dir", default=".ragate/bench-qdrant", help="Qdrant path holding the corpus (default .ragate/bench-qdrant)")
    ap.add_argument("--queries", type=int, default=300, help="test queries (a fixed sample when fewer than all)")
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--keep", default="20,30,50", help="first_pass_keep values to compare (default 20,30,50)")
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from tqdm import tqdm

    from ragate.retrieval.beir import BeirDataset, beir_collection, sample_queries
    from ragate.scoring.blend import blend
    from ragate.scoring.rerank_stage import RerankPolicy, rerank
    from ragate.server.lab.evaluate import doc_run, index_dataset, metrics
    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline
    from ragate.server.settings_loader import load_settings
    from ragate.server.timing import Timer

    env = corpus_env(args.index_dir, RAGATE_RERANKER_MICROBATCH_WAIT_MS="0", RAGATE_RERANKER_FIRST_PASS_MODEL=args.first_pass)
    settings = load_settings(None, env)
    load_start = os.getloadavg()
    p = Pipeline(settings, Models(settings).load())
    try:
        main_model, first = p.models.require_reranker(), p.models.first_pass
        if first is None:
            raise SystemExit(f"first-pass model not loadable: {p.models.first_pass_error}")
        ds = BeirDataset.load(args.dataset, "test")
        collection = beir_collection(args.dataset)
        index_dataset(p.catalog, ds, collection, progress=True)
        qids = sample_queries(ds, args.queries)
        keeps = [int(k) for k in args.keep.split(",")]
        configs = {"single": Setup()} | {f"fused{k}": Setup(head=k) for k in keeps}
        configs |= {f"keep{k}": Setup(first_pass=FirstPass(reranker=first.reranker, keep=k)) for k in keeps}
        cut = [name for name in configs if name != "single"]
        cascades = [name for name, setup in configs.items() if setup.first_pass is not None]
        profile = p.catalog.profile(collection)
        calibrator, weights, policy = profile.calibrator(), p.catalog.blend_weights(profile=profile), RerankPolicy(depth="all")
        runs: dict[str, dict[str, dict]] = {name: {"rerank": {}, "search": {}} for name in configs}
        first_alone: dict[str, dict[str, float]] = {}
        ms: dict[str, list[float]] = {name: [] for name in configs}
        first_ms: dict[str, list[float]] = {name: [] for name in configs}
        kept: dict[str, list[float]] = {name: [] for name in cut}

        def pool_of(query: str):
            timer = Timer()
            return p.retriever.pool(query, n=args.candidates, filters=None, collection=collection, timer=timer, fusion="rrf")

        warm = pool_of(ds.queries[qids[0]])
        for setup in configs.values():  # engines' first calls out of the timings
            rerank(
                ds.queries[qids[0]],
                [dataclasses.replace(c) for c in warm],
                reranker=main_model,
                calibrator=calibrator,
                policy=policy,
                first_pass=setup.first_pass,
            )
        for i, qid in enumerate(tqdm(qids, desc="queries", file=sys.stderr, dynamic_ncols=True)):
            query, pool = ds.queries[qid], pool_of(ds.queries[qid])
            names = list(configs)
            names = names[i % len(names) :] + names[: i % len(names)]
            ranked: dict[str, list] = {}
            for name in names:
                cands = [dataclasses.replace(c) for c in pool]
                setup = configs[name]
                head = cands[: setup.head] if setup.head else cands  # the rest stay in the pool, unread
                started = time.perf_counter()
                stage = rerank(query, head, reranker=main_model, calibrator=calibrator, policy=policy, first_pass=setup.first_pass)
                ms[name].append((time.perf_counter() - started) * 1000)
                if stage.first_pass:
                    first_ms[name].append(stage.first_pass.ms)
                ranked[name] = cands
                runs[name]["rerank"][qid] = doc_run(cands, lambda c: c.rerank)
                order = blend(list(cands), weights)
                positions = {id(c): len(order) - j for j, c in enumerate(order)}
                runs[name]["search"][qid] = doc_run(order, lambda c, positions=positions: positions[id(c)])
            top10 = {c.chunk.chunk_id for c in sorted(ranked["single"], key=lambda c: -c.rerank)[:10]}
            for name in cut:
                read = {c.chunk.chunk_id for c in ranked[name] if c.rerank is not None}
                kept[name].append(len(top10 & read) / len(top10))
            first_alone[qid] = doc_run(ranked[cascades[0]], lambda c: c.first_pass)  # the same logits in every cascade
        out = {
            "dataset": Path(args.dataset).name,
            "queries": len(qids),
            "candidates": args.candidates,
            "chunks": p.catalog.store(collection).count(),
            "main": {"model": settings.reranker.model, "engine": main_model.kind, "device": main_model.device},
            "first_pass": {"model": args.first_pass, "engine": first.reranker.kind, "engine_reason": first.reranker.engine_reason},
            "cpus": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "first_pass_alone_ndcg@10": metrics(ds.qrels, first_alone)["ndcg@10"],
            "configs": {},
        }
        for name, setup in configs.items():
            row = {
                "main_pairs": setup.first_pass.keep if setup.first_pass else setup.head or args.candidates,
                "ndcg@10_rerank": metrics(ds.qrels, runs[name]["rerank"])["ndcg@10"],
                "ndcg@10_search": metrics(ds.qrels, runs[name]["search"])["ndcg@10"],
                "rerank_ms_p50": round(float(np.percentile(ms[name], 50)), 1),
                "rerank_ms_p95": round(float(np.percentile(ms[name], 95)), 1),
            }
            if name in cut:
                row["kept_top10"] = round(float(np.mean(kept[name])), 4)
            if setup.first_pass:
                row["first_pass_ms_p50"] = round(float(np.percentile(first_ms[name], 50)), 1)
            out["configs"][name] = row
    finally:
        p.close()
    log(
        f"SciFact test, {out['queries']} queries, {out['candidates']} candidates over {out['chunks']} chunks; "
        f"main {out['main']['engine']}, first pass {out['first_pass']['engine']}; load {out['loadavg_start']} -> {out['loadavg_end']}"
    )
    log(f"  first pass alone: nDCG@10 {out['first_pass_alone_ndcg@10']:.4f}")
    for name, r in out["configs"].items():
        extra = f"  kept top-10 {r['kept_top10']:.3f}" if "kept_top10" in r else ""
        extra += f"  first pass p50 {r['first_pass_ms_p50']:7.1f} ms" if "first_pass_ms_p50" in r else ""
        log(
            f"  {name:<7} main reads {r['main_pairs']:>3}  nDCG@10 rerank {r['ndcg@10_rerank']:.4f} search {r['ndcg@10_search']:.4f}  "
            f"rerank p50 {r['rerank_ms_p50']:7.1f} ms p95 {r['rerank_ms_p95']:7.1f} ms{extra}"
        )
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
