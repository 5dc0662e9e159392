"""Cost as the index grows: one collection on the embedded store grown to each size in turn (10k,
100k, 1M chunks by default), and at each size the write rate, the search index's build time, disk,
memory, search latency per stage and the dense channel's recall against exact search.

    python -m bench.scale --source DIR [--source-collection NAME ...] [--sizes 10000,100000,1000000] [--queries 20] [--json]

Embedding a million chunks would take hours on 2 cores, so the chunks are drawn from an index
already built with the default bi-encoder (--source, e.g. the one `python -m bench.rerank_depth`
leaves: SciFact, man pages and the Python docs): those real chunks and their real vectors come
first, and every chunk past them is a derived copy of a real one: its vector the original plus
Gaussian noise (cosine about 0.9 to it, renormalised), its text the original's first half of words
followed by the second half of another real chunk's (BM25 then meets real vocabulary, in new
combinations), its ids new. The table says how many chunks of each size are real. Writes go
through the product's store (`Store.upsert`, BM25 vectors from its encoder), search through its
`search` and `answer_or_abstain` on 20 real queries (SciFact's): per stage p50/p95 from the
responses' `timings_ms`, without reranking and with it. Recall@100 compares the dense channel's
top 100 (HNSW once `optimize` has built it) with an exact scan of the same points. With --json the
last line is one JSON object."""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench.rerank_speed import DATASET, corpus_env, log

NOISE_COSINE = 0.9  # a derived vector's cosine to its original, in expectation
BATCH = 2048  # points per upsert


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 1024


def real_chunks(source: Path, collections: list[str]):
    """(chunks, vectors) of the source index's collections, in a fixed order."""
    from ragate.retrieval.edge_store import EdgeStore, list_edge_collections

    chunks, vectors = [], []
    for name in collections or list_edge_collections(source):
        store = EdgeStore(source, name)
        try:
            got = store.chunks()
            vecs = store.get_vectors([c.chunk_id for c in got])
            for c in got:
                if (v := vecs.get(c.chunk_id)) is not None:
                    chunks.append(c)
                    vectors.append(v)
        finally:
            store.close()
    return chunks, np.asarray(vectors, dtype=np.float32)


def derived(chunks, vectors: np.ndarray, start: int, count: int, rng: np.random.Generator):
    """`count` derived chunks (numbered from `start`) and their vectors, as the module says."""
    n, dim = vectors.shape
    origin = (np.arange(start, start + count) % n).astype(int)
    partner = rng.integers(0, n, size=count)
    sigma = np.sqrt((1 / NOISE_COSINE**2 - 1) / dim)
    vecs = vectors[origin] + rng.normal(0.0, sigma, size=(count, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    out = []
    for i, (j, k) in enumerate(zip(origin, partner, strict=True)):
        a, b = chunks[j].text.split(), chunks[k].text.split()
        text = " ".join(a[: len(a) // 2] + b[len(b) // 2 :])
        cid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"derived-{start + i}"))
        out.append(chunks[j].model_copy(update={"chunk_id": cid, "doc_id": cid, "text": text, "source": f"derived/{start + i}"}))
    return out, vecs


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True, help="an embedded index (a [qdrant] path) whose chunks and vectors are the real ones")
    ap.add_argument("--source-collection", action="append", default=[], help="its collections to draw from (default all)")
    ap.add_argument("--sizes", default="10000,100000,1000000", help="collection sizes, in chunks, grown in turn")
    ap.add_argument("--queries", type=int, default=20, help="SciFact test queries asked at each size")
    ap.add_argument("--dataset", default=str(DATASET), help="where the queries come from")
    ap.add_argument("--out", help="index folder (default: a temporary one, removed at the end)")
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    import qdrant_edge as qe

    from ragate.retrieval.beir import BeirDataset, sample_queries
    from ragate.retrieval.edge_store import HNSW_EF
    from ragate.retrieval.store import DENSE
    from ragate.scoring.engines.choice import cpuinfo
    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline
    from ragate.server.requests import AnswerRequest, SearchRequest
    from ragate.server.settings_loader import load_settings

    sizes = [int(s) for s in args.sizes.split(",")]
    chunks, vectors = real_chunks(Path(args.source), args.source_collection)
    log(f"{len(chunks)} real chunks with their vectors from {args.source}")
    ds = BeirDataset.load(args.dataset, "test")
    queries = [ds.queries[q] for q in sample_queries(ds, args.queries)]
    rng = np.random.default_rng(7)
    out: dict = {"cpu": f"{cpuinfo('model name')}, {os.cpu_count()} cores", "real_chunks": len(chunks), "sizes": []}
    with tempfile.TemporaryDirectory(prefix="ragate-scale-") as tmp:
        folder = Path(args.out or tmp)
        env = corpus_env(str(folder), RAGATE_RERANKER_MEASURE="at_load", RAGATE_EMBEDDER_MEASURE="at_load")
        settings = load_settings(None, env)
        p = Pipeline(settings, Models(settings).load())
        try:
            store = p.catalog.store("scale", create=True)
            qvecs = p.models.require_embedder().encode(queries, kind="query")  # as recall encodes a query
            written = 0
            for size in sizes:
                write_s, bm25_s = 0.0, 0.0
                while written < size:
                    n = min(BATCH, size - written)
                    real = max(0, min(n, len(chunks) - written))  # real chunks first, then derived ones
                    batch, vecs = chunks[written : written + real], vectors[written : written + real]
                    if real < n:
                        more, extra = derived(chunks, vectors, written + real, n - real, rng)
                        batch, vecs = [*batch, *more], np.vstack([vecs, extra])
                    t0 = time.perf_counter()
                    sparse = p.models.bm25.encode_documents([c.text for c in batch], [c.lang for c in batch])
                    t1 = time.perf_counter()
                    store.upsert(batch, vecs, sparse)
                    t2 = time.perf_counter()
                    bm25_s, write_s = bm25_s + t1 - t0, write_s + t2 - t1
                    written += n
                t0 = time.perf_counter()
                store.flush()
                write_s += time.perf_counter() - t0
                row: dict = {
                    "chunks": size,
                    "real": min(size, len(chunks)),
                    "bm25_encode_s": round(bm25_s, 1),
                    "write_s": round(write_s, 1),
                    "write_chunks_per_s": round((size - (out["sizes"][-1]["chunks"] if out["sizes"] else 0)) / write_s, 1),
                }
                row["dense_plain_ms"] = _dense_ms(store, qvecs)
                t0 = time.perf_counter()
                store.optimize()
                row["optimize_s"] = round(time.perf_counter() - t0, 1)
                row["dense_ms"] = _dense_ms(store, qvecs)
                row["hnsw"] = {str(ef or "default"): _recall(store, qvecs, qe, DENSE, ef) for ef in (None, 128, 256, 512)}
                row["recall@100"] = row["hnsw"][str(HNSW_EF)]["recall@100"]  # what the product searches with
                row["disk_mb"] = round(disk_mb(folder / "scale"), 1)
                for q in queries[:2]:  # warm-up: the first reads of new segments
                    p.search(SearchRequest(query=q, collection="scale", rerank=False))
                stages: dict[str, list[float]] = {}
                for q in queries:
                    resp = p.search(SearchRequest(query=q, collection="scale", rerank=False))
                    for k, v in resp.timings_ms.items():
                        stages.setdefault(f"search_no_rerank.{k}", []).append(v)
                    ans = p.answer(AnswerRequest(query=q, collection="scale"))
                    for k, v in ans.timings_ms.items():
                        stages.setdefault(f"answer.{k}", []).append(v)
                row["stages_ms"] = {k: percentiles(v) for k, v in stages.items()}
                row["rss_mb"] = round(rss_mb(), 1)
                row["peak_rss_mb"] = round(peak_rss_mb(), 1)
                out["sizes"].append(row)
                log(
                    f"{size} chunks ({row['real']} real): write {row['write_chunks_per_s']} chunks/s (bm25 encode {row['bm25_encode_s']} s), "
                    f"optimize {row['optimize_s']} s, disk {row['disk_mb']} MB, RSS {row['rss_mb']} MB (peak {row['peak_rss_mb']}); "
                    f"dense p50/p95 {row['dense_plain_ms']['p50']}/{row['dense_plain_ms']['p95']} ms before optimize, "
                    f"{row['dense_ms']['p50']}/{row['dense_ms']['p95']} ms after, recall@100 {row['recall@100']}; "
                    f"search without rerank p50/p95 {row['stages_ms']['search_no_rerank.total']['p50']}/"
                    f"{row['stages_ms']['search_no_rerank.total']['p95']} ms; answer p50 {row['stages_ms']['answer.total']['p50']} ms"
                )
                log("  hnsw_ef: " + ", ".join(f"{ef} recall@100 {h['recall@100']} p50 {h['p50']} ms" for ef, h in row["hnsw"].items()))
                log("  stages (p50/p95 ms): " + ", ".join(f"{k} {v['p50']}/{v['p95']}" for k, v in row["stages_ms"].items()))
        finally:
            p.close()
    if args.json:
        print(json.dumps(out))
    return 0


def _dense_ms(store, qvecs: np.ndarray) -> dict[str, float]:
    """The dense channel's latency as recall runs it (100 hits, with their vectors)."""
    times = []
    for v in [*qvecs[:2], *qvecs]:
        t0 = time.perf_counter()
        store.search_dense(v, None, 100)
        times.append((time.perf_counter() - t0) * 1000)
    return percentiles(times[2:])


def _recall(store, qvecs: np.ndarray, qe, using: str, ef: int | None) -> dict[str, float]:
    """Mean share of the exact top 100 that the indexed search at `hnsw_ef` returns, and that
    search's latency (ids only)."""
    shares, times = [], []
    for v in qvecs:
        exact = qe.QueryRequest(limit=100, query=qe.Query.Nearest(v.tolist(), using=using), params=qe.SearchParams(exact=True))
        truth = {str(p.id) for p in store.shard.query(exact)}
        req = qe.QueryRequest(limit=100, query=qe.Query.Nearest(v.tolist(), using=using), params=qe.SearchParams(hnsw_ef=ef))
        t0 = time.perf_counter()
        got = {str(p.id) for p in store.shard.query(req)}
        times.append((time.perf_counter() - t0) * 1000)
        shares.append(len(got & truth) / max(len(truth), 1))
    return {"recall@100": round(float(np.mean(shares)), 4), **percentiles(times)}


if __name__ == "__main__":
    sys.exit(main())
