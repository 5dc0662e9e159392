"""Fine-tune a cross-encoder on labelled (query, passage) pairs with sentence-transformers'
CrossEncoderTrainer.

The loss is pointwise binary cross-entropy: each pair is judged on its own, so a logit means the
same whatever the query, which calibration and the abstain gate rely on (a listwise loss only
orders passages within a query). Training keeps resumable checkpoints, evaluates nDCG@10 on the
held-out queries as it goes, stops early when that stops improving or the time budget runs out,
and keeps the best checkpoint. `fit` is that loop for any loss; distillation (scoring/training/distill.py)
uses it too."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragate.retrieval.errors import ModelLoadError
from ragate.retrieval.model_paths import pick_device, resolve_model

log = logging.getLogger(__name__)

CONFIG_KEY = "reranker.model"
EVAL_NAME = "heldout"
NDCG = f"{EVAL_NAME}_ndcg@10"


@dataclasses.dataclass(frozen=True)
class Pair:
    """One labelled pair; `kind` says where a negative came from ("hard": retrieved, "random": off-topic,
    "pool": a passage of the query's retrieved pool that nobody labelled, for distillation)."""

    query: str
    text: str
    relevant: bool
    kind: str = "given"


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainOptions:
    base: str
    output_dir: Path
    epochs: int = 2
    max_minutes: float | None = None
    device: str = "auto"
    max_length: int = 256
    batch_size: int = 16
    learning_rate: float = 5e-5
    patience: int = 2  # evaluations without a better held-out nDCG@10 before stopping
    evals_per_epoch: int = 2
    max_steps: int = -1  # > 0: stop after this many optimiser steps (tests)
    seed: int = 13


def load_base(base: str, *, max_length: int, device: str):
    """A CrossEncoder with one relevance logit: a cross-encoder's own head, or a fresh head on an
    encoder (a bi-encoder's weights start well: they already read queries and passages)."""
    from sentence_transformers import CrossEncoder

    try:
        model = CrossEncoder(resolve_model(base), num_labels=1, max_length=max_length, device=pick_device(device))
    except Exception as e:  # hub, IO and config errors all mean the same thing to the user
        raise ModelLoadError(base, e, CONFIG_KEY) from None
    if model.model.config.num_labels != 1:
        raise ModelLoadError(base, f"expected a single-logit head, found {model.model.config.num_labels} labels", CONFIG_KEY)
    return model


def _samples(groups: dict[str, list[Pair]]) -> list[dict[str, Any]]:
    return [
        {"query": q, "positive": [p.text for p in ps if p.relevant], "documents": [p.text for p in ps]}
        for q, ps in groups.items()
        if any(p.relevant for p in ps)
    ]


def held_out_figures(model, groups: dict[str, list[Pair]], threshold: float) -> dict[str, float]:
    """nDCG@10 over each held-out query's labelled candidates, and the gate's rates at `threshold`
    on raw sigmoid scores: how many queries it would answer, and how many off-topic pairs pass."""
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    samples = _samples(groups)
    ndcg = CrossEncoderRerankingEvaluator(samples, at_k=10, name=EVAL_NAME, write_csv=False)(model)[NDCG]
    pairs = [p for ps in groups.values() for p in ps]
    probs = np.asarray(model.predict([(p.query, p.text) for p in pairs], activation_fn=_sigmoid(), show_progress_bar=False))
    by_query: dict[str, float] = {}
    for p, s in zip(pairs, probs, strict=True):
        by_query[p.query] = max(by_query.get(p.query, 0.0), float(s))
    off = [float(s) for p, s in zip(pairs, probs, strict=True) if p.kind == "random"]
    return {
        "ndcg@10": round(float(ndcg), 4),
        "answer_rate": round(float(np.mean([s >= threshold for s in by_query.values()])), 4),
        "offtopic_accept_rate": round(float(np.mean([s >= threshold for s in off])), 4) if off else 0.0,
        "threshold": threshold,
    }


def _sigmoid():
    import torch

    return torch.nn.Sigmoid()


def _time_budget(max_minutes: float | None):
    from transformers import TrainerCallback

    class TimeBudget(TrainerCallback):
        """Stops at the budget, evaluating and saving first so the best checkpoint can still win."""

        def __init__(self):
            self.start = time.monotonic()
            self.stopped = False

        def on_step_end(self, args, state, control, **kwargs):
            if max_minutes and time.monotonic() - self.start > max_minutes * 60:
                control.should_training_stop = control.should_evaluate = control.should_save = True
                self.stopped = True
            return control

    return TimeBudget()


def train(model, train_pairs: list[Pair], held_out: dict[str, list[Pair]], opts: TrainOptions) -> dict[str, Any]:
    """Pointwise BCE on the labels; the best held-out nDCG@10 checkpoint ends loaded."""
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    return fit(
        model,
        queries=[p.query for p in train_pairs],
        texts=[p.text for p in train_pairs],
        labels=[1.0 if p.relevant else 0.0 for p in train_pairs],
        loss=BinaryCrossEntropyLoss(model),
        evaluator=CrossEncoderRerankingEvaluator(_samples(held_out), at_k=10, name=EVAL_NAME, write_csv=False),
        metric=NDCG,
        opts=opts,
    )


def fit(
    model, *, queries: list[str], texts: list[str], labels: list[float], loss, evaluator, metric: str, opts: TrainOptions
) -> dict[str, Any]:
    """Train in place with `loss` on (query, text, label) rows, evaluating `evaluator` as it goes and
    keeping the checkpoint with the best `metric`; save to opts.output_dir."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from transformers import EarlyStoppingCallback

    data = Dataset.from_dict({"query": queries, "text": texts, "label": labels})
    steps_per_epoch = math.ceil(len(labels) / opts.batch_size)
    every = max(1, steps_per_epoch // opts.evals_per_epoch)
    if opts.max_steps > 0:
        every = min(every, opts.max_steps)
    checkpoints = opts.output_dir / "checkpoints"
    args = CrossEncoderTrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=opts.epochs,
        max_steps=opts.max_steps,
        per_device_train_batch_size=opts.batch_size,
        learning_rate=opts.learning_rate,
        warmup_steps=0.1,  # a float: the share of steps spent warming up
        eval_strategy="steps",
        eval_steps=every,
        save_strategy="steps",
        save_steps=every,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model=f"eval_{metric}",
        greater_is_better=True,
        logging_steps=every,
        seed=opts.seed,
        use_cpu=pick_device(opts.device) == "cpu",
        report_to="none",
        dataloader_num_workers=0,
    )
    budget = _time_budget(opts.max_minutes)
    trainer = CrossEncoderTrainer(
        model=model,
        args=args,
        train_dataset=data,
        loss=loss,
        evaluator=evaluator,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=opts.patience), budget],
    )
    # A run stopped part-way (budget, interrupt) goes on from its last checkpoint.
    resume = any(checkpoints.glob("checkpoint-*"))
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    model.save(str(opts.output_dir))
    return {
        "steps": int(result.global_step),
        "train_loss": round(float(result.training_loss), 4),
        "train_seconds": round(time.monotonic() - started, 1),
        "stopped_by_budget": budget.stopped,
        "resumed": resume,
        "best_checkpoint": trainer.state.best_model_checkpoint,
    }
