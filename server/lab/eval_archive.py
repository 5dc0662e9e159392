"""The latest `ragate eval` of each collection, kept in the store's state (`retrieval/state.py`:
beside the embedded index, or in a Qdrant server's `ragate.state` for every replica of a cluster)
so the web page can show it wherever eval wrote its own files: the report and the plots eval drew
(precision/coverage, risk/coverage, the rerankers' leaderboard), one document per collection."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
from pathlib import Path
from typing import Any

from ragate.retrieval.errors import StoreError
from ragate.retrieval.ingest import rfc3339
from ragate.retrieval.state import EVALUATIONS, StateDocs
from ragate.retrieval.store import COLLECTION_NAME

log = logging.getLogger(__name__)
SAFE_NAME = re.compile(COLLECTION_NAME)  # a collection's name, which becomes part of a document's
PLOT = re.compile(r"[A-Za-z0-9_\-.]{1,200}\.png")
PLOTS = ("_precision_coverage.png", "_risk_coverage.png", "_rerankers.png")  # what eval draws, after eval_<dataset>


def _name(collection: str) -> str | None:
    return f"{EVALUATIONS}/{collection}.json" if SAFE_NAME.fullmatch(collection) else None


def keep(docs: StateDocs, *, collection: str, report: dict[str, Any], written_to: Path | None, since: float) -> None:
    """Replace the collection's kept evaluation with `report` and the plots eval wrote for its
    dataset under `written_to` at or after `since` (a plot left there by an earlier run is not this
    one's). The report is the caller's either way: a failure here is logged, not raised."""
    name = _name(collection)
    if name is None:
        return
    try:
        plots = {}
        for suffix in PLOTS if written_to is not None else ():
            png = written_to / f"eval_{report['dataset']}{suffix}"
            if png.is_file() and png.stat().st_mtime >= since - 1:  # file times may be coarser than the clock
                plots[png.name] = base64.b64encode(png.read_bytes()).decode("ascii")
        at = rfc3339(dt.datetime.now(dt.UTC))
        docs.write(name, json.dumps({"collection": collection, "dataset": report["dataset"], "at": at, "plots": plots, "report": report}))
    except (OSError, StoreError) as e:
        log.warning("the evaluation of %s is not kept for the web page: %s", collection, e)


def forget(docs: StateDocs, collection: str) -> None:
    """A dropped collection's kept evaluation gone (a collection made again under its name has none)."""
    name = _name(collection)
    if name is not None:
        docs.remove(name)


def _parse(name: str, text: str | None) -> dict[str, Any] | None:
    try:
        kept = json.loads(text) if text else None
    except ValueError as e:
        log.warning("the kept evaluation %s cannot be read: %s", name, e)
        return None
    return kept if isinstance(kept, dict) else None


def latest(docs: StateDocs) -> list[dict[str, Any]]:
    """Every collection's kept evaluation ({collection, dataset, at, plots (their names), report}), by collection."""
    out = []
    for name, text in docs.documents(EVALUATIONS).items():
        kept = _parse(name, text)
        if kept is not None:
            out.append(kept | {"plots": sorted(kept.get("plots", {}))})
    return out


def plot(docs: StateDocs, collection: str, name: str) -> bytes | None:
    """A kept plot's PNG, or None unless the plot is kept (under that very name) for the collection."""
    doc = _name(collection)
    if doc is None or not PLOT.fullmatch(name):
        return None
    kept = _parse(doc, docs.read(doc))
    encoded = (kept or {}).get("plots", {}).get(name)
    return base64.b64decode(encoded) if isinstance(encoded, str) else None
