"""Agents' verdicts on the passages they used or discarded, kept append-only in the store's state
(`retrieval/state.py`): a file beside the embedded index, or a log in the Qdrant server's
`ragate.state` collection, which every replica of one cluster appends to and reads.

Each line is a labelled pair — `{query, text, relevant}` — plus where it came from (chunk id,
collection, note, the reranker that ranked it, time), so the log is itself input for
`ragate calibrate --from-feedback` and `ragate tune --from-feedback`.

Lines are written as ASCII JSON (every other character escaped), so no character a query or a
passage holds can split a line; a line that is not JSON (a hand edit, a torn write) is skipped and
counted, never fatal. The embedded store's file is owner-only and rotated past
`state.MAX_LOG_BYTES` (one generation kept)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from ragate.retrieval.errors import StoreError
from ragate.retrieval.qdrant import open_qdrant
from ragate.retrieval.state import StateDocs
from ragate.server.config import Settings

log = logging.getLogger(__name__)

LOG_NAME = "feedback.jsonl"


def parse_lines(lines: list[str]) -> tuple[list[dict[str, Any]], int]:
    """The verdicts among a log's lines, and how many lines could not be read."""
    rows, bad = [], 0
    for line in lines:
        if "\ufffd" in line:  # bytes that were not UTF-8: lines are written as ASCII, so not one of ours
            bad += 1
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad += 1
    return rows, bad


class FeedbackLog:
    """One store's feedback: lines are appended whole and never rewritten. Its counts are read once
    and kept up to date by this process's appends (read again when the log may have changed under
    us: another replica's appends show within the store's reload interval)."""

    def __init__(self, docs: StateDocs):
        self.docs = docs
        self.location = docs.where(LOG_NAME)
        self._lock = threading.Lock()
        self._counts: dict[str, int] | None = None
        self._seen: Hashable = None  # the log's stamp the counts were taken at

    def append(self, *, query: str, text: str, relevant: bool, chunk_id: str, collection: str, note: str | None, reranker: str) -> int:
        """Store one verdict durably; returns how many the log now holds."""
        record: dict[str, Any] = {
            "query": query,
            "text": text,
            "relevant": relevant,
            "chunk_id": chunk_id,
            "collection": collection,
            "note": note,
            "reranker": reranker,
            "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        with self._lock:
            counts = self._current()
            if self.docs.append(LOG_NAME, json.dumps(record, ensure_ascii=True)):  # the older verdicts were set aside
                counts = {"entries": 0, "useful": 0, "unreadable_lines": 0}
            counts = {**counts, "entries": counts["entries"] + 1, "useful": counts["useful"] + int(relevant)}
            self._counts, self._seen = counts, self.docs.log_stamp(LOG_NAME)
            return counts["entries"]

    def counts(self) -> dict[str, int]:
        """Verdicts stored, how many said useful, and lines that could not be read."""
        with self._lock:
            return dict(self._current())

    def adopt_file(self, path: Path) -> None:
        """Verdicts this machine kept in a file before they lived in the store (a Qdrant server):
        those the store's log does not hold yet are copied in (each machine's file, and the rest of
        a copy cut short, alike), with a warning saying how many."""
        if not path.is_file():
            return
        try:
            held = set(self.docs.lines(LOG_NAME))
            lines = [line for line in path.read_bytes().decode("utf-8", errors="replace").split("\n") if line.strip() and line not in held]
            if lines:
                self.docs.append(LOG_NAME, *lines)
        except (OSError, StoreError) as e:
            log.warning("feedback kept in %s not copied into the store: %s", path, e)
            return
        if lines:
            log.warning("feedback: %d verdicts kept in %s are now in %s; that file is no longer read", len(lines), path, self.location)

    def rows(self) -> list[dict[str, Any]]:
        return parse_lines(self.docs.lines(LOG_NAME))[0]

    def _current(self) -> dict[str, int]:
        stamp = self.docs.log_stamp(LOG_NAME)
        if self._counts is None or stamp != self._seen:
            rows, bad = parse_lines(self.docs.lines(LOG_NAME))
            self._counts = {"entries": len(rows), "useful": sum(1 for r in rows if r.get("relevant") is True), "unreadable_lines": bad}
            self._seen = stamp
            if bad:
                log.warning("feedback: %d unreadable lines in %s were skipped", bad, self.location)
        return self._counts


def stored_rows(settings: Settings) -> tuple[list[dict[str, Any]], str]:
    """The verdicts kept in the store `settings` name, read from this process (a command that runs
    beside the index service, as `ragate tune` does), and where they are kept."""
    q = settings.qdrant
    store = open_qdrant(q.path, q.url, os.environ.get(q.api_key_env), q.timeout_s)
    try:
        kept = FeedbackLog(store.state)
        return kept.rows(), kept.location
    finally:
        store.close()
