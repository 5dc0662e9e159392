"""What the CLI prints: results as text for people, or one JSON object (--json) on stdout."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from ragate.retrieval.indexer import IndexReport
from ragate.retrieval.ingest import CHOSEN_KINDS, FOLDER_KINDS, SKIP_KINDS, SKIP_LABELS
from ragate.server.schemas import BlendFit, SearchResult


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def terminal_width() -> int:
    return shutil.get_terminal_size((120, 20)).columns


def snippet(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def print_results(results: list[SearchResult], width: int) -> None:
    several = len({r.collection for r in results}) > 1  # then each line names its collection
    for r in results:
        rel = "   -  " if r.scores.relevance is None else f"{r.scores.relevance:5.3f} "
        where = (f"[{r.collection}] " if several else "") + r.source + (" › " + " › ".join(r.heading_path) if r.heading_path else "")
        print(f"{r.rank:>3}  {r.score:6.3f}  rel {rel} {where}")
        print("      " + snippet(r.text, max(40, width - 8)))


def skip_counts(by_kind: dict[str, int], skipped: list[Any] | None = None) -> str:
    """`31 not matched by [index] include (.py 20, no extension 11); 2 unreadable`; with the
    entries at hand, the include globs' misses are broken down by extension."""
    parts = []
    for kind, n in sorted(by_kind.items(), key=lambda kv: SKIP_KINDS.index(kv[0]) if kv[0] in SKIP_KINDS else len(SKIP_KINDS)):
        part = f"{n} {SKIP_LABELS.get(kind, kind)}"
        if kind == "not_included" and skipped:
            exts = Counter(Path(s.path).suffix or "no extension" for s in skipped if s.kind == kind)
            top = sorted(exts.items(), key=lambda ec: (-ec[1], ec[0]))
            part += " (" + ", ".join(f"{e} {c}" for e, c in top[:6]) + (", …" if len(top) > 6 else "") + ")"
        parts.append(part)
    return "; ".join(parts)


def print_index_report(report: IndexReport, verbose: bool, wall_s: float) -> None:
    """The summary, then every file a user may have expected indexed; files and folders the globs
    leave out by choice are counted, and listed with -v. Both times are said: the indexing's, and
    the command's (which includes starting the index service and loading the models)."""
    files_skipped = sum(n for k, n in report.skipped_by_kind.items() if k not in FOLDER_KINDS)
    print(
        f"{report.collection}: {report.files_seen} files seen: {report.documents_indexed} indexed, "
        f"{report.documents_unchanged} unchanged, {files_skipped} not indexed; {report.documents_removed} removed, "
        f"{report.chunks_written} chunks written; indexing took {report.seconds:.1f}s of the command's {max(wall_s, report.seconds):.1f}s"
    )
    if report.stage_seconds:
        other = report.seconds - sum(report.stage_seconds.values())
        stages = [*report.stage_seconds.items(), *([("other", other)] if other >= 0.05 else [])]
        print("  stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in stages))
    if report.skipped_by_kind:
        print(f"  not indexed: {skip_counts(report.skipped_by_kind, report.skipped)}")
    hidden = 0
    for s in report.skipped:
        if verbose or s.kind not in CHOSEN_KINDS:
            print(f"  skipped {s.path}: {s.reason}")
        else:
            hidden += 1
    if hidden:
        print(f"  (--list-skipped also lists the {hidden} files and folders the include/exclude globs left out, or named twice)")


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
