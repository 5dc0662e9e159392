"""Fitting and judging the answerability gate on labelled pools.

A labelled pool is one query's reranked candidates and whether it can be answered from them:
answerable (a relevant document is in the pool), near-topic (the same pool with its relevant
documents taken out) or off-topic (a question the corpus is not about). `ragate calibrate` fits the
model and certifies its threshold here; `ragate eval` and bench.gate_eval report with the same
code, so the figures in bench/RESULTS.md are what the product computes."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ragate.retrieval.beir import beir_doc
from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.progress import progress_bar
from ragate.scoring.answerability import AnswerabilityModel, by_relevance, fit_model, pool_features
from ragate.scoring.calibration import Calibrator
from ragate.scoring.gate import fallback_score
from ragate.scoring.profile import Reference
from ragate.scoring.risk_control import choose_threshold, clopper_pearson_upper
from ragate.server.retriever import Retriever

Kind = Literal["answerable", "near_topic", "off_topic"]


@dataclass
class LabelledPool:
    group: str  # the query's id: a query's variants stay on one side of every split
    query: str
    pool: list[Candidate]
    kind: Kind

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"


def labelled_pools(
    *, qid: str, query: str, pool: list[Candidate], relevant: set[str] | None, key: Callable[[Candidate], str] = beir_doc
) -> list[LabelledPool]:
    """A dataset query gives an answerable pool (when retrieval found a relevant document) and a
    near-topic one (without them); a query with no relevant set is off-topic. Unreranked pools
    are left out: the gate abstains on them before any model is asked."""
    if not by_relevance(pool):
        return []
    if relevant is None:
        return [LabelledPool(qid, query, pool, "off_topic")]
    out = []
    if any(key(c) in relevant for c in pool):
        out.append(LabelledPool(qid, query, pool, "answerable"))
    rest = [c for c in pool if key(c) not in relevant]
    if by_relevance(rest):
        out.append(LabelledPool(qid, query, rest, "near_topic"))
    return out


def split_groups(pools: list[LabelledPool], *, seed: int = 13) -> tuple[list[LabelledPool], list[LabelledPool]]:
    """(fit half, certify half) by query, from a fixed shuffle, stratified so that queries with an
    answerable pool and those without (off-topic, or retrieval missed) are halved separately."""
    with_answer = {p.group for p in pools if p.answerable}
    fit_groups: set[str] = set()
    for stratum in (with_answer, {p.group for p in pools} - with_answer):
        groups = sorted(stratum)
        random.Random(seed).shuffle(groups)
        fit_groups |= set(groups[: (len(groups) + 1) // 2])
    return [p for p in pools if p.group in fit_groups], [p for p in pools if p.group not in fit_groups]


def scores(pools: list[LabelledPool], *, bm25: Bm25Encoder, model: AnswerabilityModel | None) -> dict[str, np.ndarray]:
    """Each gate's score per pool: the old top calibrated relevance, the uncalibrated rule, the model."""
    feats = [pool_features(query=p.query, pool=p.pool, bm25=bm25) for p in pools]
    out = {
        "top_score": np.array([float(by_relevance(p.pool)[0].relevance) for p in pools]),
        "rule": np.array([fallback_score(f) for f in feats]),
    }
    if model is not None:
        out["model"] = model.predict(feats)
    return out


def pool_candidates(pools: Iterable[LabelledPool]) -> list[Candidate]:
    """Each candidate of these pools once (a near-topic pool shares its answerable pool's)."""
    return list({id(c): c for lp in pools for c in lp.pool}.values())


def recalibrate(candidates: Iterable[Candidate], calibrator: Calibrator) -> None:
    """Each reranked candidate's relevance as `calibrator` gives it from the raw logit."""
    read = [c for c in candidates if c.rerank is not None]
    for c, prob in zip(read, calibrator(np.array([c.rerank for c in read], dtype=np.float64)), strict=True):
        c.relevance = float(prob)


def reference_of(pools: list[LabelledPool], p_answerable: np.ndarray) -> Reference:
    """The drift reference: the answerable pools' p_answerable and best relevance."""
    answerable = np.array([lp.answerable for lp in pools])
    top = np.array([float(by_relevance(lp.pool)[0].relevance) for lp in pools])
    return Reference.of(p_answerable=p_answerable[answerable], top_relevance=top[answerable])


def certified(kinds: np.ndarray) -> np.ndarray:
    """The pools the threshold's bound is about: off-topic questions where there are any (near-topic
    pools, the pool of an answerable question with its answer taken out, are reported beside it but
    separate from answerable ones only weakly, and a bound over them would abstain on most
    answerable questions), else every unanswerable pool."""
    off = kinds == "off_topic"
    return off if off.any() else kinds != "answerable"


def fit_gate(
    pools: list[LabelledPool],
    *,
    bm25: Bm25Encoder,
    max_false_accept: float,
    confidence: float,
    seed: int = 13,
    c: float = 1.0,
    features: list[str] | None = None,
    pool: int | None = None,
) -> tuple[AnswerabilityModel, dict[str, Any]]:
    """Fit the model on half the queries and certify its threshold on the other half (the bound
    holds only for queries the model never saw; see `certified` for which), each pool of `pool`
    candidates. Returns the model and what it cost."""
    fit_half, cert_half = split_groups(pools, seed=seed)
    feats = [pool_features(query=p.query, pool=p.pool, bm25=bm25) for p in fit_half]
    model = fit_model(feats, [p.kind for p in fit_half], c=c, features=features, pool=pool)
    p_cert = model.predict([pool_features(query=p.query, pool=p.pool, bm25=bm25) for p in cert_half])
    kinds = np.array([p.kind for p in cert_half])
    is_ans = kinds == "answerable"
    choice = choose_threshold(
        answerable=p_cert[is_ans], unanswerable=p_cert[certified(kinds)], max_false_accept=max_false_accept, confidence=confidence
    )
    model.threshold = choice.threshold
    model.max_false_accept, model.confidence = max_false_accept, confidence
    model.false_accept_bound = choice.false_accept_bound
    model.false_abstain_rate = choice.false_abstain_rate
    model.calibration_answerable, model.calibration_unanswerable = choice.answerable, choice.unanswerable
    near = p_cert[kinds == "near_topic"]
    if len(near):
        model.near_topic_false_accept = round(float((near >= choice.threshold).mean()), 4)
        model.near_topic_auroc = auroc(p_cert[is_ans], near)
    report = {
        "fit_pools": len(fit_half),
        "calibration_pools": len(cert_half),
        "calibration_answerable": choice.answerable,
        "calibration_unanswerable": choice.unanswerable,
        "threshold": round(choice.threshold, 4),
        "max_false_accept": max_false_accept,
        "confidence": confidence,
        "false_accept_bound": round(choice.false_accept_bound, 4),
        "false_accept_rate": round(choice.false_accept_rate, 4),
        "false_abstain_rate": round(choice.false_abstain_rate, 4),
        "near_topic_false_accept": model.near_topic_false_accept,
        "near_topic_auroc": None if model.near_topic_auroc is None else round(model.near_topic_auroc, 4),
        "weights": model.weights(),
    }
    return model, report


def auroc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """Probability that an answerable pool outscores an unanswerable one (ties count half)."""
    if not len(pos) or not len(neg):
        return None
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    return float(roc_auc_score(y, np.r_[pos, neg]))


def risk_coverage(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Answering the k best-scored pools, k = 1..n: (coverage k/n, share of answered that were
    unanswerable). Ties are broken against the gate (unanswerable first)."""
    s = np.r_[pos, neg]
    bad = np.r_[np.zeros(len(pos)), np.ones(len(neg))]
    order = np.lexsort((-bad, -s))
    k = np.arange(1, len(s) + 1)
    return k / len(s), np.cumsum(bad[order]) / k


def rates(pos: np.ndarray, neg: np.ndarray, threshold: float) -> dict[str, float]:
    return {
        "threshold": round(float(threshold), 4),
        "false_accept_rate": round(float((neg >= threshold).mean()), 4) if len(neg) else 0.0,
        "false_abstain_rate": round(float((pos < threshold).mean()), 4) if len(pos) else 0.0,
    }


def at_false_abstain(pos: np.ndarray, neg: np.ndarray, target: float) -> dict[str, float]:
    """The highest threshold whose false-abstain rate is at most the target, and its rates."""
    a = np.sort(pos)
    t = float(a[int(np.floor(target * len(a)))]) if len(a) else 1.0
    return {"max_false_abstain": target, **rates(pos, neg, t)}


def judge(pos: np.ndarray, neg: np.ndarray, thresholds: dict[str, float]) -> dict[str, Any]:
    _, risk = risk_coverage(pos, neg)
    return {
        "auroc": None if (v := auroc(pos, neg)) is None else round(v, 4),
        "aurc": round(float(risk.mean()), 4),
        **{name: rates(pos, neg, t) for name, t in thresholds.items()},
        "at_false_abstain_0.10": at_false_abstain(pos, neg, 0.10),
        "at_false_abstain_0.15": at_false_abstain(pos, neg, 0.15),
    }


def report(pools: list[LabelledPool], gate_scores: dict[str, np.ndarray], thresholds: dict[str, dict[str, float]]) -> dict[str, Any]:
    """gate.near_topic and gate.off_topic, each with an entry per gate (`top_score`, `rule`, `model`),
    and `guarantee`: the model's false-accept rate at its threshold over the pools it bounds."""
    kinds = np.array([p.kind for p in pools])
    pos_mask = kinds == "answerable"
    out: dict[str, Any] = {"answerable": int(pos_mask.sum())}
    for kind in ("near_topic", "off_topic"):
        neg_mask = kinds == kind
        if not neg_mask.any():
            continue
        out[kind] = {"pools": int(neg_mask.sum())}
        for name, s in gate_scores.items():
            out[kind][name] = judge(s[pos_mask], s[neg_mask], thresholds.get(name, {}))
    if "model" in gate_scores and "guaranteed" in thresholds.get("model", {}):
        out["guarantee"] = guarantee_check(gate_scores["model"][certified(kinds)], thresholds["model"]["guaranteed"])
    return out


def guarantee_check(unanswerable: np.ndarray, threshold: float, *, level: float = 0.9) -> dict[str, Any]:
    """The measured false-accept rate with its exact two-sided `level` interval (Clopper-Pearson):
    the sampling error of a rate measured on this many queries."""
    from scipy.stats import beta

    n, k = len(unanswerable), int((unanswerable >= threshold).sum())
    lo = 0.0 if k == 0 else float(beta.ppf((1 - level) / 2, k, n - k + 1))
    hi = clopper_pearson_upper(errors=k, n=n, confidence=1 - (1 - level) / 2)
    return {
        "unanswerable": n,
        "false_accepts": k,
        "false_accept_rate": round(k / n, 4) if n else 0.0,
        "interval": [round(lo, 4), round(hi, 4)],
        "level": level,
    }


def plot_risk_coverage(pools: list[LabelledPool], gate_scores: dict[str, np.ndarray], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = np.array([p.kind for p in pools])
    pos_mask = kinds == "answerable"
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
    for ax, kind in zip(axes, ("near_topic", "off_topic"), strict=True):
        for name, s in gate_scores.items():
            cov, risk = risk_coverage(s[pos_mask], s[kinds == kind])
            ax.plot(cov, risk, label=f"{name} (AURC {risk.mean():.3f})")
        ax.set_title(f"{title}: {kind.replace('_', '-')}")
        ax.set_xlabel("coverage (share of pools answered)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("risk (share of answered that were unanswerable)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def gate_pools(
    retriever: Retriever,
    *,
    collection: str,
    queries: dict[str, str],
    relevant: dict[str, set[str] | None] | None,
    progress: bool,
    candidates: int | None = None,
    key: Callable[[Candidate], str] = beir_doc,
    deadline: float | None = None,
) -> list[LabelledPool]:
    """Each query's pool as the gate sees it (`candidates`, default [retrieval] candidates, reranked
    and calibrated), labelled by `key` (the judged unit); `relevant` None marks every query
    off-topic, a None entry that query. Past `deadline` (time.monotonic()), the queries left are
    not asked."""

    out = []
    for qid, text in progress_bar(list(queries.items()), progress):
        if deadline is not None and time.monotonic() > deadline:
            break
        r = retriever.rank(text, collection=collection, candidates=candidates, degrade=False, need_relevance=True)
        if r.candidates and r.stage is None:
            retriever.models.require_reranker()  # not reranked: raises why the reranker is unavailable
        # The whole pool, cap or not, as the gate judges it.
        out += labelled_pools(qid=qid, query=text, pool=r.fused, relevant=None if relevant is None else relevant.get(qid), key=key)
    return out
