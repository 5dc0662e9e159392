"""`ragate eval --rerankers`: the same fused candidate pools reranked by each reranker named, on
one leaderboard: nDCG@10, MRR@10, Hit@1, rerank milliseconds per query (p50/p95), what the
provider billed per 1,000 queries (and its cost where its list price is known), and each one's
paired interval against hybrid retrieval alone, with the verdict `ragate eval` gives.

A spec is `provider:what`: `local:<model dir or hub name>`, `causal-lm:<model>`,
`http:<url>[#<served model name>]`, `cohere|voyage|jina|zeroentropy:<model>` (at `[reranker] url`
when set, as for a gateway or a local stand-in, else the provider's own address) and
`claude:<model>` (the [llm] key)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.chunking import indexed_text
from ragate.scoring.rerankers.base import Reranker
from ragate.scoring.rerankers.listwise import ListwiseReranker
from ragate.scoring.rerankers.remote import HOSTED, RemoteReranker
from ragate.scoring.significance import LEVEL, paired_bootstrap
from ragate.server.config import RerankerSettings, Settings, reranker_spec
from ragate.server.model_loader import reranker_from

# USD list prices used for the cost column, per provider (and model where they differ): the price
# and the unit the provider bills by. A provider or model missing here gets units but no cost.
PRICES: dict[str, tuple[float, str]] = {
    "cohere": (2.00 / 1000, "searches"),  # Rerank 3.5: $2.00 per 1,000 searches
    "voyage:rerank-2.5": (0.05 / 1e6, "tokens"),
    "voyage:rerank-2.5-lite": (0.02 / 1e6, "tokens"),
}


def parse_spec(spec: str, base: RerankerSettings) -> RerankerSettings:
    """The reranker settings one spec asks for. Only a hosted API keeps `[reranker] url` (a gateway
    or a stand-in for it); no spec inherits `api_key_env`, so each key goes only to its own provider."""
    provider, what = reranker_spec(spec)
    update: dict[str, Any] = {"provider": provider, "api_key_env": "", "model": what}
    if provider == "http":
        url, _, model = what.partition("#")
        update |= {"url": url, "model": model}
    elif provider not in HOSTED:
        update["url"] = ""
    return base.model_copy(update=update)


def _billed(r: Reranker) -> float:
    if isinstance(r, RemoteReranker):
        return r.billed
    if isinstance(r, ListwiseReranker):
        return float(sum(r.usage.values()))
    return 0.0


def _unit(r: Reranker) -> str:
    if isinstance(r, RemoteReranker):
        return r.api.billing_unit
    return "tokens" if isinstance(r, ListwiseReranker) else ""


def _price(name: str, provider: str) -> tuple[float, str] | None:
    return PRICES.get(name) or PRICES.get(provider)


def rerank_row(
    reranker: Reranker,
    spec: str,
    provider: str,
    pools: dict[str, tuple[str, list[Candidate]]],
    qrels: dict[str, dict[str, int]],
    hybrid: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """One reranker over every pool: its metrics, latency, billing and interval against hybrid."""
    from ragate.server.lab.evaluate import doc_run, metrics, per_query

    run: dict[str, dict[str, float]] = {}
    ms: list[float] = []
    billed_before = _billed(reranker)
    for qid, (query, cands) in pools.items():
        started = time.perf_counter()
        scores = reranker.score(query, [indexed_text(c.chunk) for c in cands])
        ms.append((time.perf_counter() - started) * 1000)
        by_chunk = {id(c): float(s) for c, s in zip(cands, scores, strict=True)}
        run[qid] = doc_run(cands, lambda c, scored=by_chunk: scored[id(c)])
    qids = list(pools)
    m = metrics(qrels, run)
    row: dict[str, Any] = {
        "reranker": spec,
        "engine": reranker.kind,
        "scores": reranker.scores,
        "ndcg@10": m["ndcg@10"],
        "mrr@10": m["mrr@10"],
        "hit@1": m["hit@1"],
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if ms else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if ms else None,
    }
    per_1000 = (_billed(reranker) - billed_before) / max(1, len(qids)) * 1000
    unit = _unit(reranker)
    row["billed_per_1000_queries"] = {"units": round(per_1000, 1), "unit": unit} if unit else None
    price = _price(reranker.name, provider)
    row["usd_per_1000_queries"] = round(per_1000 * price[0], 4) if price and unit == price[1] else None
    d = paired_bootstrap(per_query(qrels, run, qids), per_query(qrels, hybrid, qids))
    row["vs_hybrid"] = {
        **d.to_dict(),
        "summary": f"{d.verdict}: {spec} − hybrid nDCG@10 {d.mean:+.3f} ({LEVEL:.0%} CI {d.low:+.3f} to {d.high:+.3f}, {d.queries} queries)",
    }
    return row


def leaderboard(
    settings: Settings,
    specs: list[str],
    pools: dict[str, tuple[str, list[Candidate]]],
    qrels: dict[str, dict[str, int]],
    hybrid: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """Every spec's row, best nDCG@10 first; a reranker that cannot load or answer gets its error."""
    from ragate.retrieval.errors import RagateError

    rows, failed = [], []
    for spec in specs:
        r = parse_spec(spec, settings.reranker)
        try:
            reranker = reranker_from(settings, r, serving=False)
        except RagateError as e:
            failed.append({"reranker": spec, "error": str(e)})
            continue
        try:
            rows.append(rerank_row(reranker, spec, r.provider, pools, qrels, hybrid))
        except RagateError as e:
            failed.append({"reranker": spec, "error": str(e)})
        finally:
            reranker.close()
    rows.sort(key=lambda row: -row["ndcg@10"])
    hybrid_metrics = _hybrid_metrics(qrels, hybrid)
    return {"queries": len(pools), "hybrid": hybrid_metrics, "rows": rows, "failed": failed}


def _hybrid_metrics(qrels: dict[str, dict[str, int]], hybrid: dict[str, dict[str, float]]) -> dict[str, float]:
    from ragate.server.lab.evaluate import metrics

    m = metrics(qrels, hybrid)
    return {k: m[k] for k in ("ndcg@10", "mrr@10", "hit@1")}


def markdown(board: dict[str, Any], dataset: str) -> str:
    h = board["hybrid"]
    lines = [
        f"# Rerankers on {dataset}: {board['queries']} queries, the same fused pools",
        "",
        "| reranker | engine | nDCG@10 | MRR@10 | Hit@1 | p50 ms | p95 ms | billed / 1k queries | USD / 1k queries | vs hybrid (nDCG@10) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| hybrid (no reranker) | | {h['ndcg@10']:.3f} | {h['mrr@10']:.3f} | {h['hit@1']:.3f} | | | | | |",
    ]
    for r in board["rows"]:
        billed = f"{r['billed_per_1000_queries']['units']:g} {r['billed_per_1000_queries']['unit']}" if r["billed_per_1000_queries"] else ""
        usd = f"{r['usd_per_1000_queries']:.4f}" if r["usd_per_1000_queries"] is not None else ""
        v = r["vs_hybrid"]
        lines.append(
            f"| {r['reranker']} | {r['engine']} | {r['ndcg@10']:.3f} | {r['mrr@10']:.3f} | {r['hit@1']:.3f} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {billed} | {usd} | {v['mean_difference']:+.3f} [{v['ci_low']:+.3f}, {v['ci_high']:+.3f}] {v['verdict']} |"
        )
    lines += [f"- {r['reranker']}: failed: {r['error']}" for r in board["failed"]]
    return "\n".join(lines) + "\n"


def write(board: dict[str, Any], dataset: str, out: Path) -> dict[str, str]:
    """JSON, Markdown and a plot of nDCG@10 with its interval per reranker, under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"eval_{dataset}_rerankers"
    paths = {"json": str(stem.with_suffix(".json")), "markdown": str(stem.with_suffix(".md")), "plot": f"{stem}.png"}
    stem.with_suffix(".json").write_text(json.dumps(board, indent=2))
    stem.with_suffix(".md").write_text(markdown(board, dataset))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = board["rows"]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.5 * max(1, len(rows))))
    base = board["hybrid"]["ndcg@10"]
    names = [r["reranker"] for r in rows][::-1]
    vals = [r["ndcg@10"] for r in rows][::-1]
    diff = [r["vs_hybrid"] for r in rows][::-1]
    err = [[d["mean_difference"] - d["ci_low"] for d in diff], [d["ci_high"] - d["mean_difference"] for d in diff]]
    ax.barh(names, vals, xerr=err, color="#4c72b0", capsize=3)
    ax.axvline(base, color="#c44e52", linestyle="--", label=f"hybrid {base:.3f}")
    ax.set_xlabel(f"nDCG@10 ({LEVEL:.0%} interval of the difference to hybrid)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(paths["plot"], dpi=120)
    plt.close(fig)
    return paths
