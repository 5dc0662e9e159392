"""What rank-bm25 would cost at 100k chunks, side by side with ragate's BM25 channel (Qdrant Edge
sparse vectors with the IDF modifier), on the same synthetic corpus in one run.

    python -m bench.bm25_cost [--chunks 100000] [--queries 50]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time

import numpy as np

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.documents import Chunk
from ragate.retrieval.qdrant import EdgeQdrant


def corpus(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"term{i}" for i in range(30000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf-like, as in natural text
    return [" ".join(rng.choices(vocab, weights, k=rng.randint(60, 180))) for _ in range(n)]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=50)
    args = ap.parse_args()
    texts = corpus(args.chunks)
    rng = random.Random(2)
    queries = [" ".join(rng.choice(t.split()) for _ in range(4)) for t in rng.sample(texts, args.queries)]

    from rank_bm25 import BM25Okapi

    m0 = rss_mb()
    t = time.perf_counter()
    ref = BM25Okapi([x.split() for x in texts])
    build_ref = time.perf_counter() - t
    mem_ref = rss_mb() - m0
    t = time.perf_counter()
    for q in queries:
        scores = ref.get_scores(q.split())
        np.argpartition(-scores, 100)[:100]
    q_ref = (time.perf_counter() - t) / len(queries) * 1000

    enc = Bm25Encoder(stemming=False, stopwords=False)
    with tempfile.TemporaryDirectory() as d:
        store = EdgeQdrant(d).open("bm25", create={"dim": 1})
        t = time.perf_counter()
        for s in range(0, len(texts), 5000):
            part = texts[s : s + 5000]
            chunks = [
                Chunk(
                    chunk_id=f"00000000-0000-0000-0000-{s + i:012d}",
                    doc_id=str(s + i),
                    chunk_index=0,
                    text="",
                    source="",
                    title="",
                    heading_path=[],
                    char_start=0,
                    char_end=0,
                    content_hash="",
                )
                for i in range(len(part))
            ]
            store.upsert(chunks, np.ones((len(part), 1), np.float32), enc.encode_documents(part))
        store.flush()
        build_ours = time.perf_counter() - t
        t = time.perf_counter()
        for q in queries:
            store.search_sparse(enc.encode_query(q), None, 100, with_vectors=False)
        q_ours = (time.perf_counter() - t) / len(queries) * 1000
        store.close()
    print(f"{args.chunks} chunks, {args.queries} queries, top-100")
    print(f"{'':28}{'build s':>10}{'query ms':>10}")
    print(f"{'rank-bm25 BM25Okapi':28}{build_ref:10.1f}{q_ref:10.1f}   (+{mem_ref:.0f} MB Python heap, rebuilt on every change)")
    print(f"{'ragate (Qdrant sparse+IDF)':28}{build_ours:10.1f}{q_ours:10.1f}   (on disk, incremental, filterable)")
    print(f"query speed-up: {q_ref / q_ours:.1f}x")


if __name__ == "__main__":
    main()
