"""What the CLI prints: results as text for people, or one JSON object (--json) on stdout."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from typing import Any

from ragate.server.schemas import BlendFit, SearchResult


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def terminal_width() -> int:
    return shutil.get_terminal_size((120, 20)).columns


def snippet(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def print_results(results: list[SearchResult], width: int) -> None:
    for r in results:
        rel = "   -  " if r.scores.relevance is None else f"{r.scores.relevance:5.3f} "
        where = r.source + (" › " + " › ".join(r.heading_path) if r.heading_path else "")
        print(f"{r.rank:>3}  {r.score:6.3f}  rel {rel} {where}")
        print("      " + snippet(r.text, max(40, width - 8)))


def print_timings(timings: dict[str, float], notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print("\n" + "  ".join(f"{k} {v:.0f}ms" for k, v in timings.items()), file=sys.stderr)


def print_blend_fit(fit: BlendFit) -> None:
    """The grid as a table of mean nDCG@10 (rows w_relevance, columns w_retrieval), then the choice."""
    cells = {(g.w_relevance, g.w_retrieval): g.ndcg for g in fit.grid}
    retrieval = sorted({wt for _, wt in cells})
    print(f"blend: mean nDCG@10 over {fit.queries} labelled queries, {fit.candidates} candidates each")
    print("  w_relevance \\ w_retrieval " + "".join(f"{wt:>8g}" for wt in retrieval))
    for wr in sorted({wr for wr, _ in cells}):
        print(f"  {wr:<26g}" + "".join(f"{cells[(wr, wt)]:>8.4f}" for wt in retrieval))
    c, b = fit.configured, fit.chosen
    print(f"  configured w_relevance {c.w_relevance:g}, w_retrieval {c.w_retrieval:g}: {c.ndcg:.4f}")
    print(f"  chosen     w_relevance {b.w_relevance:g}, w_retrieval {b.w_retrieval:g}: {b.ndcg:.4f}")
    g = fit.reranker_gain
    print(
        f"  reranking against hybrid alone: {g['mean_difference']:+.4f} (95% interval {g['ci_low']:+.4f} to {g['ci_high']:+.4f}): {g['verdict']}"
    )


def self_calibration_lines(stats: dict[str, Any], collection: str) -> list[str]:
    """What the index service's background self-calibration is doing or did to a collection, in words."""
    auto = (stats.get("service") or {}).get("self_calibration") or {}
    if auto.get("running") == collection:
        return ["self-calibration: running now in the background"]
    state = (auto.get("collections") or {}).get(collection)
    if not state or state.get("status") != "failed":
        return []
    return [
        f"WARNING self-calibration failed at {state['at']} ({state.get('failures', 1)} in a row): {state['error']}",
        f"  retried after {state.get('retry_at_utc', 'the next change')}; run it now: ragate calibrate --self -c {collection}",
    ]
