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

from ragate.retrieval.progress import progress_bar
from ragate.scoring.training.distill import LEARNING_RATE, TeacherScores, agreement, distill, layer_count, truncate
from ragate.scoring.training.finetune import Pair, TrainOptions, held_out_figures, load_base, train
from ragate.server.config import Settings
from ragate.server.lab.tune_data import POOL_SAMPLE, add_random_negatives, by_query, gather, split, with_pool
from ragate.server.model_loader import cross_encoder
from ragate.server.ops import UseCases
from ragate.server.requests import TuneRequest
from ragate.server.schemas import TuneReport

log = logging.getLogger(__name__)


TEACHER_SLICE = 512  # pairs the teacher scores between progress updates


def default_output(settings: Settings, collection: str) -> Path:
    """Beside the index, one folder per collection (a second run there resumes or retrains)."""
    return Path(settings.qdrant.path).resolve().parent / "tuned-reranker" / collection


def student_output(output: Path, layers: int) -> Path:
    """The first-pass model goes beside the tuned one."""
    return output.with_name(f"{output.name}-first-pass-L{layers}")


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


def run_tune(uc: UseCases, settings: Settings, req: TuneRequest) -> TuneReport:
    """Gather labelled pairs through the index's use cases (`uc`), fine-tune the base model, distil a
    first-pass model from the result (or, with `distill_only`, from the base itself), and report."""
    rng = random.Random(req.seed)
    name, miner, labelled, source = gather(
        uc,
        settings,
        dataset=req.dataset,
        pairs=req.pairs,
        from_feedback=req.from_feedback,
        synthesize=req.synthesize,
        collection=req.collection,
        max_queries=req.max_queries,
        progress=req.progress,
    )
    train_pairs, held_out = split(add_random_negatives(labelled, rng), rng)
    rr = settings.reranker
    opts = TrainOptions(
        base=req.base or rr.model,
        output_dir=Path(req.output).resolve() if req.output else default_output(settings, name),
        epochs=req.epochs,
        max_minutes=req.max_minutes,
        device=req.device or rr.device,
        max_length=rr.max_length,
        batch_size=req.batch_size,
        max_steps=req.max_steps,
        seed=req.seed,
    )
    meta = {"collection": name, "source": source}
    report: dict[str, Any] = dict(meta)
    if not req.distill_only:
        report = fine_tune(train_pairs, held_out, opts, settings=settings, meta=meta)
    if req.distill_layers:
        # Pools as deep as the search a cascade serves (within what one search may return).
        pool = {"depth": min(settings.retrieval.candidates, settings.server.max_top_k), "rng": rng, "progress": req.progress}
        report["distilled"] = first_pass_model(
            with_pool(miner, train_pairs, **pool),
            by_query(with_pool(miner, [p for ps in held_out.values() for p in ps], **pool)),
            dataclasses.replace(
                opts,
                base=report.get("model", opts.base),
                output_dir=student_output(opts.output_dir, req.distill_layers),
                learning_rate=LEARNING_RATE,
            ),
            settings=settings,
            layers=req.distill_layers,
            meta=meta,
            progress=req.progress,
        )
    return TuneReport.model_validate(report)
