"""The latest `ragate eval` of each collection, kept in the index directory beside the store so the
web page can show it wherever eval wrote its own files: the report as JSON and the plots eval drew
(precision/coverage, risk/coverage, the rerankers' leaderboard), copied, one folder per collection."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

FOLDER = "evaluations"
MANIFEST = "latest.json"
SAFE_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # collection names that may become folder names
PLOT = re.compile(r"[A-Za-z0-9_\-.]{1,200}\.png")


def _folder(index_dir: Path, collection: str) -> Path | None:
    return index_dir / FOLDER / collection if SAFE_NAME.fullmatch(collection) else None


def keep(index_dir: Path, *, collection: str, report: dict[str, Any], written_to: Path | None) -> None:
    """Replace the collection's kept evaluation with `report` and the plots eval wrote for its
    dataset under `written_to`."""
    dest = _folder(index_dir, collection)
    if dest is None:
        return
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    plots = []
    if written_to is not None:
        for png in sorted(written_to.glob(f"eval_{report['dataset']}*.png")):
            shutil.copyfile(png, dest / png.name)
            plots.append(png.name)
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = {"collection": collection, "dataset": report["dataset"], "at": at, "plots": plots, "report": report}
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
