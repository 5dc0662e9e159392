"""The latest `ragate eval` of each collection, kept in the index directory beside the store so the
web page can show it wherever eval wrote its own files: the report as JSON and the plots eval drew
(precision/coverage, risk/coverage, the rerankers' leaderboard), copied, one folder per collection."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from ragate.retrieval.ingest import rfc3339
from ragate.retrieval.store import COLLECTION_NAME

log = logging.getLogger(__name__)
FOLDER = "evaluations"
MANIFEST = "latest.json"
SAFE_NAME = re.compile(COLLECTION_NAME)  # collection names that may become folder names
PLOT = re.compile(r"[A-Za-z0-9_\-.]{1,200}\.png")
PLOTS = ("_precision_coverage.png", "_risk_coverage.png", "_rerankers.png")  # what eval draws, after eval_<dataset>


def _folder(index_dir: Path, collection: str) -> Path | None:
    return index_dir / FOLDER / collection if SAFE_NAME.fullmatch(collection) else None


def keep(index_dir: Path, *, collection: str, report: dict[str, Any], written_to: Path | None, since: float) -> None:
    """Replace the collection's kept evaluation with `report` and the plots eval wrote for its
    dataset under `written_to` at or after `since` (a plot left there by an earlier run is not this
    one's). The report is the caller's either way: a failure here is logged, not raised."""
    dest = _folder(index_dir, collection)
    if dest is None:
        return
    try:
        _keep(dest, collection, report, written_to, since)
    except OSError as e:
        log.warning("the evaluation of %s is not kept for the web page: %s", collection, e)


def _keep(dest: Path, collection: str, report: dict[str, Any], written_to: Path | None, since: float) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    plots = []
    for suffix in PLOTS if written_to is not None else ():
        png = written_to / f"eval_{report['dataset']}{suffix}"
        if png.is_file() and png.stat().st_mtime >= since - 1:  # file times may be coarser than the clock
            shutil.copyfile(png, dest / png.name)
            plots.append(png.name)
    manifest = {
        "collection": collection,
        "dataset": report["dataset"],
        "at": rfc3339(dt.datetime.now(dt.UTC)),
        "plots": plots,
        "report": report,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))


def latest(index_dir: Path) -> list[dict[str, Any]]:
    """Every collection's kept evaluation ({collection, dataset, at, plots, report}), by collection."""
    out = []
    for manifest in sorted((index_dir / FOLDER).glob(f"*/{MANIFEST}")):
        try:
            out.append(json.loads(manifest.read_text()))
        except (OSError, ValueError):
            continue  # half-written by an eval running now: shown once it is whole
    return out


def plot(index_dir: Path, collection: str, name: str) -> Path | None:
    """A kept plot's file, or None unless both names are safe and the plot exists."""
    folder = _folder(index_dir, collection)
    if folder is None or not PLOT.fullmatch(name) or ".." in name:
        return None
    path = folder / name
    return path if path.is_file() else None
