"""Candidate pools for the answerability benchmark, built once and cached.

Reranking is the slow part (tens of pairs per second on a CPU), so every query's fused pool is
reranked once and kept on disk with its component scores and passage text; fitting and reporting
then read the cache. Run `python -m bench.gate_pools` (or let `bench.gate_eval` call it)."""

from __future__ import annotations

import gzip
import json
import logging
import random
import sys
from pathlib import Path
from typing import Any

from ragate.retrieval.beir import BeirDataset, beir_collection, beir_id, sample_queries
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.documents import Chunk
from ragate.scoring.calibration import Calibrator
from ragate.server.lab.evaluate import index_dataset
from ragate.server.pipeline import Pipeline

log = logging.getLogger(__name__)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SCIFACT = SHARED / "datasets" / "scifact"
OFFTOPIC = SHARED / "datasets" / "offtopic" / "queries.jsonl"
CACHE = Path(__file__).resolve().parent / "results" / "gate_pools"
CANDIDATES = 50
TRAIN_QUERIES: int | None = None  # all 809 SciFact train queries
TEST_QUERIES: int | None = None  # all 300 SciFact test queries
COLLECTION = beir_collection(SCIFACT)


def load_offtopic(path: Path = OFFTOPIC) -> dict[str, str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {str(r["_id"]): r["text"] for r in rows}


def query_sets() -> dict[str, list[tuple[str, str, list[str]]]]:
    """split → [(query id, text, relevant doc ids)]; off-topic queries have none."""
    # Off-topic and train first: the model can be fitted while the test pools are still reranking.
    out: dict[str, list[tuple[str, str, list[str]]]] = {"offtopic": [(q, t, []) for q, t in sorted(load_offtopic().items())]}
    for split, limit in (("train", TRAIN_QUERIES), ("test", TEST_QUERIES)):
        ds = BeirDataset.load(SCIFACT, split)
        out[split] = [(q, ds.queries[q], sorted(d for d, r in ds.qrels[q].items() if r > 0)) for q in sample_queries(ds, limit)]
    return out


def _row(c: Candidate) -> dict[str, Any]:
    return {"chunk": c.chunk.model_dump(), "dense": c.dense, "bm25": c.bm25, "fused": c.fused, "rerank": c.rerank}


def build(p: Pipeline, *, candidates: int = CANDIDATES, cache: Path = CACHE) -> None:
    """Rerank each split's pools and write them to cache/<split>.jsonl.gz (skipping splits done).
    The index has no fitted calibration, so relevance is the reranker's own sigmoid."""
    cache.mkdir(parents=True, exist_ok=True)
    index_dataset(p.catalog, BeirDataset.load(SCIFACT, "test"), COLLECTION, progress=False)
    for split, queries in query_sets().items():
        path = cache / f"{split}.jsonl.gz"
        if path.is_file():
            continue
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            for i, (qid, text, relevant) in enumerate(queries):
                r = p.retriever.rank(text, candidates=candidates, collection=COLLECTION, fusion="rrf", degrade=False, need_relevance=True)
                if r.candidates and r.stage is None:
                    raise RuntimeError(f"reranker unavailable: {p.models.reranker_error}")
                row = {"id": qid, "text": text, "relevant": relevant, "pool": [_row(c) for c in r.candidates]}
                fh.write(json.dumps(row) + "\n")
                if i % 25 == 0:
                    print(f"{split}: {i}/{len(queries)}", file=sys.stderr, flush=True)
        tmp.replace(path)


def load(split: str, *, cache: Path = CACHE, calibrator: Calibrator | None = None) -> list[dict[str, Any]]:
    """Cached pools as {id, text, relevant, pool: [Candidate]}, relevance from the calibrator."""
    calibrator = calibrator or Calibrator()
    out = []
    with gzip.open(cache / f"{split}.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            pool = []
            for c in row["pool"]:
                cand = Candidate(chunk=Chunk.model_validate(c["chunk"]), dense=c["dense"], bm25=c["bm25"], fused=c["fused"])
                cand.rerank = c["rerank"]
                cand.relevance = None if c["rerank"] is None else float(calibrator([c["rerank"]])[0])
                pool.append(cand)
            row["pool"] = pool
            out.append(row)
    return out


def without_relevant(pool: list[Candidate], relevant: list[str]) -> list[Candidate]:
    """The near-topic negative: the same pool with the query's relevant documents taken out."""
    rel = set(relevant)
    return [c for c in pool if beir_id(c.chunk.source) not in rel]


def split_offtopic(ids: list[str], *, seed: int = 13) -> tuple[set[str], set[str]]:
    """Off-topic ids in two halves by a fixed shuffle: (fit half, report half)."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return set(order[:half]), set(order[half:])


def main() -> int:
    import os

    from ragate.server.model_loader import Models
    from ragate.server.settings_loader import load_settings

    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RAGATE_RERANKER_MODEL", str(SHARED / "models" / "ragate-ce-minilm-l6-scifact"))
    settings = load_settings(None)
    p = Pipeline(settings, Models(settings).load(need_reranker=True))
    try:
        build(p)
    finally:
        p.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
