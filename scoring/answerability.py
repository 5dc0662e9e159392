"""Answerability: should this pool be answered from at all?

A listwise-trained reranker ranks passages well within a query but its probabilities carry little
absolute meaning across queries: off-topic questions get a top relevance near 0.99 too. So the gate
reads the whole pool. `pool_features` turns what retrieval and reranking already computed (no extra
model calls) into a few numbers; `AnswerabilityModel` is two logistic regressions over them
(is the pool on topic, and does it answer), standardised so coefficients can be read and compared; it is kept in the collection's calibration
profile (scoring/profile.py)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from pydantic import BaseModel

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.chunking import indexed_text
from ragate.retrieval.errors import BadInput
from ragate.retrieval.language import reading_languages

TOP_K = 3
# Each feature and what it measures (the web page shows these words beside the values).
FEATURE_MEANINGS = {
    "top_relevance": "logit of the best calibrated relevance",
    "margin": "its lead over the best passage of another document, in logits",
    "mean_top_relevance": f"mean relevance of the best {TOP_K} passages",
    "count_relevant": "passages among the best 10 with relevance >= 0.5",
    "top_cosine": "bi-encoder cosine of the best passage: absolute, comparable across queries",
    "max_cosine": "best cosine anywhere in the pool",
    "coverage": f"IDF-weighted share of the query's content terms found in the best {TOP_K} passages",
    "bm25_lead": "best BM25 score over the pool's mean BM25 score",
    "agreement": "mean reciprocal rank of the best passage in the dense and BM25 channels",
    "spread": "standard deviation of the pool's relevance logits",
    "containment": f"IDF-weighted share of the query's content terms found together in one passage (the best of the top {TOP_K} "
    "by relevance and by fusion)",
}
FEATURES = tuple(FEATURE_MEANINGS)
_EPS = 1e-6


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def by_relevance(pool: list[Candidate]) -> list[Candidate]:
    """The reranked candidates, best first (candidates the reranker did not read are left out)."""
    return sorted((c for c in pool if c.relevance is not None), key=lambda c: -float(c.relevance))


def _channel_rank(pool: list[Candidate], target: Candidate, channel: str) -> int | None:
    mine = getattr(target, channel)
    if mine is None:
        return None
    return 1 + sum(1 for c in pool if (v := getattr(c, channel)) is not None and v > mine)


MAX_PIECE = 4  # characters: a Chinese or Japanese word is rarely longer


class QueryTerms:
    """The query's content terms against one pool: the BM25 channel's own terms (stemmed, stopwords
    removed), so "covered" means what BM25 would match, each weighted by its IDF over the candidate
    pool, not the whole index: a term every candidate shares says little about which of them
    answers, a term none has is the likeliest miss."""

    def __init__(self, query: str, pool: list[Candidate], bm25: Bm25Encoder):
        self.query, self.bm25 = query, bm25
        self.langs = reading_languages(Counter(c.chunk.lang for c in pool))  # read as the passages are
        self.terms = set(bm25.encode_query(query, self.langs, subwords=False).indices)
        texts = [indexed_text(c.chunk) for c in pool] if self.terms else []  # no terms: nothing to look for
        docs = [set(v.indices) for v in bm25.encode_documents(texts, [c.chunk.lang for c in pool], subwords=False)] if texts else []
        self.docs = {id(c): d for c, d in zip(pool, docs, strict=False)}
        n = len(docs)
        self.idf = {t: math.log(1 + (n - (df := sum(t in d for d in docs)) + 0.5) / (df + 0.5)) for t in self.terms}
        self.total = sum(self.idf.values())

    def covered(self, passages: list[Candidate]) -> float:
        """IDF-weighted share of the terms found in any of the passages."""
        if not self.terms:
            return 0.0
        seen = set().union(*(self.docs[id(c)] for c in passages))
        return sum(self.idf[t] for t in self.terms if t in seen) / self.total

    def missing(self, passages: list[Candidate]) -> list[str]:
        """The query's words whose terms none of the passages contains."""
        seen = set().union(*(self.docs[id(c)] for c in passages)) if self.terms else set()
        return [w.strip(".,;:!?？。、\"'()") for w, ts in self._words().items() if ts and not ts & seen]

    def _words(self) -> dict[str, set[int]]:
        """Each query word with its terms. A run without spaces that the tokenizer splits into several
        terms (Chinese, Japanese) is named term by term: the shortest piece of it that is that term
        alone (pieces of up to MAX_PIECE characters), else the run itself."""
        out: dict[str, set[int]] = {}
        for w in dict.fromkeys(self.query.split()):
            terms = set(self.bm25.encode_query(w, self.langs, subwords=False).indices)
            if len(terms) <= 1:
                out[w] = terms
                continue
            named: dict[int, str] = {}
            for n in range(1, MAX_PIECE + 1):
                for i in range(len(w) - n + 1):
                    piece = self.bm25.encode_query(w[i : i + n], self.langs, subwords=False).indices
                    if len(piece) == 1 and piece[0] in terms:
                        named.setdefault(piece[0], w[i : i + n])
            for t in sorted(terms, key=lambda t: w.find(named.get(t, w))):  # in the query's order
                out.setdefault(named.get(t, w), set()).add(t)
        return out


def term_coverage(*, query: str, passages: list[Candidate], pool: list[Candidate], bm25: Bm25Encoder) -> tuple[float, list[str]]:
    """(IDF-weighted coverage of the query's content terms by the passages, query words they miss); see QueryTerms."""
    terms = QueryTerms(query, pool, bm25)
    if not terms.terms:
        return 0.0, []
    return float(terms.covered(passages)), terms.missing(passages)


def pool_features(*, query: str, pool: list[Candidate], bm25: Bm25Encoder, terms: QueryTerms | None = None) -> dict[str, float]:
    """The answerability features of one query's reranked pool (see FEATURES); `terms`, the query's
    terms against this pool, when the caller has them already."""
    ranked = by_relevance(pool)
    if not ranked:
        raise ValueError("answerability needs at least one reranked candidate")
    logits = np.array([logit(float(c.relevance)) for c in ranked])
    probs = np.array([float(c.relevance) for c in ranked])
    best = ranked[0]
    # Chunks of the best document repeat its score; the runner-up is another document.
    runner_up = [v for v, c in zip(logits, ranked, strict=True) if c.chunk.doc_id != best.chunk.doc_id]
    cosines = [float(c.dense) for c in pool if c.dense is not None]
    bm25s = [float(c.bm25) for c in pool if c.bm25 is not None]
    terms = terms or QueryTerms(query, pool, bm25)
    by_fused = sorted(pool, key=lambda c: -c.fused)[:TOP_K]
    ranks = [_channel_rank(pool, best, ch) for ch in ("dense", "bm25")]
    return {
        "top_relevance": float(logits[0]),
        "margin": float(logits[0] - runner_up[0]) if len(runner_up) else 0.0,
        "mean_top_relevance": float(probs[:TOP_K].mean()),
        "count_relevant": float((probs[:10] >= 0.5).sum()),
        "top_cosine": float(best.dense) if best.dense is not None else (min(cosines) if cosines else 0.0),
        "max_cosine": max(cosines) if cosines else 0.0,
        "coverage": terms.covered(ranked[:TOP_K]),
        "bm25_lead": max(bm25s) / float(np.mean(bm25s)) if bm25s and np.mean(bm25s) > 0 else 0.0,
        "agreement": float(np.mean([1.0 / r if r else 0.0 for r in ranks])),
        "spread": float(logits.std()),
        "containment": max((terms.covered([c]) for c in {id(c): c for c in ranked[:TOP_K] + by_fused}.values()), default=0.0),
    }


class Stage(BaseModel):
    """One standardised logistic regression: sigmoid(intercept + Σ coef·(x − mean)/scale)."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        return expit((x - np.asarray(self.mean)) / np.asarray(self.scale) @ np.asarray(self.coef) + self.intercept)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, c: float) -> Stage:
        """Classes weighted equally, so the probability reads as the posterior under an even prior,
        whatever the mix fitted on."""
        from sklearn.linear_model import LogisticRegression

        if len(set(y.tolist())) < 2:
            raise BadInput("each stage of the answerability model needs examples of both outcomes")
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0  # a constant feature contributes nothing rather than dividing by zero
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit((x - mean) / scale, y)
        return cls(mean=mean.tolist(), scale=scale.tolist(), coef=lr.coef_[0].tolist(), intercept=float(lr.intercept_[0]))


class AnswerabilityModel(BaseModel):
    """p_answerable = P(on topic) · P(answers | on topic): two logistic regressions over the same
    features. Off-topic and near-topic pools fail for different reasons (absolute similarity vs the
    relevance of the best passage), and one linear model trades one against the other."""

    features: list[str] = list(FEATURES)
    on_topic: Stage  # off-topic questions vs the rest
    answers: Stage  # on-topic pools: answerable vs near-topic
    # The risk-controlled threshold and what it guarantees (see risk_control).
    threshold: float | None = None
    max_false_accept: float | None = None
    confidence: float | None = None
    false_accept_bound: float | None = None
    false_abstain_rate: float | None = None
    # Near misses are not bound: what the threshold did to near-topic pools (an answerable question's
    # pool with its answer taken out) on the held-out half, measured.
    near_topic_false_accept: float | None = None
    near_topic_auroc: float | None = None
    calibration_answerable: int = 0
    calibration_unanswerable: int = 0
    fit_queries: int = 0
    # The candidates per pool it was fitted on. Some features read the whole pool (bm25_lead, spread,
    # coverage's IDF), so the gate computes them on the same number of fused candidates whatever
    # [retrieval] candidates is; None: the whole pool.
    pool: int | None = None

    @property
    def never_answers(self) -> bool:
        """A threshold above every probability: too few unanswerable pools to certify any."""
        return self.threshold is not None and self.threshold > 1

    def judged(self, pool: list[Candidate]) -> list[Candidate]:
        """The part of a query's pool this model reads: its `pool` best by fused score."""
        if self.pool is None or len(pool) <= self.pool:
            return pool
        return sorted(pool, key=lambda c: -c.fused)[: self.pool]

    def _x(self, rows: list[dict[str, float]]) -> np.ndarray:
        return np.array([[r[f] for f in self.features] for r in rows], dtype=np.float64)

    def predict_on_topic(self, rows: list[dict[str, float]]) -> np.ndarray:
        return self.on_topic.predict(self._x(rows))

    def predict(self, rows: list[dict[str, float]]) -> np.ndarray:
        x = self._x(rows)
        return self.on_topic.predict(x) * self.answers.predict(x)

    def contributions(self, row: dict[str, float]) -> dict[str, dict[str, float]]:
        """What each feature of one pool adds to each stage's log-odds: coef·(x − mean)/scale, so
        the stage's log-odds are its intercept plus their sum."""
        x = self._x([row])[0]
        return {
            name: {f: round(float(c * (v - m) / s), 4) for f, c, v, m, s in zip(self.features, st.coef, x, st.mean, st.scale, strict=True)}
            for name, st in (("on_topic", self.on_topic), ("answers", self.answers))
        }

    def weights(self) -> dict[str, dict[str, float]]:
        """Coefficient per standardised feature and stage: the change in log-odds per standard deviation."""
        return {
            name: {f: round(c, 4) for f, c in zip(self.features, stage.coef, strict=True)}
            for name, stage in (("on_topic", self.on_topic), ("answers", self.answers))
        }


def fit_model(
    rows: list[dict[str, float]], kinds: list[str], *, c: float = 1.0, features: list[str] | None = None, pool: int | None = None
) -> AnswerabilityModel:
    """Fit on pools labelled "answerable", "near_topic" (on topic, nothing answers) or "off_topic",
    over `features` (default all of FEATURES), each pool of `pool` candidates."""
    features = features or list(FEATURES)
    x = np.array([[r[f] for f in features] for r in rows], dtype=np.float64)
    k = np.asarray(kinds)
    on = k != "off_topic"
    return AnswerabilityModel(
        features=features,
        on_topic=Stage.fit(x, on.astype(int), c=c),
        answers=Stage.fit(x[on], (k[on] == "answerable").astype(int), c=c),
        fit_queries=len(k),
        pool=pool,
    )
