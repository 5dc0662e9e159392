"""`ragate tune`: fine-tune the reranker on one collection, from labels the user has (a BEIR
dataset's train qrels, a JSONL of pairs, the agents' feedback) or from questions Claude writes for
sampled chunks.

Training runs in this process, never in the index service: the service keeps answering while a
model trains. The index is read only through its use cases (`search` without reranking mines hard
negatives from ragate's own hybrid retrieval, so the model learns the chunking it will rerank;
`sample_chunks` feeds --synthesize). Random passages from other queries add off-topic negatives,
so scores keep their meaning across queries."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
from pathlib import Path
from typing import Any

from ragate.retrieval.beir import BeirDataset, beir_id
from ragate.retrieval.chunking import with_context
from ragate.scoring.finetune import Pair, TrainOptions, held_out_figures, load_base, train
from ragate.server.config import Settings
from ragate.server.feedback import feedback_path
from ragate.server.requests import SearchRequest
from ragate.server.schemas import SearchResult

log = logging.getLogger(__name__)


class TuneError(ValueError):
    """Training data that cannot be gathered as asked; the message says what to do."""


HARD_NEGATIVES = 6  # retrieved passages per query labelled not relevant
RANDOM_NEGATIVES = 1  # off-topic passages per query
HELD_OUT_SHARE = 0.1
MAX_SEARCH_TOKENS = 100_000  # mining wants whole passages, not a response budget


def default_output(settings: Settings, collection: str) -> Path:
    """Beside the index, one folder per collection (a second run there resumes or retrains)."""
    return Path(settings.qdrant.path).resolve().parent / "tuned-reranker" / collection


def read_pairs(path: str | Path) -> list[Pair]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    for i, r in enumerate(rows):
        if not {"query", "text", "relevant"} <= set(r):
            raise TuneError(f"{path}: line {i + 1} needs query, text and relevant")
    return [Pair(r["query"], r["text"], bool(r["relevant"])) for r in rows]


def _text(r: SearchResult) -> str:
    return with_context(r.title, r.heading_path, r.text)


class Miner:
    """Hard negatives from the index's own hybrid retrieval (no reranking), through its use cases."""

    def __init__(self, uc, collection: str, k: int = HARD_NEGATIVES):
        self.uc, self.collection, self.k = uc, collection, k

    def search(self, query: str, extra: int) -> list[SearchResult]:
        req = SearchRequest(query=query, top_k=self.k + extra, rerank=False, collection=self.collection, max_tokens=MAX_SEARCH_TOKENS)
        return self.uc.search(req).results

    def negatives(self, query: str, *, is_positive) -> list[Pair]:
        hits = [r for r in self.search(query, extra=5) if not is_positive(r)]
        return [Pair(query, _text(r), False, "hard") for r in hits[: self.k]]


def from_dataset(miner: Miner, dataset: str, max_queries: int | None, progress: bool) -> list[Pair]:
    """Train qrels: positives as indexed where retrieval finds them (else the document), retrieved
    non-relevant chunks as negatives."""
    from ragate.server.evaluate import _progress, sample_queries

    ds = BeirDataset.load(dataset, "train")
    qids = sample_queries(ds, max_queries)
    wanted = {d for q in qids for d, r in ds.qrels[q].items() if r > 0}
    docs = {beir_id(d.source): with_context(d.title, [], d.text) for d in ds.documents() if beir_id(d.source) in wanted}
    pairs: list[Pair] = []
    for qid in _progress(qids, progress):
        query, rel = ds.queries[qid], {d for d, r in ds.qrels[qid].items() if r > 0 and d in docs}
        hits = miner.search(query, extra=5 + len(rel))
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
    from ragate.server.evaluate import _progress
    from ragate.server.question_writer import QuestionWriter

    writer = QuestionWriter(settings.llm)
    pairs: list[Pair] = []
    for chunk in _progress(uc.sample_chunks({"n": n, "collection": miner.collection}), progress):
        question = writer.question(chunk["text"])
        if question:
            pairs.append(Pair(question, chunk["text"], True))
            pairs += miner.negatives(question, is_positive=lambda r, c=chunk: r.chunk_id == c["chunk_id"])
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


def split(pairs: list[Pair], rng: random.Random) -> tuple[list[Pair], dict[str, list[Pair]]]:
    """Queries (with a positive) held out whole, so the figures are on queries never trained on."""
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        groups.setdefault(p.query, []).append(p)
    labelled = sorted(q for q, ps in groups.items() if any(p.relevant for p in ps))
    if len(labelled) < 2:
        raise TuneError(f"tune needs at least 2 queries with a relevant passage; found {len(labelled)}")
    held = set(rng.sample(labelled, max(1, round(len(labelled) * HELD_OUT_SHARE))))
    return [p for q, ps in groups.items() if q not in held for p in ps], {q: groups[q] for q in sorted(held)}


def set_reranker(config_path: Path, model: str) -> None:
    """Set [reranker] model in the config file, keeping its comments."""
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    line = f"model = {json.dumps(model)}"
    section = re.search(r"(?ms)^\[reranker\]\s*$(.*?)(?=^\[|\Z)", text)
    if section is None:
        text += f"\n[reranker]\n{line}\n"
    elif re.search(r"(?m)^model\s*=.*$", section.group(1)):
        body = re.sub(r"(?m)^model\s*=\s*(\"[^\"]*\"|[^#\n]*)", line.replace("\\", "\\\\"), section.group(1), count=1)
        text = text[: section.start(1)] + body + text[section.end(1) :]
    else:
        text = text[: section.end(0)] + line + "\n" + text[section.end(0) :]
    config_path.write_text(text, encoding="utf-8")


def model_card(report: dict[str, Any]) -> str:
    b, a = report["before"], report["after"]
    rows = "\n".join(f"| {k} | {b[k]} | {a[k]} |" for k in ("ndcg@10", "answer_rate", "offtopic_accept_rate"))
    return f"""# ragate reranker tuned for collection `{report["collection"]}`

- base: `{report["base"]}`
- data: {report["source"]}; {report["train_pairs"]} training pairs over {report["train_queries"]} queries,
  {report["held_out_queries"]} held-out queries ({report["held_out_pairs"]} pairs)
- loss: pointwise binary cross-entropy (hard negatives from hybrid retrieval, random off-topic negatives)
- training: {report["training"]["steps"]} steps in {report["training"]["train_seconds"]} s on {report["device"]}
  (stopped by the time budget: {report["training"]["stopped_by_budget"]})
- written: {report["written_at"]}

Held-out queries (gate rates on raw sigmoid scores at threshold {a["threshold"]}; calibrate before use):

| figure | before | after |
|---|---|---|
{rows}
"""


def run_tune(
    uc,
    settings: Settings,
    *,
    dataset: str | None = None,
    pairs: str | None = None,
    from_feedback: bool = False,
    synthesize: int | None = None,
    base: str | None = None,
    collection: str | None = None,
    epochs: int = 2,
    max_queries: int | None = None,
    max_minutes: float | None = None,
    max_steps: int = -1,
    output: str | None = None,
    device: str | None = None,
    batch_size: int = 16,
    seed: int = 13,
    progress: bool = True,
) -> dict[str, Any]:
    """Gather labelled pairs through the index's use cases (`uc`), train, and report."""
    rng = random.Random(seed)
    if dataset:
        name = collection or f"beir_{Path(dataset).resolve().name}"
        if name not in uc.stats()["collections"]:
            raise TuneError(f"collection {name!r} is not indexed; index the dataset first: ragate eval --dataset {dataset} --variants bm25")
        miner = Miner(uc, name)
        labelled, source = from_dataset(miner, dataset, max_queries, progress), f"{dataset} (train qrels)"
    else:
        name = collection or settings.index.collection
        miner = Miner(uc, name) if name in uc.stats()["collections"] else None
        if synthesize:
            if miner is None:
                raise TuneError(f"collection {name!r} is not indexed; --synthesize samples its chunks")
            labelled, source = synthesized(uc, miner, settings, synthesize, progress), f"{synthesize} questions written by Claude"
        else:
            path = str(feedback_path(Path(settings.qdrant.path).resolve())) if from_feedback else pairs
            if not Path(path).exists():
                raise FileNotFoundError(f"no labelled pairs at {path}" + (" (no feedback stored yet)" if from_feedback else ""))
            given = read_pairs(path)
            if max_queries:
                keep = set(sorted({p.query for p in given})[:max_queries])
                given = [p for p in given if p.query in keep]
            labelled, source = from_labels(miner, given), ("agents' feedback" if from_feedback else str(path))
            if miner is None:
                log.warning("collection %r is not indexed: no hard negatives mined, only the given pairs", name)
    train_pairs, held_out = split(add_random_negatives(labelled, rng), rng)
    rr = settings.reranker
    base = base or rr.model
    opts = TrainOptions(
        base=base,
        output_dir=Path(output).resolve() if output else default_output(settings, name),
        epochs=epochs,
        max_minutes=max_minutes,
        device=device or rr.device,
        max_length=rr.max_length,
        batch_size=batch_size,
        max_steps=max_steps,
        seed=seed,
    )
    model = load_base(base, max_length=opts.max_length, device=opts.device)
    threshold = settings.gate.min_score
    before = held_out_figures(model, held_out, threshold)
    log.warning("held-out before tuning: %s", before)
    training = train(model, train_pairs, held_out, opts)
    after = held_out_figures(model, held_out, threshold)
    report: dict[str, Any] = {
        "model": str(opts.output_dir),
        "base": base,
        "collection": name,
        "source": source,
        "device": str(model.device),
        "train_pairs": len(train_pairs),
        "train_queries": len({p.query for p in train_pairs}),
        "held_out_queries": len(held_out),
        "held_out_pairs": sum(len(v) for v in held_out.values()),
        "before": before,
        "after": after,
        "training": training,
        "written_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (opts.output_dir / "tune.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (opts.output_dir / "README.md").write_text(model_card(report), encoding="utf-8")
    return report
