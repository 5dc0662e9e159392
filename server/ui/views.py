"""What the pages draw, computed from the use cases' typed responses: each score as a bar with the
words that say what the number means (taken from the response models' own field descriptions, so
the page and the API explain a number alike), the stages' timings, and the gate's evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scipy.special import expit

from ragate.scoring.answerability import FEATURE_MEANINGS
from ragate.server.schemas import AnswerResponse, ScoreBreakdown, SearchResponse, SearchResult

# Scores in [0, 1] by definition: their bar is the value itself. The others (the blended score, a
# weighted sum; logits, BM25, fusion) have no fixed scale: their bar (drawn hollow) places the
# value between the lowest and highest shown, and with nothing to compare it to there is no bar.
ABSOLUTE = {"relevance", "retrieval", "freshness", "authority", "diversity", "dense"}
COLUMNS = ("relevance", "rerank", "first_pass", "dense", "bm25", "fused", "retrieval", "freshness", "authority", "diversity")
# Labels that say a number is a logit, so it is not read as a probability like relevance.
LABELS = {"rerank": "rerank logit", "first_pass": "first-pass logit"}
# Gate features on the log-odds scale; the page shows their probability beside them.
LOGIT_FEATURES = {"top_relevance"}


@dataclass(frozen=True)
class Bar:
    name: str
    value: float | None
    percent: float  # width of the bar, 0..100
    tip: str  # what the number means, and what the bar's length shows
    relative: bool  # the length is a place among these results, not the value
    label: str


def _tip(name: str, absolute: bool) -> str:
    field = ScoreBreakdown.model_fields.get(name) or SearchResult.model_fields[name]
    scale = (
        "bar: the value on 0..1"
        if absolute
        else "hollow bar: where it falls between the lowest and highest in these results (no fixed scale, not a "
        "probability; none when there is nothing to compare)"
    )
    return f"{name}: {field.description}. {scale}"


def score_bars(results: list[SearchResult]) -> list[list[Bar]]:
    """Per result, the final score then each component, as bars (None: the stage did not score it)."""
    table: list[dict[str, float | None]] = [{"score": r.score, **{c: getattr(r.scores, c) for c in COLUMNS}} for r in results]
    names = ["score", *(c for c in COLUMNS if any(row[c] is not None for row in table))]
    spans = {}
    for n in names:
        vals = [v for row in table if (v := row[n]) is not None]
        spans[n] = (min(vals), max(vals)) if vals else (0.0, 0.0)
    out = []
    for row in table:
        bars = []
        for n in names:
            v, (lo, hi) = row[n], spans[n]
            if v is None:
                pct = 0.0
            elif n in ABSOLUTE:
                pct = max(0.0, min(1.0, v)) * 100
            else:
                pct = 0.0 if hi == lo else (v - lo) / (hi - lo) * 100
            bars.append(Bar(n, v, round(pct, 1), _tip(n, n in ABSOLUTE), n not in ABSOLUTE, LABELS.get(n, n)))
        out.append(bars)
    return out


def timings(timings_ms: dict[str, float]) -> dict[str, Any]:
    """The stages as shares of their sum, and the total as the use case measured it."""
    stages = [(k, v) for k, v in timings_ms.items() if k != "total"]
    whole = sum(v for _, v in stages) or 1.0
    return {
        "total": timings_ms.get("total", sum(v for _, v in stages)),
        "stages": [{"name": k, "ms": v, "percent": round(v / whole * 100, 1)} for k, v in stages],
    }


def gate(a: AnswerResponse) -> dict[str, Any]:
    """The decision's evidence: p_answerable against its threshold, the features with their
    contributions drawn as bars either side of zero, the missing terms, the passages."""
    biggest = max([abs(x) for f in a.features for x in (f.on_topic, f.answers) if x is not None] or [1.0]) or 1.0

    def side(x: float | None) -> dict[str, Any] | None:
        return None if x is None else {"value": x, "percent": round(abs(x) / biggest * 50, 1), "negative": x < 0}

    return {
        "p_percent": round(a.p_answerable * 100, 1),
        "threshold_percent": round(a.threshold * 100, 1),
        "features": [
            {
                "name": f.name,
                "value": f.value,
                # A logit beside its probability: "relevance" elsewhere on the page is a probability.
                "probability": float(expit(f.value)) if f.name in LOGIT_FEATURES else None,
                "meaning": FEATURE_MEANINGS.get(f.name, ""),
                "on_topic": side(f.on_topic),
                "answers": side(f.answers),
            }
            for f in a.features
        ],
        "evidence": a.passages if a.status == "answer" else a.nearest,
        "timings": timings(a.timings_ms),
    }


def search(s: SearchResponse) -> dict[str, Any]:
    return {"rows": list(zip(s.results, score_bars(s.results), strict=True)), "timings": timings(s.timings_ms)}


def field_help(model: Any, name: str) -> str:
    """A response field's own description, for the page's labels."""
    f = model.model_fields.get(name)
    return (f.description or "") if f is not None else ""
