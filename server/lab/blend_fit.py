"""`ragate calibrate --fit-blend`: choose `[blend] w_relevance` and `w_retrieval` on labelled
queries, so that a reranker whose idea of relevance does not match the collection's labels is
down-weighted against the recall stage's own vote instead of trusted.

Each query's pool (what search would rerank) is retrieved and reranked once; every grid point then
re-blends those same pools with `scoring.blend` (the code search runs) and is judged by mean
nDCG@10 over the queries (ir-measures); the reranker keeps a weight only where it beats hybrid
beyond doubt (`choose_blend`). The gate's p_answerable reads calibrated relevance, never the
blended score; with w_relevance 0 (search then skips the reranker) its passages are the head of
the blended order."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.errors import BadInput
from ragate.retrieval.progress import progress_bar
from ragate.scoring.blend import BlendWeights, blend
from ragate.scoring.profile import BlendPair
from ragate.scoring.significance import paired_bootstrap
from ragate.server.lab.evaluate import per_query, ranked_run
from ragate.server.retriever import Retriever
from ragate.server.timing import Timer

W_RELEVANCE = (0.0, 0.25, 0.5, 1.0)
W_RETRIEVAL = (0.0, 0.1, 0.3, 0.6, 1.0, 2.0)
# The pair in force is kept unless another beats it by this much mean nDCG@10: a smaller gain on
# the fitting questions is within what another sample of them would change.
MIN_GAIN = 0.01


@dataclass(frozen=True)
class LabelledQuery:
    qid: str
    text: str
    collection: str
    judged: dict[str, int]  # judged unit (a BEIR document id, or a chunk id) → relevance grade
    kind: str = ""  # questions of each kind must each show the reranker's gain (self-calibration's topic / passage)
    key: Callable[[Candidate], str] | None = None  # a candidate's judged unit for this query, where not the fit's


def queries_from_qrels(
    *, queries: dict[str, str], qrels: dict[str, dict[str, int]], qids: list[str], collection: str
) -> list[LabelledQuery]:
    """BEIR queries judged by their qrels (document ids)."""
    return [LabelledQuery(qid=q, text=queries[q], collection=collection, judged=qrels[q]) for q in qids]


def queries_from_feedback(rows: list[dict[str, Any]]) -> list[LabelledQuery]:
    """Agents' verdicts grouped by (collection, query); a query counts once some passage was useful."""
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        grouped.setdefault((r["collection"], r["query"]), {})[r["chunk_id"]] = 1 if r["relevant"] else 0
    kept = [(c, q, j) for (c, q), j in grouped.items() if any(j.values())]
    return [LabelledQuery(qid=f"f{i}", text=q, collection=c, judged=j) for i, (c, q, j) in enumerate(kept)]


def reranked_pools(retriever: Retriever, queries: list[LabelledQuery], *, candidates: int, progress: bool) -> list[list[Candidate]]:
    """Each query's fused pool of `candidates`, reranked and calibrated once."""
    pools = []
    for q in progress_bar(queries, progress):
        timer = Timer()
        cands = retriever.pool(q.text, n=candidates, filters=None, collection=q.collection, timer=timer)
        if cands and not retriever.rerank_pool(q.text, cands, profile=retriever.catalog.profile(q.collection), timer=timer):
            retriever.models.require_reranker()  # not reranked: raises why the reranker is unavailable
        pools.append(cands)
    return pools


def blend_pair(choice: dict[str, Any]) -> BlendPair:
    """The chosen weights of `choose_blend`'s report, with their evidence, as a profile keeps them."""
    chosen, gain = choice["chosen"], choice["reranker_gain"]
    return BlendPair(
        w_relevance=chosen["w_relevance"],
        w_retrieval=chosen["w_retrieval"],
        questions=choice["queries"],
        ndcg=chosen["ndcg@10"],
        ndcg_hybrid=choice["hybrid"]["ndcg@10"],
        gain=gain["mean_difference"],
        gain_low=gain["ci_low"],
        gain_high=gain["ci_high"],
        by_kind={k: (g["mean_difference"], g["ci_low"], g["ci_high"], g["queries"]) for k, g in choice["reranker_gain_by_kind"].items()},
    )


def per_query_ndcg(
    queries: list[LabelledQuery], pools: list[list[Candidate]], weights: BlendWeights, key: Callable[[Candidate], str]
) -> np.ndarray:
    """nDCG@10 of each query's blended pool; a query whose pool is empty scores 0."""
    run = {q.qid: ranked_run(blend(list(pool), weights), q.key or key) for q, pool in zip(queries, pools, strict=True)}
    qrels = {q.qid: q.judged for q in queries}
    return per_query(qrels, run, [q.qid for q in queries])


def fit_blend(
    retriever: Retriever, *, queries: list[LabelledQuery], key: Callable[[Candidate], str], progress: bool = False
) -> dict[str, Any]:
    """The grid's mean nDCG@10 and the pair that maximises it, beside the pair in force."""
    if not queries:
        raise BadInput("no labelled queries to fit the blend on")
    candidates = retriever.settings.retrieval.candidates
    pools = reranked_pools(retriever, queries, candidates=candidates, progress=progress)
    in_force = retriever.catalog.blend_weights(profile=retriever.catalog.profile(queries[0].collection))
    return {"candidates": candidates, **choose_blend(queries, pools, in_force, key)}


def choose_blend(
    queries: list[LabelledQuery],
    pools: list[list[Candidate]],
    in_force: BlendWeights,
    key: Callable[[Candidate], str],
    *,
    hybrid_as_configured: bool = False,
) -> dict[str, Any]:
    """Every grid pair re-blends the same reranked pools. The reranker earns a weight only when the
    best pair that uses it beats the best pair without it (hybrid) on these questions beyond doubt:
    the paired bootstrap interval of the per-query nDCG@10 difference lies above 0, over all of them
    and over the questions of each kind when they are of several. A winner picked from a grid looks
    better than it is, and fitting questions are not the users' questions, so an unproven gain goes
    to the cheaper ranking: hybrid. Within the side chosen, the
    best mean wins (ties to the pair nearest the one in force), and the pair in force is kept
    unless that beats it by MIN_GAIN. With `hybrid_as_configured`, hybrid is not chosen from the grid
    but is how `search --no-rerank` ranks (`BlendWeights.unread`: the reranker's weight goes to the
    recall stage's vote, w_retrieval = w_relevance + w_retrieval in force): the
    reranker is judged against what would rank in its place, and questions with one known source
    each judge whether a ranking finds it, not how that vote weighs against freshness, authority and
    diversity."""
    per = {
        (wr, wt): per_query_ndcg(queries, pools, dataclasses.replace(in_force, relevance=wr, retrieval=wt), key)
        for wr in W_RELEVANCE
        for wt in W_RETRIEVAL
    }
    current = (in_force.relevance, in_force.retrieval)
    per.setdefault(current, per_query_ndcg(queries, pools, in_force, key))
    unranked: tuple[float, float] | None = None
    if hybrid_as_configured:
        unread = in_force.unread()
        unranked = (unread.relevance, round(unread.retrieval, 4))
        per.setdefault(unranked, per_query_ndcg(queries, pools, dataclasses.replace(unread, retrieval=unranked[1]), key))
    table = {pair: float(v.mean()) for pair, v in per.items()}

    def best(pairs: list[tuple[float, float]]) -> tuple[float, float]:
        top = max(table[pair] for pair in pairs)
        return min(
            (pair for pair in pairs if table[pair] >= top - 1e-9),
            key=lambda pair: (pair[0] - in_force.relevance) ** 2 + (pair[1] - in_force.retrieval) ** 2,
        )

    hybrid = unranked or best([pair for pair in table if pair[0] == 0])
    reranked = best([pair for pair in table if pair[0] > 0])
    gain = paired_bootstrap(per[reranked], per[hybrid])
    kinds = sorted({q.kind for q in queries})
    masks = {k: np.array([q.kind == k for q in queries]) for k in kinds} if len(kinds) > 1 else {}
    by_kind = {k: paired_bootstrap(per[reranked][m], per[hybrid][m]) for k, m in masks.items()}
    chosen = reranked if gain.low > 0 and all(g.low > 0 for g in by_kind.values()) else hybrid
    if (current[0] > 0) == (chosen[0] > 0) and table[chosen] < table[current] + MIN_GAIN:
        chosen = current
    return {
        "queries": len(queries),
        "hybrid": {"w_retrieval": hybrid[1], "ndcg@10": round(table[hybrid], 4)},
        "reranker_gain": {"w_relevance": reranked[0], "w_retrieval": reranked[1], "ndcg@10": round(table[reranked], 4), **gain.to_dict()},
        "reranker_gain_by_kind": {k: g.to_dict() for k, g in by_kind.items()},
        "grid": [{"w_relevance": wr, "w_retrieval": wt, "ndcg@10": round(v, 4)} for (wr, wt), v in table.items()],
        "configured": {"w_relevance": in_force.relevance, "w_retrieval": in_force.retrieval, "ndcg@10": round(table[current], 4)},
        "chosen": {"w_relevance": chosen[0], "w_retrieval": chosen[1], "ndcg@10": round(table[chosen], 4)},
    }
