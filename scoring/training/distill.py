"""Distil a small first-pass cross-encoder from a larger one.

The student is the teacher with only its first K transformer layers (embeddings, pooler and
relevance head kept), so it starts from the teacher's own weights and tokenizer. It learns to
reproduce the teacher's logits (mean squared error) rather than the labels: a first pass must hand
the main model the candidates the main model would rank highest, and the teacher's score says that
for every passage of a pool, labelled or not. The held-out figures compare the two on queries the
student never trained on."""

from __future__ import annotations

from typing import Any

import numpy as np

from ragate.retrieval.errors import TrainingError
from ragate.scoring.training.finetune import EVAL_NAME, Pair, TrainOptions, fit

SPEARMAN = f"{EVAL_NAME}_spearman"
# Cut layers leave the head reading states it was not trained on, so the student moves further
# from its starting weights than a fine-tuned model does: a larger step than fine-tuning's 5e-5.
LEARNING_RATE = 1e-4

# Teacher logits by (query, passage text).
TeacherScores = dict[tuple[str, str], float]


def layer_count(model) -> int:
    return len(_blocks(model))


def _blocks(model):
    import torch

    blocks = getattr(getattr(model.model.base_model, "encoder", None), "layer", None)
    if not isinstance(blocks, torch.nn.ModuleList):
        raise TrainingError(f"no encoder.layer list in {type(model.model).__name__}: distillation cuts BERT-style encoders")
    return blocks


def truncate(model, layers: int):
    """Keep only the first `layers` transformer layers of a CrossEncoder, in place."""
    import torch

    blocks = _blocks(model)
    if not 0 < layers < len(blocks):
        raise TrainingError(f"the student needs 1 to {len(blocks) - 1} layers of the teacher's {len(blocks)}; asked for {layers}")
    model.model.base_model.encoder.layer = torch.nn.ModuleList(list(blocks)[:layers])
    model.model.config.num_hidden_layers = layers
    return model


def distill(
    student, train_pairs: list[Pair], held_out: dict[str, list[Pair]], teacher: TeacherScores, opts: TrainOptions
) -> dict[str, Any]:
    """Train the student in place on the teacher's logits, keeping the checkpoint whose held-out
    scores correlate best with the teacher's (Spearman over all held-out pairs)."""
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator
    from sentence_transformers.cross_encoder.losses import MSELoss

    held = [p for ps in held_out.values() for p in ps]
    return fit(
        student,
        queries=[p.query for p in train_pairs],
        texts=[p.text for p in train_pairs],
        labels=[teacher[(p.query, p.text)] for p in train_pairs],
        loss=MSELoss(student),
        evaluator=CrossEncoderCorrelationEvaluator(
            [[p.query, p.text] for p in held], [teacher[(p.query, p.text)] for p in held], name=EVAL_NAME, write_csv=False
        ),
        metric=SPEARMAN,
        opts=opts,
    )


def agreement(student, held_out: dict[str, list[Pair]], teacher: TeacherScores) -> dict[str, Any]:
    """How closely the student follows the teacher on held-out queries: the mean per-query Spearman
    of their logits over every pair, and nDCG@10 of each over the labelled pairs (pool passages
    carry no label: one may be relevant)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import ndcg_score

    held = [p for ps in held_out.values() for p in ps]
    student_scores = iter(student.predict([(p.query, p.text) for p in held], show_progress_bar=False))
    rhos, ndcg = [], {"teacher": [], "student": []}
    for ps in held_out.values():
        s = np.asarray([next(student_scores) for _ in ps], dtype=np.float64)
        t = np.asarray([teacher[(p.query, p.text)] for p in ps], dtype=np.float64)
        rho = spearmanr(s, t).statistic if len(ps) > 2 else np.nan
        if np.isfinite(rho):  # a query whose scores are all equal has none
            rhos.append(rho)
        labelled = [i for i, p in enumerate(ps) if p.kind != "pool"]
        if len(labelled) < 2:  # nothing to rank
            continue
        gains = np.asarray([[1.0 if ps[i].relevant else 0.0 for i in labelled]])
        ndcg["teacher"].append(ndcg_score(gains, t[None, labelled], k=10))
        ndcg["student"].append(ndcg_score(gains, s[None, labelled], k=10))
    return {
        "spearman_vs_teacher": round(float(np.mean(rhos)), 4) if rhos else None,
        "ndcg@10": {k: round(float(np.mean(v)), 4) if v else None for k, v in ndcg.items()},
    }
