"""Reranking speed: a plain `CrossEncoder.predict(pairs)` against ragate's engine, side by side in
one run, on SciFact claims and BM25 candidates (abstract chunks of about 150 tokens).

    python -m bench.rerank_speed [--json] [--device cpu|cuda] [--queries 20]

Prints pairs/s and p50/p95 ms per call for 50 and 100 candidates, the speed-up, Spearman ρ between
the two score lists, nDCG@10 of both on SciFact test (BM25 top-30 abstracts), and the wall time of
16 concurrent 50-pair calls with and without micro-batching. On CPU it also loads the engine that
`backend = "auto"` picks (its own measurement, on built-in pairs) and reports the speed-up and ρ
of that engine here. With --json the last line is one JSON object."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "datasets" / "scifact"
DEFAULT_MODEL = os.environ.get("RAGATE_RERANKER_MODEL") or str(ROOT.parent / "shared" / "models" / "ragate-ce-minilm-l6-scifact")


def corpus_env(index_dir: str, **overrides: str) -> dict[str, str]:
    """Settings overrides for a bench over an indexed corpus: its Qdrant path, the offline reranker,
    and the score cache off so repeated queries cost what new ones do."""
    return {
        **os.environ,
        "RAGATE_QDRANT_PATH": index_dir,
        "RAGATE_RERANKER_CACHE_SIZE": "0",
        "RAGATE_RERANKER_MODEL": os.environ.get("RAGATE_RERANKER_MODEL", DEFAULT_MODEL),
        **overrides,
    }


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_workload(dataset: Path, tokenizer, n_queries: int, pool: int, chunk_tokens: int = 150):
    """(queries, per-query candidate chunks) plus abstracts and qrels for the quality check."""
    from rank_bm25 import BM25Okapi

    from ragate.retrieval.beir import BeirDataset, beir_id
    from ragate.retrieval.chunking import hf_token_offsets, split_spans

    ds = BeirDataset.load(dataset, "test")
    docs = {beir_id(d.source): d for d in ds.documents()}
    offsets = hf_token_offsets(tokenizer)
    chunks = []
    for d in docs.values():
        text = f"{d.title}. {d.text}"
        chunks += [text[s:e] for s, e in split_spans(text, offsets(text), chunk_tokens, 0)]
    qids = sorted(ds.qrels)[: max(n_queries, 1)]
    bm25 = BM25Okapi([c.lower().split() for c in chunks])
    pools = []
    for q in qids:
        top = np.argsort(-bm25.get_scores(ds.queries[q].lower().split()))[:pool]
        pools.append((ds.queries[q], [chunks[i] for i in top]))
    return ds, docs, pools


def timed_calls(fn, pools, n: int) -> tuple[list[float], np.ndarray]:
    """Per-call ms and all scores, one call per query over its first n candidates."""
    ms, scores = [], []
    for query, cands in pools:
        t = time.perf_counter()
        scores.append(np.asarray(fn(query, cands[:n]), dtype=np.float32))
        ms.append((time.perf_counter() - t) * 1000)
    return ms, np.concatenate(scores)


def summary(ms: list[float], n: int) -> dict[str, float]:
    q = np.percentile(ms, [50, 95])
    return {"pairs_per_s": round(n * len(ms) / (sum(ms) / 1000), 1), "p50_ms": round(float(q[0]), 1), "p95_ms": round(float(q[1]), 1)}


def concurrent_wall(fn, pools, n: int, clients: int) -> float:
    """Seconds for `clients` simultaneous calls of n pairs each."""
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client(i: int) -> None:
        query, cands = pools[i % len(pools)]
        barrier.wait()
        try:
            fn(query, cands[:n])
        except BaseException as e:  # reported below: a failed call must not look fast
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0


def ndcg_check(score_fns: dict, ds, docs, n_queries: int, depth: int) -> dict[str, float]:
    """nDCG@10 of each scorer reranking BM25's top-`depth` abstracts, on the first test queries."""
    import ir_measures
    from rank_bm25 import BM25Okapi

    ids = list(docs)
    bm25 = BM25Okapi([f"{docs[d].title} {docs[d].text}".lower().split() for d in ids])
    qids = sorted(ds.qrels)[:n_queries]
    runs: dict[str, dict] = {name: {} for name in score_fns}
    for q in qids:
        top = [ids[i] for i in np.argsort(-bm25.get_scores(ds.queries[q].lower().split()))[:depth]]
        texts = [f"{docs[d].title}. {docs[d].text}" for d in top]
        for name, fn in score_fns.items():
            runs[name][q] = {d: float(s) for d, s in zip(top, fn(ds.queries[q], texts), strict=False)}
    m = ir_measures.parse_measure("nDCG@10")
    return {name: round(float(ir_measures.calc_aggregate([m], {q: ds.qrels[q] for q in qids}, run)[m]), 4) for name, run in runs.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.rerank_speed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="cross-encoder (default $RAGATE_RERANKER_MODEL or the shared model)")
    ap.add_argument("--dataset", default=str(DATASET), help="BEIR-format dataset for queries and passages")
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto")
    ap.add_argument("--queries", type=int, default=20, help="calls per measurement (one query each)")
    ap.add_argument(
        "--backends",
        default="",
        help="comma list of engines to measure (default on CPU: every installed one of torch,onnx,onnx-int8,onnx-qdq,"
        "openvino,openvino-bf16,openvino-int8; "
        "torch-fp32,torch-bf16,torch-fp16 on CUDA)",
    )
    ap.add_argument("--ndcg-queries", type=int, default=100, help="SciFact test queries for the nDCG check (0 = skip)")
    ap.add_argument("--ndcg-depth", type=int, default=30, help="BM25 abstracts reranked per query in the nDCG check")
    ap.add_argument("--clients", type=int, default=16, help="simultaneous calls in the concurrency test")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads for ragate's engine (0 = library default)")
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    import torch
    from scipy.stats import spearmanr
    from sentence_transformers import CrossEncoder

    from ragate.retrieval.model_paths import pick_device, resolve_model
    from ragate.scoring.engines import cpu_engines
    from ragate.scoring.engines.microbatch import MicroBatcher
    from ragate.scoring.engines.reranker import CrossEncoderReranker

    device = pick_device(args.device)
    naive = CrossEncoder(resolve_model(args.model), device=device)
    log(f"device {device}; loading workload from {args.dataset}")
    ds, docs, pools = load_workload(Path(args.dataset), naive.tokenizer, args.queries, 100)
    tokens = [len(naive.tokenizer(q, c)["input_ids"]) for q, cs in pools[:5] for c in cs]
    log(f"{len(pools)} queries × 100 BM25 candidates, median pair length {int(np.median(tokens))} tokens")

    def naive_score(q, cands):
        return naive.predict([(q, c) for c in cands], show_progress_bar=False)

    if device == "cpu":
        installed = [b for b in cpu_engines.ENGINES if cpu_engines.available(b)]
        backends = args.backends.split(",") if args.backends else ["torch", *installed]
    else:
        backends = args.backends.split(",") if args.backends else ["torch-fp32", "torch-bf16", "torch-fp16"]
    engines = {}
    auto = None
    with tempfile.TemporaryDirectory(prefix="ragate-onnx-") as onnx_dir:  # sessions keep the graphs in memory
        if device == "cpu":
            auto = CrossEncoderReranker(
                args.model, device, max_length=naive.max_seq_length, threads=args.threads, backend="auto", cache_dir=onnx_dir
            )
            log(f"backend=auto picks {auto.kind}: {auto.engine_reason}")
            if auto.kind not in backends:
                backends.append(auto.kind)
        for b in backends:
            backend, _, precision = b.partition("-") if b.startswith("torch") else (b, "", "")
            engines[b] = CrossEncoderReranker(
                args.model,
                device,
                max_length=naive.max_seq_length,
                batch_size=32,
                precision=precision or "fp32",
                threads=args.threads,
                backend=backend,
                cache_dir=onnx_dir,
                cache_size=0,
            )

    report: dict = {
        "device": torch.cuda.get_device_name(0) if device.startswith("cuda") else f"cpu ({os.cpu_count()} cores)",
        "model": args.model,
        "queries": len(pools),
        "sizes": {},
    }
    naive_score(*pools[0])  # warm-up
    for e in engines.values():
        e.score(*pools[0])
    for n in (50, 100):
        ms, ref = timed_calls(naive_score, pools, n)
        row = {"naive": summary(ms, n)}
        for name, e in engines.items():
            ms, got = timed_calls(e.score, pools, n)
            row[name] = {**summary(ms, n), "spearman": round(float(spearmanr(ref, got)[0]), 4)}
        report["sizes"][str(n)] = row
        log(f"\n{n} candidates per call ({len(pools)} calls)")
        for name, r in row.items():
            extra = f"  ρ {r['spearman']:.4f}" if "spearman" in r else ""
            ratio = r["pairs_per_s"] / row["naive"]["pairs_per_s"]
            log(f"  {name:<12} {r['pairs_per_s']:8.1f} pairs/s  p50 {r['p50_ms']:8.1f} ms  p95 {r['p95_ms']:8.1f} ms  ×{ratio:.2f}{extra}")

    at100 = report["sizes"]["100"]
    ok = {b: at100[b]["spearman"] >= 0.99 for b in engines}
    if args.ndcg_queries:
        log(f"\nnDCG@10 on {args.ndcg_queries} SciFact test queries (BM25 top-{args.ndcg_depth} abstracts reranked)")
        nd = ndcg_check({"naive": naive_score, **{b: e.score for b, e in engines.items()}}, ds, docs, args.ndcg_queries, args.ndcg_depth)
        report["ndcg@10"] = nd
        for b in engines:
            ok[b] = ok[b] and abs(nd[b] - nd["naive"]) <= 0.005
        log("  " + "  ".join(f"{k} {v:.4f} ({v - nd['naive']:+.4f})" for k, v in nd.items()))
    # The fastest engine that keeps the ranking: ρ ≥ 0.99 and nDCG@10 within 0.005 of fp32.
    fastest = max(engines, key=lambda b: at100[b]["pairs_per_s"] if ok[b] else -1)
    report["fastest_passing_here"] = fastest
    # The headline figures are for what a default install runs: the engine auto picks.
    best = auto.kind if auto else fastest
    report.update(best=best, auto_reason=auto.engine_reason if auto else None, best_passes_bar=ok[best])

    engine = engines[best]
    wall_naive = concurrent_wall(naive_score, pools, 50, args.clients)
    wall_plain = concurrent_wall(engine.score, pools, 50, args.clients)
    engine.batcher = MicroBatcher(engine._score_uncached, max_wait_ms=3.0, max_pairs=512)
    wall_batched = concurrent_wall(engine.score, pools, 50, args.clients)
    report["concurrency"] = {
        "clients": args.clients,
        "pairs_per_call": 50,
        "naive_s": round(wall_naive, 3),
        "ragate_s": round(wall_plain, 3),
        "ragate_microbatched_s": round(wall_batched, 3),
    }
    log(
        f"\n{args.clients} simultaneous calls of 50 pairs: naive {wall_naive:.2f}s, {best} {wall_plain:.2f}s, "
        f"{best} + micro-batching {wall_batched:.2f}s"
    )

    naive_pps, best_pps = at100["naive"]["pairs_per_s"], at100[best]["pairs_per_s"]
    report.update(
        naive_pairs_per_s=naive_pps, ragate_pairs_per_s=best_pps, speedup=round(best_pps / naive_pps, 2), spearman=at100[best]["spearman"]
    )
    log(f"\nbest engine {best}: {best_pps:.1f} pairs/s vs naive {naive_pps:.1f} → ×{report['speedup']:.2f}, ρ {report['spearman']:.4f}")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
