"""`ragate eval`: IR metrics for each pipeline variant on a BEIR-format dataset, and the abstain
gate's error rates on near-topic and (given off-topic questions) off-topic pools. Metrics come
from ir-measures (trec_eval underneath), not hand-rolled code."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ragate.retrieval.beir import BeirDataset, beir_collection, beir_doc, beir_id, sample_queries
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.errors import BadInput
from ragate.retrieval.progress import progress_bar
from ragate.scoring.blend import blend
from ragate.scoring.calibration import Calibrator
from ragate.scoring.profile import Profile
from ragate.scoring.significance import LEVEL, RESAMPLES, SEED, paired_bootstrap
from ragate.server.catalog import Catalog
from ragate.server.lab import gate_fit as gate_eval
from ragate.server.lab.gate_fit import gate_pools
from ragate.server.lab.jsonl import load_queries
from ragate.server.lab.leaderboard import leaderboard
from ragate.server.lab.leaderboard import write as write_leaderboard
from ragate.server.retriever import Retriever, recall_depth
from ragate.server.timing import Timer

log = logging.getLogger(__name__)

VARIANTS = ["bm25", "dense", "hybrid", "hybrid+rerank", "hybrid+rerank+blend"]
MEASURES = {"ndcg@10": "nDCG@10", "mrr@10": "RR@10", "recall@100": "R@100", "hit@1": "Success@1"}


def doc_run(cands: list, score, key=beir_doc) -> dict[str, float]:
    """Chunk ranking (candidates or hits) → run over the judged unit (`key`, by default the BEIR
    document): a unit takes its best chunk's score."""
    run: dict[str, float] = {}
    for c in cands:
        s = score(c)
        if s is None:
            continue
        d = key(c)
        if d not in run or s > run[d]:
            run[d] = float(s)
    return run


def ranked_run(ranked: list, key=beir_doc) -> dict[str, float]:
    """A blended order as a run: rank positions become the scores, so the order is what trec_eval sees."""
    order = {id(c): len(ranked) - i for i, c in enumerate(ranked)}
    return doc_run(ranked, lambda c: order[id(c)], key)


def metrics(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    import ir_measures

    parsed = {k: ir_measures.parse_measure(v) for k, v in MEASURES.items()}
    agg = ir_measures.calc_aggregate(list(parsed.values()), {q: qrels[q] for q in run}, run)
    return {k: round(float(agg[m]), 4) for k, m in parsed.items()}


def per_query(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], qids: list[str], measure: str = "ndcg@10") -> np.ndarray:
    """One value of `measure` per query in `qids` order; a query the run has nothing for scores 0."""
    import ir_measures

    m = ir_measures.parse_measure(MEASURES[measure])
    values = {r.query_id: float(r.value) for r in ir_measures.iter_calc([m], {q: qrels[q] for q in run}, run)}
    return np.asarray([values.get(q, 0.0) for q in qids])


def rerank_vs_hybrid(qrels: dict[str, dict[str, int]], runs: dict[str, dict[str, dict[str, float]]], qids: list[str]) -> dict[str, Any]:
    """Each reranked variant against hybrid on the same queries: the paired bootstrap interval of
    the nDCG@10 difference and what it says in words."""
    differences: dict[str, Any] = {}
    out = {"measure": "ndcg@10", "confidence": LEVEL, "resamples": RESAMPLES, "seed": SEED, "differences": differences}
    if not runs.get("hybrid"):
        return out
    base = per_query(qrels, runs["hybrid"], qids)
    for v in ("hybrid+rerank", "hybrid+rerank+blend"):
        if runs.get(v):
            d = paired_bootstrap(per_query(qrels, runs[v], qids), base)
            differences[v] = {
                **d.to_dict(),
                "summary": f"{d.verdict}: {v} − hybrid nDCG@10 {d.mean:+.3f} "
                f"({LEVEL:.0%} CI {d.low:+.3f} to {d.high:+.3f}, {d.queries} queries)",
            }
    return out


def index_dataset(catalog: Catalog, ds: BeirDataset, collection: str, progress: bool) -> None:
    report = catalog.indexer(collection).index_documents(ds.documents(), progress=progress, total=ds.corpus_size())
    log.warning(
        "indexed %s: %d documents (%d unchanged), %d chunks",
        collection,
        report.documents_indexed,
        report.documents_unchanged,
        report.chunks_written,
    )


def gate_rates(answerable: list[float], unanswerable: list[float], threshold: float) -> dict[str, float]:
    a = np.asarray(answerable)
    u = np.asarray(unanswerable)
    return {
        "threshold": round(float(threshold), 4),
        "false_accept_rate": round(float((u >= threshold).mean()) if len(u) else 0.0, 4),
        "false_abstain_rate": round(float((a < threshold).mean()) if len(a) else 0.0, 4),
        "answerable": int(len(a)),
        "unanswerable": int(len(u)),
    }


def evaluate(
    retriever: Retriever,
    dataset_dir: str,
    variants: list[str] | None = None,
    max_queries: int | None = None,
    candidates: int = 100,
    collection: str | None = None,
    out_dir: str | None = "bench/results",
    progress: bool = True,
    offtopic_queries: str | None = None,
    rerankers: list[str] | None = None,
) -> dict[str, Any]:
    variants = variants or VARIANTS
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise BadInput(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")
    ds = BeirDataset.load(dataset_dir, "test")
    name = Path(dataset_dir).resolve().name
    collection = collection or beir_collection(dataset_dir)
    index_dataset(retriever.catalog, ds, collection, progress)
    qids = sample_queries(ds, max_queries)
    runs: dict[str, dict[str, dict[str, float]]] = {v: {} for v in variants}
    ms: dict[str, float] = {v: 0.0 for v in variants}
    # Gate: every other query becomes unanswerable by removing its relevant documents from the pool.
    top_logits: list[float] = []  # best rerank logit of each query's pool, in query order (answerable on even n)
    top_relevant: list[bool] = []
    profile = retriever.catalog.profile(collection)
    calibrator = profile.calibrator()
    pools: list[gate_eval.LabelledPool] = []  # every query's pool as answerable and as near-topic
    reranked: dict[str, list] = {}  # each query's reranked pool, to blend under each calibration
    need_rerank = any("rerank" in v for v in variants)
    fused: dict[str, tuple[str, list[Candidate]]] = {}  # each query's fused pool, for the rerankers' leaderboard
    hybrid_run: dict[str, dict[str, float]] = {}
    for n, qid in enumerate(progress_bar(qids, progress)):
        query = ds.queries[qid]
        timer = Timer()
        # Each channel alone is judged on its own top 100 or more (Recall@100 needs that many), the
        # hybrid variants on the fused pool of `candidates` that search would rerank, fused as search fuses.
        dense, sparse = retriever.recall(query, filters=None, n=recall_depth(candidates), collection=collection, timer=timer)
        cands = retriever.fuse(query, dense, sparse, n=candidates, fusion="rrf", timer=timer)
        t = timer.ms
        if "bm25" in runs:
            runs["bm25"][qid] = doc_run(sparse, lambda h: h.score)
            ms["bm25"] += t["bm25"] + t["embed"] / 2
        if "dense" in runs:
            runs["dense"][qid] = doc_run(dense, lambda h: h.score)
            ms["dense"] += t["dense"] + t["embed"] / 2
        base = t["embed"] + t["dense"] + t["bm25"] + t["fuse"]
        hybrid_run[qid] = doc_run(cands, lambda c: c.fused)
        if "hybrid" in runs:
            runs["hybrid"][qid] = hybrid_run[qid]
            ms["hybrid"] += base
        if rerankers and cands:
            fused[qid] = (query, cands)
        if not need_rerank:
            continue
        if not cands:  # nothing retrieved: the gate abstains, and the query keeps its place in the split
            top_logits.append(float("-inf"))
            top_relevant.append(False)
            continue
        if not retriever.rerank_pool(query, cands, profile=profile, timer=timer):
            retriever.models.require_reranker()  # not reranked: raises why the reranker is unavailable
        reranked[qid] = cands
        if "hybrid+rerank" in runs:
            runs["hybrid+rerank"][qid] = doc_run(cands, lambda c: c.rerank)
            ms["hybrid+rerank"] += base + timer.ms["rerank"]
        if "hybrid+rerank+blend" in runs:
            with timer.stage("blend"):
                ranked = blend(
                    list(cands), retriever.weights_for(retriever.language.of_query(query, [collection]), cands, None, profile)[0]
                )
            runs["hybrid+rerank+blend"][qid] = ranked_run(ranked)
            ms["hybrid+rerank+blend"] += base + timer.ms["rerank"] + timer.ms["blend"]
        relevant = {d for d, r in ds.qrels[qid].items() if r > 0}
        pools += gate_eval.labelled_pools(qid=qid, query=query, pool=cands, relevant=relevant)
        pool = cands if n % 2 == 0 else [c for c in cands if beir_id(c.chunk.source) not in relevant]
        # Candidates a margin skip or budget left unread (when configured) have no logit.
        read = [c for c in pool if c.rerank is not None]
        best = max(read, key=lambda c: c.rerank) if read else None
        top_logits.append(float(best.rerank) if best is not None else float("-inf"))
        top_relevant.append(best is not None and beir_id(best.chunk.source) in relevant)
    result: dict[str, Any] = {"dataset": name, "queries": len(qids), "candidates": candidates, "variants": {}}
    for v in variants:
        if runs[v]:
            result["variants"][v] = {**metrics(ds.qrels, runs[v]), "ms_per_query": round(ms[v] / max(1, len(runs[v])), 2)}
    comparison = rerank_vs_hybrid(ds.qrels, runs, qids)
    if comparison["differences"]:
        result["rerank_vs_hybrid"] = comparison
        # The headline is the reranker's own effect; the blend's follows it in the differences.
        result["verdict"] = next(iter(comparison["differences"].values()))["summary"]
    precision_rows: list[tuple[float, bool]] = []
    if need_rerank:
        # Calibrators are monotone, so the pool's best logit is its best relevance under any of them.
        z = np.asarray(top_logits)
        probs = {"sigmoid": Calibrator()(z), "active": calibrator(z)}
        gate = {
            "sigmoid@0.5": _split_rates(probs["sigmoid"], 0.5),
            "configured": _split_rates(probs["active"], retriever.settings.gate.min_score),
        }
        if calibrator.params.threshold is not None:
            gate["calibrated"] = _split_rates(probs["active"], calibrator.params.threshold)
        result["calibration"] = profile.source
        if offtopic_queries:
            offtopic = load_queries(offtopic_queries)
            pools += gate_pools(retriever, collection=collection, queries=offtopic, relevant=None, progress=progress, candidates=candidates)
        gate.update(
            answerability_report(
                retriever, collection, profile, pools, Path(out_dir) / f"eval_{name}_risk_coverage.png" if out_dir else None
            )
        )
        result["gate"] = gate
        if "hybrid+rerank+blend" in runs:
            result["calibrations"] = compare_calibrations(retriever, collection, pools, reranked, ds.qrels)
        precision_rows = list(zip(probs["active"].tolist(), top_relevant, strict=False))
    if rerankers:
        result["rerankers"] = leaderboard(retriever.settings, rerankers, fused, ds.qrels, hybrid_run)
    if out_dir:
        write_outputs(result, precision_rows, Path(out_dir))
        if rerankers:
            result["rerankers"]["outputs"] = write_leaderboard(result["rerankers"], name, Path(out_dir))
    return result


def answerability_report(
    retriever: Retriever, collection: str, profile: Profile, pools: list[gate_eval.LabelledPool], plot: Path | None
) -> dict[str, Any]:
    """gate.near_topic / gate.off_topic: the old top-score gate beside the gate as configured (the
    fitted model at its guaranteed threshold, or the uncalibrated rule when there is none)."""
    model = profile.answerability
    calibrated = model is not None and model.threshold is not None
    s = gate_eval.scores(pools, bm25=retriever.catalog.bm25_of(retriever.catalog.store(collection)), model=model if calibrated else None)
    min_score = retriever.settings.gate.min_score
    gate_scores = {"top_score": s["top_score"], "model": s["model"] if calibrated else s["rule"]}
    thresholds = {
        "top_score": {"configured": min_score},
        "model": {"guaranteed": model.threshold} if calibrated else {"configured": min_score},
    }
    out = gate_eval.report(pools, gate_scores, thresholds)
    out["model_calibrated"] = calibrated
    if calibrated:
        out["model_false_accept_bound"] = model.false_accept_bound
    if plot is not None:
        gate_eval.plot_risk_coverage(pools, gate_scores, plot, "abstain gate")
        out["risk_coverage_plot"] = str(plot)
    return out


def compare_calibrations(
    retriever: Retriever,
    collection: str,
    pools: list[gate_eval.LabelledPool],
    reranked: dict[str, list[Candidate]],
    qrels: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """The same pools under each calibration the collection has (labelled, self, the shipped default,
    none): the gate's AUROC on near-topic and off-topic pools, its rates at that calibration's own
    threshold, and nDCG@10 of the blend at that calibration's weights."""
    everything = list({id(c): c for c in [*gate_eval.pool_candidates(pools), *(c for cs in reranked.values() for c in cs)]}.values())
    kinds = np.array([lp.kind for lp in pools])
    pos = kinds == "answerable"
    out: dict[str, Any] = {}
    catalog = retriever.catalog
    in_force = catalog.profile(collection)
    for source, profile in catalog.profiles_available(collection).items():
        gate_eval.recalibrate(everything, profile.calibrator())
        model = profile.answerability if profile.answerability is not None and profile.answerability.threshold is not None else None
        s = gate_eval.scores(pools, bm25=catalog.bm25_of(catalog.store(collection)), model=model)
        score = s["model"] if model is not None else s["rule"]
        threshold = float(model.threshold) if model is not None else retriever.settings.gate.min_score
        entry: dict[str, Any] = {"fitted_on": profile.fitted_on, "threshold": round(threshold, 4)}
        for kind in ("near_topic", "off_topic"):
            neg = kinds == kind
            if neg.any():
                judged = gate_eval.judge(score[pos], score[neg], {"at_threshold": threshold})
                entry[kind] = {"auroc": judged["auroc"], **judged["at_threshold"], "at_false_abstain_0.15": judged["at_false_abstain_0.15"]}
        weights = catalog.blend_weights(profile=profile)
        run = {q: ranked_run(blend(list(cands), weights)) for q, cands in reranked.items()}
        entry["blend"] = {"w_relevance": weights.relevance, "w_retrieval": weights.retrieval, **metrics(qrels, run)}
        out[source] = entry
    gate_eval.recalibrate(everything, in_force.calibrator())
    return out


def _split_rates(top: np.ndarray, threshold: float) -> dict[str, float]:
    """Even-numbered queries kept their relevant documents (answerable), odd ones lost them."""
    return gate_rates(top[0::2].tolist(), top[1::2].tolist(), threshold)


def precision_coverage(rows: list[tuple[float, bool]]) -> list[tuple[float, float, float]]:
    """(threshold, coverage, precision): answering when top relevance ≥ threshold; precision is the
    share of answered queries whose top passage is relevant."""
    out = []
    for t in np.round(np.linspace(0.0, 1.0, 101), 2):
        answered = [ok for s, ok in rows if s >= t]
        cov = len(answered) / len(rows) if rows else 0.0
        prec = sum(answered) / len(answered) if answered else 1.0
        out.append((float(t), round(cov, 4), round(prec, 4)))
    return out


def write_outputs(result: dict[str, Any], rows: list[tuple[float, bool]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"eval_{result['dataset']}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# {result['dataset']}: {result['queries']} queries, {result['candidates']} candidates",
        "",
        "| variant | nDCG@10 | MRR@10 | Recall@100 | Hit@1 | ms/query |",
        "|---|---|---|---|---|---|",
    ]
    for v, m in result["variants"].items():
        lines.append(
            f"| {v} | {m['ndcg@10']:.3f} | {m['mrr@10']:.3f} | {m['recall@100']:.3f} | {m['hit@1']:.3f} | {m['ms_per_query']:.1f} |"
        )
    if "rerank_vs_hybrid" in result:
        lines += ["", *(f"- {d['summary']}" for d in result["rerank_vs_hybrid"]["differences"].values())]
    if "gate" in result:
        lines += ["", "| gate threshold | value | false-accept | false-abstain |", "|---|---|---|---|"]
        for label, g in result["gate"].items():
            if isinstance(g, dict) and "threshold" in g:
                lines.append(f"| {label} | {g['threshold']:.3f} | {g['false_accept_rate']:.3f} | {g['false_abstain_rate']:.3f} |")
        lines += ["", "| unanswerable | gate | AUROC | AURC | false-accept at false-abstain ≤0.10 | ≤0.15 |", "|---|---|---|---|---|---|"]
        for kind in ("near_topic", "off_topic"):
            for gate_name, j in result["gate"].get(kind, {}).items():
                if isinstance(j, dict):
                    at10, at15 = j["at_false_abstain_0.10"], j["at_false_abstain_0.15"]
                    lines.append(
                        f"| {kind} | {gate_name} | {j['auroc']} | {j['aurc']} | {at10['false_accept_rate']} | {at15['false_accept_rate']} |"
                    )
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    if rows:
        curve = precision_coverage(rows)
        with open(f"{stem}_precision_coverage.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["threshold", "coverage", "precision"])
            w.writerows(curve)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot([c for _, c, _ in curve], [p for _, _, p in curve], marker=".")
        ax.set_xlabel("coverage (share of queries answered)")
        ax.set_ylabel("precision (top passage relevant)")
        ax.set_title(f"{result['dataset']}: abstain gate")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(f"{stem}_precision_coverage.png", dpi=100)
        plt.close(fig)
