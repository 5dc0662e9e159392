"""`ragate tune`: fine-tune the reranker on one collection, from labels the user has (a BEIR
dataset's train qrels, a JSONL of pairs, the agents' feedback) or from questions Claude writes for
sampled chunks.

Training runs in this process, never in the index service: the service keeps answering while a
model trains. The index is read only through its use cases (`search` without reranking mines hard
negatives from ragate's own hybrid retrieval, so the model learns the chunking it will rerank;
`sample_chunks` feeds --synthesize). Random passages from other queries add off-topic negatives,
so scores keep their meaning across queries.

`--distill-layers K` also (or, with `--distill-only`, instead) makes a first-pass model for a rerank
cascade: the teacher (the tuned model, or the starting one) cut to its first K layers and trained on
the teacher's logits over the same queries' pairs plus a sample of each query's hybrid pool, the
passages a first pass reads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import random
from pathlib import Path
from typing import Any

from ragate.retrieval.beir import BeirDataset, beir_collection, beir_id
from ragate.retrieval.chunking import with_context
from ragate.retrieval.errors import NotFound, TrainingError
from ragate.scoring.training.distill import LEARNING_RATE, TeacherScores, agreement, distill, layer_count, truncate
from ragate.scoring.training.finetune import Pair, TrainOptions, held_out_figures, load_base, train
from ragate.server.config import Settings
from ragate.server.feedback import feedback_path
from ragate.server.lab.jsonl import read_rows
from ragate.server.model_loader import cross_encoder
from ragate.server.progress import progress_bar
from ragate.server.requests import SearchRequest
from ragate.server.schemas import SearchResult

log = logging.getLogger(__name__)


HARD_NEGATIVES = 6  # retrieved passages per query labelled not relevant
RANDOM_NEGATIVES = 1  # off-topic passages per query
HELD_OUT_SHARE = 0.1
MAX_SEARCH_TOKENS = 100_000  # mining wants whole passages, not a response budget
POOL_SAMPLE = 16  # pool passages per query for distillation: the head of the hybrid pool, and a draw from the rest
TEACHER_SLICE = 512  # pairs the teacher scores between progress updates


def default_output(settings: Settings, collection: str) -> Path:
    """Beside the index, one folder per collection (a second run there resumes or retrains)."""
    return Path(settings.qdrant.path).resolve().parent / "tuned-reranker" / collection


def student_output(output: Path, layers: int) -> Path:
    """The first-pass model goes beside the tuned one."""
    return output.with_name(f"{output.name}-first-pass-L{layers}")


def read_pairs(path: str | Path) -> list[Pair]:
    rows = read_rows(path, {"query", "text", "relevant"})
    return [Pair(r["query"], r["text"], bool(r["relevant"])) for r in rows]


def _text(r: SearchResult) -> str:
    return with_context(r.title, r.heading_path, r.text)


class Miner:
    """Hard negatives from the index's own hybrid retrieval (no reranking), through its use cases."""

    def __init__(self, uc, collection: str, k: int = HARD_NEGATIVES):
        self.uc, self.collection, self.k = uc, collection, k

    def search(self, query: str, top_k: int) -> list[SearchResult]:
        req = SearchRequest(query=query, top_k=top_k, rerank=False, collection=self.collection, max_tokens=MAX_SEARCH_TOKENS)
        return self.uc.search(req).results

    def negatives(self, query: str, *, is_positive) -> list[Pair]:
        hits = [r for r in self.search(query, top_k=self.k + 5) if not is_positive(r)]
        return [Pair(query, _text(r), False, "hard") for r in hits[: self.k]]


def from_dataset(miner: Miner, dataset: str, max_queries: int | None, progress: bool) -> list[Pair]:
    """Train qrels: positives as indexed where retrieval finds them (else the document), retrieved
    non-relevant chunks as negatives."""
    from ragate.server.lab.evaluate import sample_queries

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
    from ragate.server.llm.question_writer import QuestionWriter

    writer = QuestionWriter(settings.llm)
    pairs: list[Pair] = []
    for chunk in progress_bar(uc.sample_chunks({"n": n, "collection": miner.collection}), progress):
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


def student_card(report: dict[str, Any]) -> str:
    h, t = report["held_out"], report["training"]
    return f"""# ragate first-pass reranker for collection `{report["collection"]}`

A {report["layers"]}-layer cross-encoder distilled from `{report["teacher"]}` for a rerank cascade: it reads the
whole candidate pool and the teacher reads only its best (`[reranker] first_pass_model`, `first_pass_keep`).
Its logits rank passages within a query; they are not calibrated probabilities.

- teacher: `{report["teacher"]}` ({report["teacher_layers"]} layers; its logits from the {report["teacher_engine"]} engine are the targets)
- student: the teacher's embeddings, its first {report["layers"]} transformer layers and its relevance head
- data: {report["source"]}; {report["train_pairs"]} pairs over {report["train_queries"]} queries (the labelled pairs with their hard
  and random negatives, plus up to {POOL_SAMPLE} passages of each query's hybrid pool), {report["held_out_queries"]} held-out
  queries ({report["held_out_pairs"]} pairs)
- loss: mean squared error on the teacher's logits
- training: {t["steps"]} steps in {t["train_seconds"]} s on {report["device"]} (stopped by the time budget: {t["stopped_by_budget"]})
- written: {report["written_at"]}

Held-out queries:

| figure | teacher | student |
|---|---|---|
| nDCG@10 on the labelled pairs | {h["ndcg@10"]["teacher"]} | {h["ndcg@10"]["student"]} |
| Spearman rho with the teacher's logits (mean per query) | 1.0 | {h["spearman_vs_teacher"]} |
"""


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
        if name not in uc.stats()["collections"]:
            raise TrainingError(
                f"collection {name!r} is not indexed; index the dataset first: ragate eval --dataset {dataset} --variants bm25"
            )
        miner = Miner(uc, name)
        return name, miner, from_dataset(miner, dataset, max_queries, progress), f"{dataset} (train qrels)"
    name = collection or settings.index.collection
    miner = Miner(uc, name) if name in uc.stats()["collections"] else None
    if synthesize:
        if miner is None:
            raise TrainingError(f"collection {name!r} is not indexed; --synthesize samples its chunks")
        return name, miner, synthesized(uc, miner, settings, synthesize, progress), f"{synthesize} questions written by Claude"
    path = str(feedback_path(Path(settings.qdrant.path).resolve())) if from_feedback else pairs
    if not Path(path).exists():
        raise NotFound(f"no labelled pairs at {path}" + (" (no feedback stored yet)" if from_feedback else ""))
    given = read_pairs(path)
    if max_queries:
        keep = set(sorted({p.query for p in given})[:max_queries])
        given = [p for p in given if p.query in keep]
    if miner is None:
        log.warning("collection %r is not indexed: no hard negatives mined, only the given pairs", name)
    return name, miner, from_labels(miner, given), ("agents' feedback" if from_feedback else str(path))


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


def teacher_scores(engine, pairs: list[Pair], progress: bool) -> TeacherScores:
    """The teacher's logit for every distinct (query, passage), in slices so progress shows."""

    distinct = sorted({(p.query, p.text) for p in pairs})
    scores: TeacherScores = {}
    for s in progress_bar(range(0, len(distinct), TEACHER_SLICE), progress, desc=f"teacher scores ({TEACHER_SLICE} pairs)"):
        part = distinct[s : s + TEACHER_SLICE]
        scores.update(zip(part, map(float, engine.score_pairs([q for q, _ in part], [t for _, t in part]))))
    return scores


def data_figures(train_pairs: list[Pair], held_out: dict[str, list[Pair]], *, device: str) -> dict[str, Any]:
    """What a trained model's report says of its data, whichever way it was trained."""
    return {
        "device": device,
        "train_pairs": len(train_pairs),
        "train_queries": len({p.query for p in train_pairs}),
        "held_out_queries": len(held_out),
        "held_out_pairs": sum(len(v) for v in held_out.values()),
    }


def write_report(report: dict[str, Any], path: Path, *, card) -> dict[str, Any]:
    """The report as JSON and its model card as README.md, beside the model."""
    report["written_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    (path.parent / "README.md").write_text(card(report), encoding="utf-8")
    return report


def fine_tune(
    train_pairs: list[Pair], held_out: dict[str, list[Pair]], opts: TrainOptions, *, settings: Settings, meta: dict[str, str]
) -> dict[str, Any]:
    """Train from opts.base with BCE; report and card in opts.output_dir."""
    model = load_base(opts.base, max_length=opts.max_length, device=opts.device)
    threshold = settings.gate.min_score
    before = held_out_figures(model, held_out, threshold)
    log.warning("held-out before tuning: %s", before)
    training = train(model, train_pairs, held_out, opts)
    after = held_out_figures(model, held_out, threshold)
    report: dict[str, Any] = {
        "model": str(opts.output_dir),
        "base": opts.base,
        **meta,
        **data_figures(train_pairs, held_out, device=str(model.device)),
        "before": before,
        "after": after,
        "training": training,
    }
    return write_report(report, opts.output_dir / "tune.json", card=model_card)


def first_pass_model(
    train_pairs: list[Pair],
    held_out: dict[str, list[Pair]],
    opts: TrainOptions,
    *,
    settings: Settings,
    layers: int,
    meta: dict[str, str],
    progress: bool,
) -> dict[str, Any]:
    """Distil a `layers`-layer student from opts.base (the teacher); report and card in opts.output_dir."""
    student = load_base(opts.base, max_length=opts.max_length, device=opts.device)
    teacher_layers = layer_count(student)
    truncate(student, layers)  # first, so a bad layer count fails before the teacher's work
    engine = cross_encoder(settings, opts.base, config_key="reranker.model", device=opts.device, serving=False)
    scores = teacher_scores(engine, train_pairs + [p for ps in held_out.values() for p in ps], progress)
    training = distill(student, train_pairs, held_out, scores, opts)
    report: dict[str, Any] = {
        "model": str(opts.output_dir),
        "teacher": opts.base,
        "teacher_layers": teacher_layers,
        "teacher_engine": engine.kind,
        "layers": layers,
        **meta,
        **data_figures(train_pairs, held_out, device=str(student.device)),
        "held_out": agreement(student, held_out, scores),
        "training": training,
    }
    return write_report(report, opts.output_dir / "distill.json", card=student_card)


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
    distill_layers: int | None = None,
    distill_only: bool = False,
) -> dict[str, Any]:
    """Gather labelled pairs through the index's use cases (`uc`), fine-tune `base`, distil a
    first-pass model from the result (or, with `distill_only`, from `base` itself), and report."""
    rng = random.Random(seed)
    name, miner, labelled, source = gather(
        uc,
        settings,
        dataset=dataset,
        pairs=pairs,
        from_feedback=from_feedback,
        synthesize=synthesize,
        collection=collection,
        max_queries=max_queries,
        progress=progress,
    )
    train_pairs, held_out = split(add_random_negatives(labelled, rng), rng)
    rr = settings.reranker
    opts = TrainOptions(
        base=base or rr.model,
        output_dir=Path(output).resolve() if output else default_output(settings, name),
        epochs=epochs,
        max_minutes=max_minutes,
        device=device or rr.device,
        max_length=rr.max_length,
        batch_size=batch_size,
        max_steps=max_steps,
        seed=seed,
    )
    meta = {"collection": name, "source": source}
    report: dict[str, Any] = dict(meta)
    if not distill_only:
        report = fine_tune(train_pairs, held_out, opts, settings=settings, meta=meta)
    if distill_layers:
        # Pools as deep as the search a cascade serves (within what one search may return).
        pool = {"depth": min(settings.retrieval.candidates, settings.server.max_top_k), "rng": rng, "progress": progress}
        report["distilled"] = first_pass_model(
            with_pool(miner, train_pairs, **pool),
            by_query(with_pool(miner, [p for ps in held_out.values() for p in ps], **pool)),
            dataclasses.replace(
                opts,
                base=report.get("model", opts.base),
                output_dir=student_output(opts.output_dir, distill_layers),
                learning_rate=LEARNING_RATE,
            ),
            settings=settings,
            layers=distill_layers,
            meta=meta,
            progress=progress,
        )
    return report
