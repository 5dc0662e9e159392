"""The answerability gate on SciFact: fitted on train, reported on test.

Fit: SciFact train pools (answerable and near-topic) plus one half of the off-topic questions,
split by query into a half that fits the model and a half that certifies its threshold. Report:
SciFact test pools plus the other off-topic half, which nothing was fitted on. The old top-score
gate, the uncalibrated rule and the model side by side. Pools come from bench.gate_pools' cache
(built on first run). Writes bench/results/gate_eval.json, gate_eval.md and gate_risk_coverage.png."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from bench import gate_pools
from ragate.retrieval.bm25 import Bm25Encoder
from ragate.scoring.answerability import pool_features
from ragate.scoring.risk_control import choose_threshold
from ragate.server.config import Settings
from ragate.server.lab.gate_fit import LabelledPool, fit_gate, labelled_pools, plot_risk_coverage, report, scores, split_groups

OUT = Path(__file__).resolve().parent / "results"
MAX_FALSE_ACCEPT = 0.05
CONFIDENCE = 0.9


def pools_of(split: str, *, offtopic_ids: set[str] | None = None) -> list[LabelledPool]:
    out = []
    for row in gate_pools.load(split):
        if offtopic_ids is not None and row["id"] not in offtopic_ids:
            continue
        relevant = set(row["relevant"]) if row["relevant"] else None
        out += labelled_pools(qid=f"{split}:{row['id']}", query=row["text"], pool=row["pool"], relevant=relevant)
    return out


def feature_percentiles(pools: list[LabelledPool], bm25: Bm25Encoder) -> dict[str, dict[str, list[float]]]:
    """Per kind of pool, the 10th to 90th percentiles of the absolute signals the uncalibrated rule reads."""
    out: dict[str, dict[str, list[float]]] = {}
    for kind in ("answerable", "near_topic", "off_topic"):
        feats = [pool_features(query=p.query, pool=p.pool, bm25=bm25) for p in pools if p.kind == kind]
        out[kind] = {
            f: np.round(np.percentile([x[f] for x in feats], [10, 25, 50, 75, 90]), 3).tolist() for f in ("max_cosine", "coverage")
        }
    return out


def markdown(result: dict) -> str:
    """The side-by-side table for bench/RESULTS.md."""
    lines = [
        "| unanswerable | gate | AUROC | AURC | FA @ configured | FAb @ configured | FA @ guaranteed | FAb @ guaranteed "
        "| FA @ FAb≤0.10 | FA @ FAb≤0.15 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in ("near_topic", "off_topic"):
        for name, j in result["gate"][kind].items():
            if not isinstance(j, dict):
                continue
            conf, guar = j.get("configured", {}), j.get("guaranteed", {})
            cells = [
                kind.replace("_", "-"),
                name,
                f"{j['auroc']:.3f}",
                f"{j['aurc']:.3f}",
                *(f"{g[k]:.3f}" if g else "–" for g in (conf, guar) for k in ("false_accept_rate", "false_abstain_rate")),
                f"{j['at_false_abstain_0.10']['false_accept_rate']:.3f}",
                f"{j['at_false_abstain_0.15']['false_accept_rate']:.3f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    if not all((gate_pools.CACHE / f"{s}.jsonl.gz").is_file() for s in ("train", "test", "offtopic")):
        gate_pools.main()
    b = Settings().bm25
    bm25 = Bm25Encoder(b.k1, b.b, b.avg_len, b.language, b.stemming, b.stopwords, b.tokenizer, b.subwords)
    fit_off, report_off = gate_pools.split_offtopic(list(gate_pools.load_offtopic()))
    train = pools_of("train") + pools_of("offtopic", offtopic_ids=fit_off)
    test = pools_of("test") + pools_of("offtopic", offtopic_ids=report_off)

    model, fitted = fit_gate(train, bm25=bm25, max_false_accept=MAX_FALSE_ACCEPT, confidence=CONFIDENCE)
    # The old gate gets its own certified threshold from the same calibration half, for a fair comparison.
    _, cert_half = split_groups(train)
    cert = scores(cert_half, bm25=bm25, model=None)["top_score"]
    ans = [p.answerable for p in cert_half]
    top_choice = choose_threshold(
        answerable=cert[ans],
        unanswerable=cert[[not a for a in ans]],
        max_false_accept=MAX_FALSE_ACCEPT,
        confidence=CONFIDENCE,
    )
    min_score = Settings().gate.min_score
    thresholds = {
        "top_score": {"configured": min_score, "guaranteed": top_choice.threshold},
        "rule": {"configured": min_score},
        "model": {"configured": 0.5, "guaranteed": float(model.threshold)},
    }
    test_scores = scores(test, bm25=bm25, model=model)
    result = {
        "dataset": "scifact",
        "train_feature_percentiles_10_25_50_75_90": feature_percentiles(train, bm25),
        "candidates": gate_pools.CANDIDATES,
        "train_queries": len({p.group for p in train if p.group.startswith("train:")}),
        "test_queries": len({p.group for p in test if p.group.startswith("test:")}),
        "offtopic_fit": len(fit_off),
        "offtopic_report": len(report_off),
        "fit": fitted,
        "top_score_certified": {
            "threshold": top_choice.threshold,
            "false_accept_bound": round(top_choice.false_accept_bound, 4),
            "false_abstain_rate": round(top_choice.false_abstain_rate, 4),
        },
        "gate": report(test, test_scores, thresholds),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "gate_eval.json").write_text(json.dumps(result, indent=2))
    (OUT / "gate_eval.md").write_text(markdown(result))
    plot_risk_coverage(test, test_scores, OUT / "gate_risk_coverage.png", "SciFact test")
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
