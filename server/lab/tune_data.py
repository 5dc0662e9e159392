"""Labelled pairs for `ragate tune`: from a BEIR dataset's train qrels, a JSONL of pairs, the agents'
feedback or questions Claude writes for sampled chunks, with hard negatives mined through the
index's own `search` (no reranking) and random off-topic ones; split into training and held-out
queries."""

from __future__ import annotations

import logging
import random
from typing import Any

from ragate.retrieval.beir import BeirDataset, beir_collection, beir_id, sample_queries
from ragate.retrieval.chunking import with_context
from ragate.retrieval.errors import NotFound, TrainingError
from ragate.retrieval.progress import progress_bar
from ragate.scoring.training.finetune import Pair
from ragate.server.config import Settings
from ragate.server.feedback import stored_rows
from ragate.server.lab.jsonl import read_rows
from ragate.server.llm.question_writer import QuestionWriter
from ragate.server.ops import SAMPLE_CHUNKS, SEARCH, STATS
from ragate.server.requests import SampleRequest, SearchRequest
from ragate.server.schemas import SearchResult

log = logging.getLogger(__name__)

HARD_NEGATIVES = 6  # retrieved passages per query labelled not relevant
RANDOM_NEGATIVES = 1  # off-topic passages per query
HELD_OUT_SHARE = 0.1
MAX_SEARCH_TOKENS = 100_000  # mining wants whole passages, not a response budget
POOL_SAMPLE = 16  # pool passages per query for distillation: the head of the hybrid pool, and a draw from the rest


def pairs_of(rows: list[dict[str, Any]]) -> list[Pair]:
    return [Pair(r["query"], r["text"], bool(r["relevant"])) for r in rows]


def _text(r: SearchResult) -> str:
    return with_context(r.title, r.heading_path, r.text)


class Miner:
    """Hard negatives from the index's own hybrid retrieval (no reranking), through its use cases."""

    def __init__(self, uc, collection: str, k: int = HARD_NEGATIVES):
        self.uc, self.collection, self.k = uc, collection, k

    def search(self, query: str, top_k: int) -> list[SearchResult]:
        req = SearchRequest(query=query, top_k=top_k, rerank=False, collection=self.collection, max_tokens=MAX_SEARCH_TOKENS)
        return self.uc.run(SEARCH, req).results

    def negatives(self, query: str, *, is_positive) -> list[Pair]:
        hits = [r for r in self.search(query, top_k=self.k + 5) if not is_positive(r)]
        return [Pair(query, _text(r), False, "hard") for r in hits[: self.k]]


def from_dataset(miner: Miner, dataset: str, max_queries: int | None, progress: bool) -> list[Pair]:
    """Train qrels: positives as indexed where retrieval finds them (else the document), retrieved
    non-relevant chunks as negatives."""
    ds = BeirDataset.load(dataset, "train")
    qids = sample_queries(ds, max_queries)
    wanted = {d for q in qids for d, r in ds.qrels[q].items() if r > 0}
    docs = {beir_id(d.source): with_context(d.title, [], d.text) for d in ds.documents() if beir_id(d.source) in wanted}
    pairs: list[Pair] = []
    for qid in progress_bar(qids, progress):
        query, rel = ds.queries[qid], {d for d, r in ds.qrels[qid].items() if r > 0 and d in docs}
        hits = miner.search(query, top_k=miner.k + 5 + len(rel))
        found = {beir_id(r.source): _text(r) for r in hits if beir_id(r.source) in rel}
        pairs += [Pair(query, found.get(d, docs[d]), True) for d in sorted(rel)]
        pairs += [Pair(query, _text(r), False, "hard") for r in hits if beir_id(r.source) not in rel][: miner.k]
    return pairs


def from_labels(miner: Miner | None, labelled: list[Pair]) -> list[Pair]:
    """Given pairs, plus mined negatives for each query that has a positive."""
    pairs = list(labelled)
    if miner is None:
        return pairs
    positives: dict[str, set[str]] = {}
    for p in labelled:
        if p.relevant:
            positives.setdefault(p.query, set()).add(p.text)
    for query, texts in positives.items():
        pairs += miner.negatives(query, is_positive=lambda r, t=texts: _text(r) in t or r.text in t)
    return pairs


def synthesized(uc, miner: Miner, settings: Settings, n: int, progress: bool) -> list[Pair]:
    """Claude writes a question per sampled chunk; the chunk is its positive."""
    writer = QuestionWriter(settings.llm)
    pairs: list[Pair] = []
    for chunk in progress_bar(uc.run(SAMPLE_CHUNKS, SampleRequest(n=n, collection=miner.collection)), progress):
        question = writer.question(chunk.text)
        if question:
            pairs.append(Pair(question, chunk.text, True))
            pairs += miner.negatives(question, is_positive=lambda r, c=chunk: r.chunk_id == c.chunk_id)
    return pairs


def add_random_negatives(pairs: list[Pair], rng: random.Random, k: int = RANDOM_NEGATIVES) -> list[Pair]:
    """Passages drawn from other queries' pairs, labelled not relevant: off-topic examples."""
    by_query: dict[str, list[str]] = {}
    for p in pairs:
        by_query.setdefault(p.query, []).append(p.text)
    texts = sorted({p.text for p in pairs})
    out = list(pairs)
    for query, own in by_query.items():
        others = [t for t in rng.sample(texts, min(len(texts), 5 * k + len(own))) if t not in own][:k]
        out += [Pair(query, t, False, "random") for t in others]
    return out


def by_query(pairs: list[Pair]) -> dict[str, list[Pair]]:
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        groups.setdefault(p.query, []).append(p)
    return groups


def split(pairs: list[Pair], rng: random.Random) -> tuple[list[Pair], dict[str, list[Pair]]]:
    """Queries (with a positive) held out whole, so the figures are on queries never trained on."""
    groups = by_query(pairs)
    labelled = sorted(q for q, ps in groups.items() if any(p.relevant for p in ps))
    if len(labelled) < 2:
        raise TrainingError(f"tune needs at least 2 queries with a relevant passage; found {len(labelled)}")
    held = set(rng.sample(labelled, max(1, round(len(labelled) * HELD_OUT_SHARE))))
    return [p for q, ps in groups.items() if q not in held for p in ps], {q: groups[q] for q in sorted(held)}


def gather(
    uc,
    settings: Settings,
    *,
    dataset: str | None,
    pairs: str | None,
    from_feedback: bool,
    synthesize: int | None,
    collection: str | None,
    max_queries: int | None,
    progress: bool,
) -> tuple[str, Miner | None, list[Pair], str]:
    """(collection, its miner when indexed, labelled pairs with mined negatives, where the labels came from)."""
    if dataset:
        name = collection or beir_collection(dataset)
        if name not in uc.run(STATS)["collections"]:
            raise TrainingError(
                f"collection {name!r} is not indexed; index the dataset first: ragate eval --dataset {dataset} --variants bm25"
            )
        miner = Miner(uc, name)
        return name, miner, from_dataset(miner, dataset, max_queries, progress), f"{dataset} (train qrels)"
    name = collection or settings.index.collection
    miner = Miner(uc, name) if name in uc.run(STATS)["collections"] else None
    if synthesize:
        if miner is None:
            raise TrainingError(f"collection {name!r} is not indexed; --synthesize samples its chunks")
        return name, miner, synthesized(uc, miner, settings, synthesize, progress), f"{synthesize} questions written by Claude"
    if from_feedback:
        rows, location = stored_rows(settings)
        if not rows:
            raise NotFound(f"no feedback stored yet in {location}; agents add it with the feedback tool")
        given = pairs_of(rows)
    else:
        given = pairs_of(read_rows(pairs, {"query", "text", "relevant"}))
    if max_queries:
        keep = set(sorted({p.query for p in given})[:max_queries])
        given = [p for p in given if p.query in keep]
    if miner is None:
        log.warning("collection %r is not indexed: no hard negatives mined, only the given pairs", name)
    return name, miner, from_labels(miner, given), ("agents' feedback" if from_feedback else str(pairs))


def with_pool(miner: Miner | None, pairs: list[Pair], *, depth: int, rng: random.Random, progress: bool) -> list[Pair]:
    """Each query's pairs plus passages of its hybrid pool as a first pass reads it: the first
    POOL_SAMPLE/2 and a random draw from the rest, so the student also sees the pool's tail."""

    if miner is None:
        return pairs
    out = list(pairs)
    for query, own in progress_bar(list(by_query(pairs).items()), progress, desc="pools"):
        seen = {p.text for p in own}
        texts = [t for t in dict.fromkeys(_text(r) for r in miner.search(query, top_k=depth)) if t not in seen]
        head, tail = texts[: POOL_SAMPLE // 2], texts[POOL_SAMPLE // 2 :]
        out += [Pair(query, t, False, "pool") for t in head + rng.sample(tail, min(len(tail), POOL_SAMPLE - len(head)))]
    return out
