"""`ragate calibrate`: fit logit → probability on labelled pairs, report ECE, pick a threshold;
given off-topic questions, fit the gate's answerability model and certify its threshold; and with
`fit_blend`, choose the blend's relevance and retrieval weights on the same labels. All of it is
stored as the collection's `labelled` calibration profile (scoring/profile.py).

Pairs come from a BEIR dataset's train split (each query's top hybrid candidates, labelled by the
qrels) or from a JSONL of {query, text, relevant}. Queries are split in two: parameters are fitted
on one half and the threshold is chosen on the held-out half."""

from __future__ import annotations

from typing import Any

import numpy as np

from ragate.retrieval.beir import BeirDataset, beir_collection, beir_doc, beir_id, sample_queries
from ragate.retrieval.chunking import indexed_text
from ragate.retrieval.errors import NotFound
from ragate.retrieval.progress import progress_bar
from ragate.scoring.calibration import Calibrator, expected_calibration_error, fit, threshold_for_precision
from ragate.scoring.profile import Profile, now
from ragate.server.catalog import Catalog
from ragate.server.lab.blend_fit import blend_pair, fit_blend, queries_from_feedback, queries_from_qrels
from ragate.server.lab.evaluate import index_dataset
from ragate.server.lab.gate_fit import fit_gate, gate_pools, reference_of, scores
from ragate.server.lab.jsonl import load_queries, read_rows
from ragate.server.retriever import Retriever
from ragate.server.timing import Timer


def pairs_from_dataset(
    retriever: Retriever, dataset_dir: str, split: str, candidates: int, max_queries: int | None, progress: bool
) -> tuple[list[str], np.ndarray, np.ndarray]:
    ds = BeirDataset.load(dataset_dir, split)
    collection = beir_collection(dataset_dir)
    index_dataset(retriever.catalog, ds, collection, progress)
    groups, logits, labels = [], [], []
    reranker = retriever.models.require_reranker()
    for qid in progress_bar(sample_queries(ds, max_queries), progress):
        timer = Timer()
        cands = retriever.pool(ds.queries[qid], n=candidates, filters=None, collection=collection, timer=timer, fusion="rrf")
        if not cands:
            continue
        z = reranker.score(ds.queries[qid], [indexed_text(c.chunk) for c in cands])
        rel = {d for d, r in ds.qrels[qid].items() if r > 0}
        groups += [qid] * len(cands)
        logits += list(z)
        labels += [1.0 if beir_id(c.chunk.source) in rel else 0.0 for c in cands]
    return groups, np.asarray(logits), np.asarray(labels)


def labelled_rows(retriever: Retriever, labels: str | None) -> tuple[list[dict[str, Any]], str]:
    """The labelled rows of a JSONL file, or (no file) the agents' feedback kept in the store; and
    where they came from."""
    if labels:
        return read_rows(labels, {"query", "text", "relevant"}), labels
    feedback = retriever.catalog.feedback_log
    rows = feedback.rows()
    if not rows:
        raise NotFound(f"no feedback stored yet in {feedback.location}; agents add it with the feedback tool")
    return rows, "agents' feedback"


def pairs_from_rows(retriever: Retriever, rows: list[dict[str, Any]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    z = retriever.models.require_reranker().score_pairs([r["query"] for r in rows], [r["text"] for r in rows])
    return [r["query"] for r in rows], z, np.asarray([1.0 if r["relevant"] else 0.0 for r in rows])


def update_profile(catalog: Catalog, collection: str, *, fitted_on: str, **parts: Any) -> str:
    """Store parts of the collection's labelled profile (a new one where it has none, or where the
    one it has was fitted for other models); returns where."""
    kept = catalog.profiles.stored(collection, "labelled")
    if kept is None or not kept.fits(**catalog.fitted_for()):
        kept = Profile(source="labelled", **catalog.fitted_for())
    fitted_on = fitted_on if not kept.fitted_on or fitted_on in kept.fitted_on else f"{kept.fitted_on} + {fitted_on}"
    return str(catalog.profiles.save(collection, kept.model_copy(update={**parts, "fitted_on": fitted_on, "fitted_at": now()})))


def calibrate(
    retriever: Retriever,
    collection: str,
    groups: list[str],
    logits: np.ndarray,
    labels: np.ndarray,
    method: str,
    target_precision: float | None,
    source: str,
) -> dict[str, Any]:
    keys = sorted(set(groups))
    held = {k for i, k in enumerate(keys) if i % 2 == 1}
    fit_mask = np.array([g not in held for g in groups])
    params = fit(logits[fit_mask], labels[fit_mask], method, retriever.settings.reranker.model, retriever.models.chunking_key(), source)
    held_probs = Calibrator(params)(logits[~fit_mask])
    held_labels = labels[~fit_mask]
    report: dict[str, Any] = {
        "method": method,
        "pairs": int(len(labels)),
        "fit_pairs": int(fit_mask.sum()),
        "held_out_pairs": int((~fit_mask).sum()),
        "ece_before": round(params.ece_before, 4),
        "ece_after_fit": round(params.ece_after, 4),
        "ece_held_out_sigmoid": round(expected_calibration_error(Calibrator()(logits[~fit_mask]), held_labels), 4),
        "ece_held_out_calibrated": round(expected_calibration_error(held_probs, held_labels), 4),
    }
    if target_precision is not None:
        t = threshold_for_precision(held_probs, held_labels, target_precision)
        params.threshold = t
        report["target_precision"] = target_precision
        report["threshold"] = None if t is None else round(t, 4)
    report["saved_to"] = update_profile(retriever.catalog, collection, fitted_on=source, relevance=params)
    return report


def run_calibration(
    retriever: Retriever,
    *,
    dataset: str | None,
    labels: str | None,
    from_feedback: bool = False,
    split: str = "train",
    candidates: int = 20,
    max_queries: int | None = None,
    method: str = "platt",
    target_precision: float | None = None,
    progress: bool = False,
    offtopic_queries: str | None = None,
    max_false_accept: float = 0.05,
    confidence: float = 0.9,
    fit_blend_weights: bool = False,
    collection: str | None = None,
) -> dict[str, Any]:
    """`ragate calibrate`: labelled pairs from a BEIR dataset, a JSONL file or the agents' feedback
    (`from_feedback`), fitted and saved;
    with off-topic questions, then the gate's answerability model over the relevance just fitted;
    with `fit_blend_weights`, then the blend's weights over that relevance (see blend_fit). A
    dataset calibrates the collection it is indexed into; labelled rows, `collection` (default
    [index] collection)."""
    rows: list[dict[str, Any]] = []
    if dataset:
        groups, z, y = pairs_from_dataset(retriever, dataset, split, candidates, max_queries, progress)
        source, target = f"{dataset}:{split}", beir_collection(dataset)
    else:
        rows, source = labelled_rows(retriever, None if from_feedback else labels)
        groups, z, y = pairs_from_rows(retriever, rows)
        target = retriever.catalog.collection(collection)
    report = calibrate(retriever, target, groups, z, y, method, target_precision, source)
    report["collection"] = target
    if offtopic_queries:
        report["answerability"] = calibrate_gate(
            retriever,
            dataset_dir=dataset,
            split=split,
            offtopic_path=offtopic_queries,
            max_queries=max_queries,
            max_false_accept=max_false_accept,
            confidence=confidence,
            progress=progress,
        )
    if fit_blend_weights:
        report["blend"] = fit_blend_on(retriever, dataset=dataset, rows=rows, split=split, max_queries=max_queries, progress=progress)
        update_profile(retriever.catalog, target, fitted_on=source, blend=blend_pair(report["blend"]))
    return report


def fit_blend_on(
    retriever: Retriever, *, dataset: str | None, rows: list[dict[str, Any]], split: str, max_queries: int | None, progress: bool
) -> dict[str, Any]:
    """The blend fitted on a BEIR split's qrels (documents judged), or on labelled rows that name
    their chunk and collection, as the agents' feedback does (chunks judged)."""
    if dataset:
        ds = BeirDataset.load(dataset, split)
        qids = sample_queries(ds, max_queries)
        queries = queries_from_qrels(queries=ds.queries, qrels=ds.qrels, qids=qids, collection=beir_collection(dataset))
        return fit_blend(retriever, queries=queries, key=beir_doc, progress=progress)
    return fit_blend(retriever, queries=queries_from_feedback(rows), key=lambda c: c.chunk.chunk_id, progress=progress)


def calibrate_gate(
    retriever: Retriever,
    *,
    dataset_dir: str,
    split: str,
    offtopic_path: str,
    max_queries: int | None,
    max_false_accept: float,
    confidence: float,
    progress: bool,
) -> dict[str, Any]:
    """Fit and store the answerability model on the split's queries (answerable and near-topic
    pools) and the off-topic questions, with its risk-controlled threshold."""
    ds = BeirDataset.load(dataset_dir, split)
    collection = beir_collection(dataset_dir)
    qids = sample_queries(ds, max_queries)
    relevant = {q: {d for d, r in ds.qrels[q].items() if r > 0} for q in qids}
    pools = gate_pools(retriever, collection=collection, queries={q: ds.queries[q] for q in qids}, relevant=relevant, progress=progress)
    offtopic = {f"offtopic:{q}": t for q, t in load_queries(offtopic_path).items()}
    pools += gate_pools(retriever, collection=collection, queries=offtopic, relevant=None, progress=progress)
    bm25 = retriever.catalog.bm25_of(retriever.catalog.store(collection))
    model, report = fit_gate(
        pools, bm25=bm25, max_false_accept=max_false_accept, confidence=confidence, pool=retriever.settings.retrieval.candidates
    )
    reference = reference_of(pools, scores(pools, bm25=bm25, model=model)["model"])
    report["saved_to"] = update_profile(
        retriever.catalog, collection, fitted_on=f"{dataset_dir}:{split} + {offtopic_path}", answerability=model, reference=reference
    )
    return report
