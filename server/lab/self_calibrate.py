"""`ragate calibrate --self`: a collection's calibration profile fitted with no labels.

1. Questions made from the collection's own chunks (self_questions), each asked as search would
   ask it: its pool is answerable when the document it came from was retrieved, and the same pool
   without that document is near-topic.
2. Off-topic questions from the bundled multi-domain set (scoring/data), minus those this
   collection looks able to answer: a question whose best passage is as similar and covers as much
   of it as the median answerable question's is dropped, since the collection may well answer it.
3. From these pools: the relevance calibration (Platt scaling, the source document's chunks as the
   relevant pairs), then the answerability model and its certified threshold (gate_fit, the same
   code as a labelled fit), then the blend's w_relevance and w_retrieval by nDCG@10 of the source
   documents (of a passage question, its source chunk), so a reranker that disagrees with the
   collection's own evidence, on either kind of question, is weighted down.

The threshold's bound holds for questions made this way; bench/RESULTS.md measures how far it
transfers to real questions on corpora with labels."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.errors import BadInput
from ragate.retrieval.language import reading_languages
from ragate.scoring.answerability import AnswerabilityModel, pool_features
from ragate.scoring.blend import BlendWeights
from ragate.scoring.calibration import Calibrator, expected_calibration_error, fit
from ragate.scoring.profile import Profile, now
from ragate.scoring.risk_control import fewest_to_certify
from ragate.server.lab.blend_fit import LabelledQuery, blend_pair, choose_blend
from ragate.server.lab.gate_fit import (
    LabelledPool,
    fit_gate,
    gate_pools,
    pool_candidates,
    recalibrate,
    reference_of,
    scores,
    split_groups,
)
from ragate.server.lab.self_questions import make_questions
from ragate.server.retriever import Retriever

PAIRS_PER_QUESTION = 20  # the fused top of each pool labels the relevance calibration, as `ragate calibrate` does
# Made questions are not the questions users ask, so the model is strongly regularised: it leans
# less on what sets them apart. On SciFact's train queries, C=0.01 rather than 1 halved the
# false-abstain rate at the certified threshold (0.36 to 0.17), off-topic AUROC staying >= 0.98.
REGULARISATION = 0.01
MIN_PER_CLASS = 10  # answerable, near-topic and off-topic pools each, or the fit cannot tell them apart


def bundled_offtopic(langs: list[str] | None = None) -> dict[str, str]:
    """The bundled off-topic questions: English (`langs` None), or those translated into `langs`."""
    name = "offtopic_questions.jsonl" if langs is None else "offtopic_questions_translated.jsonl"
    text = resources.files("ragate.scoring").joinpath("data", name).read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {q["_id"]: q["text"] for q in rows if langs is None or q["lang"] in langs}


def spread(questions: dict[str, str], k: int) -> dict[str, str]:
    """k of the questions, evenly spaced through them (the files run domain by domain)."""
    ids = list(questions)
    k = min(k, len(ids))
    return {q: questions[q] for q in (ids[i * len(ids) // k] for i in range(k))} if k else {}


def offtopic_questions(mix: dict[str, int], n: int) -> dict[str, str]:
    """The off-topic questions to ask a collection with this language mix (chunks per language), n
    in all: each of its languages gets its share of n in that language (a German collection is asked
    in German, one a fifth Japanese a fifth in Japanese), as far as the bundled translations go, and
    English ones, spread over every domain, fill the rest. Certified on English questions alone, a
    gate answered 4 of 10 Spanish off-topic questions on a Spanish collection (bench/RESULTS.md)."""
    total = sum(mix.values())
    out: dict[str, str] = {}
    for lang in reading_languages(mix):
        out |= spread(bundled_offtopic([lang]), n * mix[lang] // total)
    return out | spread(bundled_offtopic(), max(0, n - len(out)))


def doc_key(c: Candidate) -> str:
    """The judged unit of a collection's own questions: the document."""
    return c.chunk.doc_id


def chunk_key(c: Candidate) -> str:
    """The judged unit of a passage question's ranking: the chunk."""
    return c.chunk.chunk_id


def _relevance_pairs(pools: list[LabelledPool], source: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    logits, labels = [], []
    for lp in pools:
        if lp.kind != "answerable":
            continue
        for c in sorted(lp.pool, key=lambda c: -c.fused)[:PAIRS_PER_QUESTION]:
            if c.rerank is not None:
                logits.append(float(c.rerank))
                labels.append(1.0 if c.chunk.doc_id == source[lp.group] else 0.0)
    return np.asarray(logits), np.asarray(labels)


def _held_out_ece(pools: list[LabelledPool], source: dict[str, str], fitted_for: dict[str, str]) -> dict[str, float]:
    """The relevance calibration judged on questions it was not fitted on: fitted on half the made
    questions, its expected calibration error on the other half (the sigmoid's beside it)."""
    fit_half, held_half = split_groups([lp for lp in pools if lp.kind == "answerable"])
    (zf, yf), (zh, yh) = _relevance_pairs(fit_half, source), _relevance_pairs(held_half, source)
    if len(set(yf.tolist())) < 2 or not len(yh):
        return {}
    half = Calibrator(fit(zf, yf, "platt", fitted_for["reranker"], fitted_for["chunking"]))
    return {
        "held_out_pairs": int(len(yh)),
        "ece_held_out_sigmoid": round(expected_calibration_error(Calibrator()(zh), yh), 4),
        "ece_held_out_calibrated": round(expected_calibration_error(half(zh), yh), 4),
    }


def keep_offtopic(off: list[LabelledPool], answerable: list[LabelledPool], bm25: Bm25Encoder) -> list[LabelledPool]:
    """Off-topic pools less similar, or less covered, than the median answerable one."""
    feats = [pool_features(query=lp.query, pool=lp.pool, bm25=bm25) for lp in answerable]
    cosine = float(np.median([f["max_cosine"] for f in feats]))
    coverage = float(np.median([f["coverage"] for f in feats]))
    kept = []
    for lp in off:
        f = pool_features(query=lp.query, pool=lp.pool, bm25=bm25)
        if not (f["max_cosine"] >= cosine and f["coverage"] >= coverage):
            kept.append(lp)
    return kept


def _check_classes(asked: SelfPools, answerable: int, near: int, off: int) -> None:
    """Refuse, saying which class fell short and why, when a class has too few pools to fit on."""
    if min(answerable, near, off) >= MIN_PER_CLASS:
        return
    if asked.stopped_early:
        cause = f"it stopped asking at [calibration] max_minutes after {asked.seconds:.0f} s: raise max_minutes"
    elif answerable < MIN_PER_CLASS:
        cause = "too few made questions retrieved their own document: a larger collection, or more [calibration] questions"
    else:
        cause = "the collection may cover the bundled off-topic domains: calibrate with labels (ragate calibrate --dataset)"
    raise BadInput(
        f"self-calibration of collection {asked.collection!r} has {answerable} answerable pools (of {asked.questions_made} "
        f"questions made), {near} near-topic and {off} off-topic (of {len(asked.offtopic)} asked, those it may answer left out); "
        f"each needs at least {MIN_PER_CLASS}: {cause}"
    )


def _check_certified(asked: SelfPools, model: AnswerabilityModel, held_out: int, max_false_accept: float, confidence: float) -> None:
    """Refuse a fit whose threshold could not be certified: it would never answer, which no collection
    wants from a run that said it succeeded."""
    if not model.never_answers:
        return
    need = fewest_to_certify(max_false_accept=max_false_accept, confidence=confidence)
    if held_out >= need:
        cause = "off-topic questions scored as answerable as the collection's own: calibrate with labels (ragate calibrate --dataset)"
    elif asked.stopped_early:
        # Off-topic pools come in proportion to the questions asked, so the time needed scales alike
        # (with a fifth to spare: the keep filter drops a varying share).
        minutes = math.ceil(asked.seconds * need / max(held_out, 1) / 60 * 1.2)
        cause = (
            f"it stopped asking at [calibration] max_minutes after {asked.seconds:.0f} s, with "
            f"{len({lp.group for lp in asked.pools}) + len(asked.offtopic)} questions' pools; at this pace about {minutes} "
            "minutes would do: raise max_minutes (a CPU without int8 instructions reranks several times slower)"
        )
    else:
        cause = (
            "ask more off-topic questions ([calibration] offtopic, at most 240) or, where the collection keeps too few of them, "
            "calibrate with labels (ragate calibrate --dataset) or a looser --max-false-accept"
        )
    raise BadInput(
        f"self-calibration of collection {asked.collection!r} held out {held_out} off-topic pools to certify its threshold; "
        f"false-accept <= {max_false_accept:g} at {confidence:g} confidence needs at least {need} with none answered, and no "
        f"threshold held, so the collection would never answer: {cause}"
    )


@dataclass
class SelfPools:
    """What asking the collection gave: answerable and near-topic pools of the made questions (each
    question's group is its id), the off-topic pools, each question's source document, and each
    passage question's source chunk."""

    collection: str
    chunks: int  # the collection's size when asked, to tell when it has grown
    candidates: int
    questions_made: int
    pools: list[LabelledPool]
    offtopic: list[LabelledPool]
    source: dict[str, str]
    seconds: float
    stopped_early: bool
    passages: dict[str, str] = dataclasses.field(default_factory=dict)


def interleaved(*classes: dict[str, str]) -> dict[str, str]:
    """The questions of every class in one order that keeps each class's share of those asked so far
    near its share of the whole, so a run cut short by its time bound still has every class."""
    keyed = [((i + 0.5) / len(qs), k, qid, text) for k, qs in enumerate(classes) for i, (qid, text) in enumerate(qs.items())]
    return {qid: text for _, _, qid, text in sorted(keyed)}


def ask_self_questions(
    retriever: Retriever,
    *,
    collection: str | None = None,
    questions: int | None = None,
    offtopic: int | None = None,
    progress: bool = False,
) -> SelfPools:
    """The expensive part: every made and off-topic question's pool, reranked, within [calibration]
    max_minutes; the two kinds are asked in turn, so the time bound never leaves one out."""
    s = retriever.settings.calibration
    name = retriever.catalog.collection(collection)
    started = time.monotonic()
    deadline = started + s.max_minutes * 60
    candidates = s.candidates or retriever.settings.retrieval.candidates
    store = retriever.catalog.store(name)
    chunks = store.chunks()
    if len(chunks) < s.min_chunks:
        raise BadInput(
            f"collection {name!r} has {len(chunks)} chunks; self-calibration needs at least {s.min_chunks} ([calibration] min_chunks)"
        )
    made = make_questions(chunks, bm25=retriever.catalog.bm25_of(store), n=questions or s.questions, seed=s.seed)
    off_topic = offtopic_questions(retriever.catalog.languages(name), offtopic or s.offtopic)
    relevant: dict[str, set[str] | None] = {q.qid: {q.doc_id} for q in made}
    everything = gate_pools(
        retriever,
        collection=name,
        queries=interleaved({q.qid: q.text for q in made}, off_topic),
        relevant=relevant,
        progress=progress,
        candidates=candidates,
        key=doc_key,
        deadline=deadline,
    )
    pools = [lp for lp in everything if lp.kind != "off_topic"]
    off = [lp for lp in everything if lp.kind == "off_topic"]
    return SelfPools(
        collection=name,
        chunks=len(chunks),
        candidates=candidates,
        questions_made=len(made),
        pools=pools,
        offtopic=off,
        source={q.qid: q.doc_id for q in made},
        passages={q.qid: q.chunk_id for q in made if q.kind == "passage"},
        seconds=time.monotonic() - started,
        stopped_early=time.monotonic() > deadline,
    )


def fit_self_profile(
    asked: SelfPools,
    *,
    bm25: Bm25Encoder,
    in_force: BlendWeights,
    fitted_for: dict[str, str],
    max_false_accept: float = 0.05,
    confidence: float = 0.9,
) -> tuple[Profile, dict[str, Any]]:
    """The cheap part, from the pools alone: relevance calibration, gate model and threshold, blend
    weights; returns the profile and its figures."""
    answerable = [lp for lp in asked.pools if lp.kind == "answerable"]
    off = keep_offtopic(asked.offtopic, answerable, bm25) if answerable else []
    _check_classes(asked, len(answerable), sum(lp.kind == "near_topic" for lp in asked.pools), len(off))
    pools = asked.pools + off
    z, y = _relevance_pairs(pools, asked.source)
    relevance = fit(
        z, y, "platt", fitted_for["reranker"], fitted_for["chunking"], f"{len(answerable)} questions made from {asked.collection!r}"
    )
    held_out = _held_out_ece(pools, asked.source, fitted_for)
    calibrator = Calibrator(relevance)
    recalibrate(pool_candidates(pools), calibrator)
    model, gate_report = fit_gate(
        pools, bm25=bm25, max_false_accept=max_false_accept, confidence=confidence, c=REGULARISATION, pool=asked.candidates
    )
    _check_certified(asked, model, gate_report["calibration_unanswerable"], max_false_accept, confidence)
    reference = reference_of(pools, scores(pools, bm25=bm25, model=model)["model"])
    judged, blend_pools = [], []
    for lp in answerable:
        passage = asked.passages.get(lp.group)
        if passage is not None and all(c.chunk.chunk_id != passage for c in lp.pool):
            continue  # its passage was not retrieved: every ranking scores it 0, which says nothing of the reranker
        judged.append(
            LabelledQuery(
                qid=lp.group,
                text=lp.query,
                collection=asked.collection,
                judged={passage or asked.source[lp.group]: 1},
                kind="topic" if passage is None else "passage",
                key=None if passage is None else chunk_key,
            )
        )
        blend_pools.append(lp.pool)
    blend = choose_blend(judged, blend_pools, in_force, doc_key, hybrid_as_configured=True)
    figures = {
        "collection": asked.collection,
        "chunks": asked.chunks,
        "questions_made": asked.questions_made,
        "questions_asked": len({lp.group for lp in asked.pools}),
        "answerable": len(answerable),
        "near_topic": sum(lp.kind == "near_topic" for lp in pools),
        "source_retrieved": round(len(answerable) / max(1, asked.questions_made), 4),
        "offtopic_asked": len(asked.offtopic),
        "offtopic_kept": len(off),
        "candidates": asked.candidates,
        "relevance": {
            "pairs": int(len(y)),
            "ece_sigmoid": round(expected_calibration_error(Calibrator()(z), y), 4),
            "ece_calibrated": round(expected_calibration_error(calibrator(z), y), 4),
            **held_out,
            "a": round(relevance.a, 4),
            "b": round(relevance.b, 4),
        },
        "gate": gate_report,
        "blend": {k: blend[k] for k in ("queries", "configured", "chosen", "hybrid", "reranker_gain", "reranker_gain_by_kind")},
        "seconds": round(asked.seconds, 1),
        "stopped_early": asked.stopped_early,
        "note": "the threshold's bound holds for questions made from the collection and the bundled off-topic set",
    }
    profile = Profile(
        source="self",
        fitted_on=f"{len(answerable)} questions made from collection {asked.collection!r} + {len(off)} bundled off-topic questions",
        fitted_at=now(),
        **fitted_for,
        relevance=relevance,
        answerability=model,
        blend=blend_pair(blend),
        reference=reference,
        figures=figures,
    )
    return profile, figures


def self_calibrate(
    retriever: Retriever,
    *,
    collection: str | None = None,
    questions: int | None = None,
    offtopic: int | None = None,
    max_false_accept: float = 0.05,
    confidence: float = 0.9,
    progress: bool = False,
) -> dict[str, Any]:
    """Fit the collection's `self` profile and store it; returns its figures."""
    asked = ask_self_questions(retriever, collection=collection, questions=questions, offtopic=offtopic, progress=progress)
    catalog = retriever.catalog
    # The blend is chosen against the weights a collection without a calibration of its own would use.
    profile, figures = fit_self_profile(
        asked,
        bm25=catalog.bm25_of(catalog.store(asked.collection)),
        in_force=catalog.blend_weights(),
        fitted_for=catalog.fitted_for(),
        max_false_accept=max_false_accept,
        confidence=confidence,
    )
    figures["saved_to"] = str(catalog.profiles.save(asked.collection, profile))
    return figures
