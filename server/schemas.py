"""Typed outputs shared by the CLI (--json) and the MCP tools, so both speak the same shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ragate.retrieval.candidates import Candidate
from ragate.scoring.gate import Decision
from ragate.scoring.rerank_stage import RerankStage

CalibrationSource = Annotated[
    Literal["labelled", "self", "default", "none", "mixed"],
    Field(
        description="the collection's calibration in force: labelled (ragate calibrate on labelled queries), self (ragate "
        "calibrate --self, questions made from the collection itself), default (shipped, fitted on other corpora), none "
        "(the reranker's sigmoid and the uncalibrated rule), or mixed (several collections read, calibrated differently: "
        "each passage's relevance is its own collection's)"
    ),
]


class ScoreBreakdown(BaseModel):
    dense: float | None = Field(None, description="cosine similarity of query and passage embeddings")
    bm25: float | None = Field(None, description="BM25 score (None: not in the BM25 candidates)")
    fused: float = Field(description="fusion score of the two channels")
    first_pass: float | None = Field(
        None,
        description="raw logit of the first-pass cross-encoder that chose which candidates the main one read: "
        "it ranks passages within this query only and is not a probability (None: no cascade, or not read)",
    )
    rerank: float | None = Field(None, description="cross-encoder logit (None: not reranked)")
    relevance: float | None = Field(None, description="calibrated probability that the passage answers the query")
    retrieval: float = Field(description="fused score over the best fused score in the pool, in [0, 1]")
    freshness: float = Field(description="age decay in [0, 1]; undated documents get a neutral value")
    authority: float = Field(description="source weight in [0, 1] from config rules")
    diversity: float = Field(description="MMR penalty for similarity to higher-ranked results (subtracted)")
    suspicion: float = Field(
        0.0, description="penalty for the passage's flags (subtracted): w_relevance + w_retrieval when flagged, else 0"
    )


class SearchResult(BaseModel):
    """One passage as every tool returns it; cite it by chunk_id."""

    rank: int = Field(description="position in this response, from 1")
    chunk_id: str = Field(description="stable id of the passage; cite it, delete by it")
    doc_id: str
    collection: str = Field(description="the collection it comes from")
    source: str
    title: str
    heading_path: list[str]
    text: str
    score: float = Field(description="final blended score the ranking uses")
    scores: ScoreBreakdown
    flags: list[str] = Field(
        default_factory=list,
        description="signs the passage was planted to be retrieved: keyword_list, question_list, instructions, hidden_text, "
        "query_echo, channels_disagree, or untrusted_source ([trust]); a flagged passage is demoted and is not evidence "
        "for answer_or_abstain",
    )
    updated_at: str | None = None
    source_type: str
    lang: str = Field("", description="the passage's language as detected at indexing (ISO 639-1; '' unknown)")
    char_start: int = Field(description="offset of the passage in the source's extracted text")
    char_end: int

    @classmethod
    def of(cls, rank: int, c: Candidate) -> SearchResult:
        ch = c.chunk
        return cls(
            rank=rank,
            chunk_id=ch.chunk_id,
            doc_id=ch.doc_id,
            collection=c.collection,
            source=ch.source,
            title=ch.title,
            heading_path=ch.heading_path,
            text=ch.text,
            score=round(c.final, 6),
            scores=ScoreBreakdown(**{k: (None if v is None else round(float(v), 6)) for k, v in c.scores().items()}),
            flags=c.flags,
            updated_at=ch.updated_at,
            source_type=ch.source_type,
            lang=ch.lang,
            char_start=ch.char_start,
            char_end=ch.char_end,
        )


QUERY_LANGUAGE = "the query's language as detected (ISO 639-1), '' when it could not be told"


class SearchResponse(BaseModel):
    query: str
    collection: str = Field(description="the collection read; several are joined by ',' (each result names its own)")
    reranked: bool
    candidates: int = Field(description="size of the fused candidate pool")
    rerank_stage: RerankStage | None = None
    results: list[SearchResult]
    timings_ms: dict[str, float] = Field(description="milliseconds per stage, and total")
    notes: list[str] = []
    truncated: int = Field(0, description="results left out to fit the max_tokens budget")
    calibration: CalibrationSource = "none"
    calibration_fitted_on: str = Field("", description="what that calibration was fitted on")
    relevance_fitted_on: str = Field("", description="what `relevance` is under that calibration: how it was fitted, and on what")
    index_updated_at: str | None = Field(None, description="when the collection last changed (UTC), to judge how fresh the results are")
    query_language: str = Field("", description=QUERY_LANGUAGE)


class RerankItem(BaseModel):
    index: int = Field(description="position of the document in the request")
    id: str | None = None
    relevance_score: float = Field(description="calibrated probability of relevance in [0, 1]")
    logit: float = Field(description="raw cross-encoder score; comparable within one request only")
    document: str | None = None
    metadata: dict[str, Any] | None = None


class RerankResponse(BaseModel):
    model: str
    results: list[RerankItem]
    calibration: CalibrationSource = "none"  # the configured collection's: it turned the logits into relevance_score
    timings_ms: dict[str, float]


class GateFeature(BaseModel):
    """One answerability feature of the pool and, with a fitted model, what it added to each stage."""

    name: str = Field(description="the feature (docs/gate.md lists them)")
    value: float = Field(description="its value for this query's pool")
    on_topic: float | None = Field(
        None, description="what it added to the on-topic stage's log-odds, coef·(value − mean)/scale (None: no fitted model)"
    )
    answers: float | None = Field(None, description="what it added to the answers stage's log-odds (None: no fitted model)")

    @classmethod
    def of(cls, d: Decision) -> list[GateFeature]:
        on_topic, answers = d.contributions.get("on_topic", {}), d.contributions.get("answers", {})
        return [cls(name=f, value=round(v, 4), on_topic=on_topic.get(f), answers=answers.get(f)) for f, v in d.features.items()]


class AnswerResponse(BaseModel):
    status: Literal["answer", "abstain"]
    reason: str = Field(description="why: ANSWERABLE, or the reason code for abstaining")
    suggestion: str = Field("", description="one line on what to do next")
    p_answerable: float = Field(
        description="probability that the pool can answer the question (fitted answerability model); "
        "without one, the best passage's relevance when the pool is on topic, else 0"
    )
    threshold: float = Field(description="the p_answerable an answer needs")
    calibrated: bool = Field(False, description="p_answerable and threshold come from a fitted answerability model (see calibration)")
    calibration: CalibrationSource = "none"
    calibration_fitted_on: str = Field("", description="what that calibration was fitted on")
    relevance_fitted_on: str = Field("", description="what `relevance` is under that calibration: how it was fitted, and on what")
    false_accept_bound: float | None = Field(
        None,
        description="upper bound, at the calibration's confidence, on how often an off-topic question (of the kinds calibrated on) "
        "is answered; it does not cover near misses or planted documents",
    )
    near_topic_false_accept: float | None = Field(
        None,
        description="measured, not bound: the share of near misses (an answerable question's pool with its answer taken out) "
        "this threshold answered when it was fitted",
    )
    missing_terms: list[str] = Field([], description="when abstaining: query words no top passage contains")
    features: list[GateFeature] = Field(
        [], description="with explain: the pool features p_answerable was read from, and their contributions"
    )
    confidence: float | None = Field(None, description="p_answerable when answering")
    answer: str | None = Field(None, description="an LLM-written answer citing chunk ids, when [llm] is configured")
    message: str | None = Field(None, description="the 'I don't know' sentence when abstaining")
    passages: list[SearchResult] = Field([], description="passages that passed the gate, in ranked order")
    nearest: list[SearchResult] = Field([], description="when abstaining: the best candidates, as evidence")
    notes: list[str] = []
    timings_ms: dict[str, float] = Field({}, description="milliseconds per stage, and total")
    truncated: int = Field(0, description="passages left out to fit the max_tokens budget")
    index_updated_at: str | None = Field(None, description="when the collection last changed (UTC)")
    query_language: str = Field("", description=QUERY_LANGUAGE)


class DocumentSummary(BaseModel):
    doc_id: str
    source: str
    title: str
    chunks: int = Field(description="chunks the document was split into")
    updated_at: str | None = None


class DocumentList(BaseModel):
    """One page of a collection's documents, ordered by source."""

    collection: str
    total: int = Field(description="documents in the collection")
    offset: int
    documents: list[DocumentSummary]


class DeleteResult(BaseModel):
    deleted: int = Field(description="chunks removed")
    collection: str


class FeedbackResult(BaseModel):
    recorded: bool = Field(description="the verdict was stored")
    chunk_id: str
    useful: bool
    entries: int = Field(description="verdicts stored for this index so far")


# ---------------------------------------------------------------------- reports of the offline use cases


class GateRates(BaseModel):
    """The gate at one threshold: the share of off-topic or near-topic pools it answered
    (false_accept_rate) and of answerable pools it abstained on (false_abstain_rate)."""

    threshold: float
    false_accept_rate: float
    false_abstain_rate: float
    answerable: int
    unanswerable: int


class EvalGate(BaseModel):
    """`ragate eval`'s gate section: the top-relevance rule at three thresholds, then (as further
    keys) the answerability figures of the gate as configured on near-topic and off-topic pools."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    sigmoid: GateRates = Field(alias="sigmoid@0.5", description="uncalibrated sigmoid of the best logit at 0.5")
    configured: GateRates = Field(description="calibrated top relevance at [gate] min_score")
    calibrated: GateRates | None = Field(None, description="calibrated top relevance at the calibration's chosen threshold")

    def rates(self) -> dict[str, GateRates]:
        named = {"sigmoid@0.5": self.sigmoid, "configured": self.configured, "calibrated": self.calibrated}
        return {k: v for k, v in named.items() if v is not None}


class EvalReport(BaseModel):
    dataset: str
    queries: int
    candidates: int
    variants: dict[str, dict[str, float]] = Field(description="per variant: nDCG@10, MRR@10, Recall@100, Hit@1, ms_per_query")
    rerank_vs_hybrid: dict[str, Any] | None = Field(None, description="paired bootstrap intervals of the nDCG@10 differences")
    verdict: str | None = Field(None, description="whether reranking helps this collection, in words")
    calibration: str | None = Field(None, description="the collection's calibration in force: labelled, self, default or none")
    gate: EvalGate | None = None
    calibrations: dict[str, dict[str, Any]] | None = Field(
        None, description="per calibration the collection has: the gate's AUROC and rates at its own threshold, and the blend's nDCG@10"
    )
    rerankers: dict[str, Any] | None = Field(
        None,
        description="--rerankers: each reranker on the same fused pools (rows best first: nDCG@10, MRR@10, Hit@1, p50/p95 ms, "
        "billed units and USD per 1,000 queries, the interval against hybrid), those that failed, and the files written",
    )

    def differences(self) -> list[str]:
        return [d["summary"] for d in (self.rerank_vs_hybrid or {}).get("differences", {}).values()]


class BlendPoint(BaseModel):
    w_relevance: float
    w_retrieval: float
    ndcg: float = Field(alias="ndcg@10")

    model_config = ConfigDict(populate_by_name=True)


class BlendFit(BaseModel):
    """Mean nDCG@10 of the blend over a grid of w_relevance and w_retrieval on labelled queries."""

    queries: int
    candidates: int
    grid: list[BlendPoint]
    configured: BlendPoint
    chosen: BlendPoint
    hybrid: dict[str, float] = Field(description="the best pair without the reranker (w_relevance 0): its w_retrieval and nDCG@10")
    reranker_gain: dict[str, Any] = Field(
        description="the best pair with the reranker against that hybrid: its weights, nDCG@10, and the paired bootstrap's mean "
        "difference, 95% interval and verdict; the reranker keeps a weight only when the interval lies above 0"
    )
    reranker_gain_by_kind: dict[str, Any] = Field(
        default_factory=dict,
        description="the same gain over each kind of question, when the fit had several (self-calibration's topic and passage "
        "questions); the reranker keeps a weight only when every kind's interval lies above 0 too",
    )


class CalibrateReport(BaseModel):
    """`ragate calibrate`: the relevance calibration's fit (ECE before and after, on fitted and held-out
    pairs), the threshold chosen for a target precision, and the gate's and blend's fits when asked."""

    method: str
    pairs: int
    fit_pairs: int
    held_out_pairs: int
    ece_before: float
    ece_after_fit: float
    ece_held_out_sigmoid: float
    ece_held_out_calibrated: float
    target_precision: float | None = None
    threshold: float | None = None
    saved_to: str
    collection: str = Field(description="the collection whose labelled calibration this is")
    answerability: dict[str, Any] | None = Field(None, description="the gate's fit: its threshold, bound and rates")
    blend: BlendFit | None = None
    written_to: str | None = None
    written: list[str] | None = None


class SelfCalibrateReport(BaseModel):
    """`ragate calibrate --self`: what was asked of the collection and what the fit gave."""

    collection: str
    chunks: int = Field(description="the collection's chunks when it was asked")
    questions_made: int = Field(
        description="questions made from the collection's chunks, one document each: topic and passage questions in turn "
        "(what a document is about; one passage inside it)"
    )
    questions_asked: int = Field(description="of those, asked before [calibration] max_minutes ran out")
    answerable: int = Field(description="questions whose own document was retrieved (their pools are the answerable ones)")
    near_topic: int = Field(description="the same pools with that document taken out")
    source_retrieved: float = Field(description="share of made questions that retrieved their own document")
    offtopic_asked: int
    offtopic_kept: int = Field(description="bundled off-topic questions left once those the collection may answer were dropped")
    candidates: int
    relevance: dict[str, Any] = Field(description="the Platt fit: pairs, ECE of the sigmoid and of the fit on them, a and b")
    gate: dict[str, Any] = Field(description="the answerability model's certified threshold, bound and rates (as `calibrate`)")
    blend: dict[str, Any] = Field(
        description="nDCG@10 of the source documents (of a passage question, its source chunk) at the configured and the chosen "
        "weights, the best without the reranker (hybrid), and the best reranked pair's gain over it with its 95% interval, "
        "over all and per kind of question (reranker_gain, reranker_gain_by_kind)"
    )
    seconds: float
    stopped_early: bool
    note: str
    saved_to: str | None = None


class TuneReport(BaseModel):
    """`ragate tune`: the tuned model (held-out figures before and after) and/or the distilled first pass."""

    model_config = ConfigDict(extra="allow")  # the data figures and training log ride along as written to tune.json

    collection: str
    source: str
    model: str | None = None
    before: dict[str, float] | None = None
    after: dict[str, float] | None = None
    training: dict[str, Any] | None = None
    distilled: dict[str, Any] | None = None
    activated_in: str | None = None


class SampledChunk(BaseModel):
    """A chunk drawn for `ragate tune --synthesize`, with its text as the reranker reads it."""

    chunk_id: str
    text: str


class Dropped(BaseModel):
    dropped: str = Field(description="the collection deleted")


class CollectionInfo(BaseModel):
    name: str
    default: bool = Field(description="the [index] collection: the one a call reads when it names none")
    chunks: int = 0
    documents: int = 0
    languages: dict[str, float] = Field({}, description="share of its chunks per detected language (ISO 639-1; '' unknown)")
    calibration: CalibrationSource = "none"
    calibration_fitted_at: str | None = None
    threshold: float | None = Field(None, description="the gate's p_answerable threshold on it (None: no answerability model)")
    updated_at: str | None = Field(None, description="when it last changed")
    error: str | None = Field(None, description="why it cannot be read now (its other fields are then empty)")


class CollectionList(BaseModel):
    collections: list[CollectionInfo]
