"""The abstain gate: answer only when the pool deserves it, and only from passages that clear it.

Two questions, in order. Is the pool answerable? With a fitted answerability model, p_answerable
is its probability and the threshold the risk-controlled one stored with it. Without one, an
uncalibrated rule: the best calibrated relevance must reach `min_score` and the absolute signals
must agree (the best bi-encoder cosine and the query's term coverage), because a reranker's
relevance alone can be confidently high off-topic. Which passages? With a fitted model, the head of
the blended order (`max_passages`), as search ranks them; under the uncalibrated rule, those whose
calibrated relevance reaches `min_score`; and when the caller set min_score itself, it is a floor
for every passage. An abstention names its most likely cause and what the caller can do about it."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple

from scipy.special import expit

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.candidates import Candidate
from ragate.scoring.answerability import TOP_K, AnswerabilityModel, QueryTerms, by_relevance, logit, pool_features

# The uncalibrated rule's absolute floors, set for the default bi-encoder (all-MiniLM-L6-v2) and
# the BM25 channel's terms: between the 90th percentile of off-topic pools and the 10th of
# answerable ones on SciFact train against finance and startup questions (bench/RESULTS.md).
# Coverage also names a lexical miss when a model is fitted.
MIN_COSINE = 0.4
MIN_COVERAGE = 0.25
# Several passages within this many logits of the best, from different documents, are near-ties.
TIE_LOGITS = 0.5
MIN_TIES = 3
NEAREST = 3  # candidates an abstention shows


class Reason(StrEnum):
    ANSWERABLE = "ANSWERABLE"
    NO_CANDIDATES = "NO_CANDIDATES"
    OFF_TOPIC = "OFF_TOPIC"
    LOW_RELEVANCE = "LOW_RELEVANCE"
    LEXICAL_MISS = "LEXICAL_MISS"
    AMBIGUOUS = "AMBIGUOUS"
    RERANKER_UNAVAILABLE = "RERANKER_UNAVAILABLE"
    MIXED_CALIBRATION = "MIXED_CALIBRATION"
    SUSPECT_EVIDENCE = "SUSPECT_EVIDENCE"


class Wording(NamedTuple):
    """What an abstention (or an answer) says: the message to the caller and what to do next."""

    message: str  # for abstentions; {why} and {missing} are filled in by abstain_message
    suggestion: str


WORDING = {
    Reason.ANSWERABLE: Wording("", "Cite the passages; each carries its calibrated relevance."),
    Reason.NO_CANDIDATES: Wording(
        "I don't know: nothing in the index matches this question.",
        "Nothing matched: loosen the filters, check the collection, or index the documents first.",
    ),
    Reason.OFF_TOPIC: Wording(
        "I don't know: the index holds nothing about this ({why}).",
        "The index holds nothing about this: answer from elsewhere or index sources on the topic.",
    ),
    Reason.LOW_RELEVANCE: Wording(
        "I don't know: no passage answers this ({why}).",
        "The index is on topic but no passage answers this: ask a narrower question or add sources.",
    ),
    Reason.LEXICAL_MISS: Wording(
        "I don't know: no passage mentions {missing} ({why}).",
        "Key query terms appear in no passage: rephrase with the corpus's wording or filter to the right source.",
    ),
    Reason.AMBIGUOUS: Wording(
        "I don't know: several passages fit weakly and about equally ({why}).",
        "Several passages fit weakly and about equally: make the question more specific.",
    ),
    Reason.RERANKER_UNAVAILABLE: Wording(
        "I don't know: the reranker is unavailable, so no passage can be verified.",
        "No passage could be verified: check the reranker model (see stats) and retry.",
    ),
    Reason.SUSPECT_EVIDENCE: Wording(
        "I don't know: only flagged passages ({flags}) would answer this, and flagged passages are no evidence.",
        "The passages that would answer carry flags (see each one's flags): check those files; the rest of the index does not answer this.",
    ),
    Reason.MIXED_CALIBRATION: Wording(
        "I don't know: the collections read are calibrated differently, so no one judgement of the pool holds.",
        "Ask each collection on its own, or give them one calibration (the shipped default, or one labelled set) to ask them together.",
    ),
}


@dataclass
class Decision:
    status: Literal["answer", "abstain"]
    reason: Reason
    p_answerable: float
    threshold: float
    calibrated: bool = False  # True when p_answerable comes from a fitted answerability model
    false_accept_bound: float | None = None  # the fitted threshold's guarantee on off-topic questions, when there is one
    near_topic_false_accept: float | None = None  # measured on near misses at fitting time; no guarantee
    missing_terms: list[str] = field(default_factory=list)  # when abstaining: query words no top passage contains
    passages: list[Candidate] = field(default_factory=list)  # passing passages, in ranked order
    nearest: list[Candidate] = field(default_factory=list)  # best candidates when abstaining
    # Flagged passages among the head of the ranking, which the gate did not take as evidence.
    set_aside: list[Candidate] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)  # the pool's answerability features, when computed
    # With a fitted model: what each feature added to each stage's log-odds.
    contributions: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def suggestion(self) -> str:
        return WORDING[self.reason].suggestion

    def abstain_message(self) -> str:
        """The abstention in words, with why the pool fell short."""
        p, t = self.p_answerable, self.threshold
        why = f"p_answerable {p:.2f} is below the threshold {t:.2f}" if p < t else "no passage passed min_score and the checks"
        flags = ", ".join(sorted({f for c in self.set_aside for f in c.flags}))
        return WORDING[self.reason].message.format(why=why, missing=", ".join(self.missing_terms), flags=flags)


def fallback_score(features: dict[str, float]) -> float:
    """The uncalibrated rule as a score: the best relevance when the absolute signals agree the
    pool is on topic, otherwise 0 (so it reaches no threshold)."""
    on_topic = features["max_cosine"] >= MIN_COSINE and features["coverage"] >= MIN_COVERAGE
    return float(expit(features["top_relevance"])) if on_topic else 0.0


def _cause(features: dict[str, float], ranked: list[Candidate], missing: list[str], model: AnswerabilityModel | None) -> Reason:
    """Why a pool was not answerable: off topic by the fitted model's first stage (or the cosine
    floor without one), then the lexical and relevance signals."""
    off_topic = model.predict_on_topic([features])[0] < 0.5 if model is not None else features["max_cosine"] < MIN_COSINE
    if off_topic:
        return Reason.OFF_TOPIC
    if features["coverage"] < MIN_COVERAGE and missing:
        return Reason.LEXICAL_MISS
    ties = [c for c in ranked if features["top_relevance"] - logit(float(c.relevance)) <= TIE_LOGITS]
    if len(ties) >= MIN_TIES and len({c.chunk.doc_id for c in ties}) > 1:
        return Reason.AMBIGUOUS
    return Reason.LOW_RELEVANCE


def decide(ranked: list[Candidate], *, pool: list[Candidate] | None = None, **judging) -> Decision:
    """The gate's decision on the unflagged passages alone (see `judge` for `pool` and `judging`):
    flagged ones (retrieval/passage_quality.py) are never evidence. When the pool with them would
    have been answered and the pool without them is not, the abstention says so (SUSPECT_EVIDENCE)
    and shows them; either way the flagged passages of the head are named in `set_aside`."""
    pool = ranked if pool is None else pool
    flagged = [c for c in pool if c.flags]
    if not flagged:
        return judge(ranked, pool=pool, **judging)
    honest = judge([c for c in ranked if not c.flags], pool=[c for c in pool if not c.flags], **judging)
    in_head = [c for c in ranked[: judging["max_passages"]] if c.flags]
    if honest.status == "abstain" and judge(ranked, pool=pool, **judging).status == "answer":
        shown = in_head or flagged[: judging.get("nearest", NEAREST)]
        return dataclasses.replace(honest, reason=Reason.SUSPECT_EVIDENCE, nearest=shown + honest.nearest, set_aside=shown)
    return dataclasses.replace(honest, set_aside=in_head)


def judge(
    ranked: list[Candidate],
    *,
    pool: list[Candidate] | None = None,
    query: str,
    min_score: float,
    max_passages: int,
    bm25: Bm25Encoder,
    model: AnswerabilityModel | None = None,
    reranked: bool = True,
    nearest: int = NEAREST,
    strict: bool = False,
    mixed: bool = False,
) -> Decision:
    """ranked: candidates in final (blended) order, each with calibrated relevance when reranked.
    `pool`: every candidate of the query's pool, in fused order, before the blend's per-document cap
    (default: `ranked`); a fitted model judges its fused head, so neither the cap nor [retrieval]
    candidates changes what it reads. `strict`: min_score is the caller's own floor, which the best passage must reach too. `mixed`:
    the pool comes from collections calibrated differently, which no one model may judge."""
    calibrated = model is not None and model.threshold is not None
    threshold, bound = (float(model.threshold), model.false_accept_bound) if calibrated else (min_score, None)
    near = model.near_topic_false_accept if calibrated and model is not None else None
    decision = functools.partial(
        Decision, threshold=threshold, calibrated=calibrated, false_accept_bound=bound, near_topic_false_accept=near
    )
    if not ranked:
        return decision("abstain", Reason.NO_CANDIDATES, 0.0)
    # A fitted model reads as many candidates as it was fitted on, whatever the pool's size or the cap.
    judged = model.judged(ranked if pool is None else pool) if calibrated and model is not None else ranked
    by_rel = by_relevance(judged)
    if not reranked or not by_rel:
        return decision("abstain", Reason.RERANKER_UNAVAILABLE, 0.0, nearest=ranked[:nearest])
    if mixed:
        return decision("abstain", Reason.MIXED_CALIBRATION, 0.0, nearest=by_rel[:nearest])
    terms = QueryTerms(query, judged, bm25)  # the pool's terms, read once for the features and the missing words
    features = pool_features(query=query, pool=judged, bm25=bm25, terms=terms)
    p = float(model.predict([features])[0]) if calibrated else fallback_score(features)
    explained = {"features": features, "contributions": model.contributions(features) if calibrated else {}}
    if calibrated and not strict:
        # The model judged the whole pool and its threshold was certified on that judgement, so the
        # evidence is the head of the ranking the collection's calibration chose (the blend, as search
        # returns it), not the passages one of its signals, the reranker, scores highest.
        passing = ranked[:max_passages]
    else:
        passing = [c for c in ranked if (c.relevance or 0.0) >= min_score][:max_passages]
    if p >= threshold and passing:
        return decision("answer", Reason.ANSWERABLE, p, passages=passing, **explained)
    # Only an abstention names missing words, so only it pays for finding them.
    missing = terms.missing(by_rel[:TOP_K])
    reason = _cause(features, by_rel, missing, model if calibrated else None) if p < threshold else Reason.LOW_RELEVANCE
    return decision("abstain", reason, p, missing_terms=missing, nearest=by_rel[:nearest], **explained)
