"""Agents' verdicts on the passages they used or discarded, kept append-only beside the index.

Each line is a labelled pair — `{query, text, relevant}` — plus where it came from (chunk id,
collection, note, the reranker that ranked it, time), so the file is itself input for
`ragate calibrate --from-feedback` and `ragate tune --from-feedback` (and `--labels` / `--pairs`).

Lines are written as ASCII JSON (every other character escaped), so no character a query or a
passage holds can split a line, and read by "\n" alone; a line that is not JSON (a hand edit, a
torn write) is skipped and counted, never fatal. The file is owner-only, and when it passes
MAX_BYTES it is rotated to `feedback.jsonl.1` (one generation kept)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "feedback.jsonl"
MAX_BYTES = 64 * 1024 * 1024  # about 100,000 verdicts with their passages


def feedback_path(index_dir: str | Path) -> Path:
    return Path(index_dir) / FILE_NAME


def parse_lines(data: str) -> tuple[list[dict[str, Any]], int]:
    """The verdicts in a feedback file's text, and how many lines could not be read."""
    rows, bad = [], 0
    for line in data.split("\n"):
        if not line.strip():
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
    """One index's feedback file: lines are appended whole and never rewritten. Its counts are read
    once and kept up to date by appends (read again only if the file changed under us)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._counts: dict[str, int] | None = None
        self._seen: tuple[int, int] | None = None  # (size, mtime_ns) the counts were taken at

    def append(self, *, query: str, text: str, relevant: bool, chunk_id: str, collection: str, note: str | None, reranker: str) -> int:
        """Store one verdict durably; returns how many the file now holds."""
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
        line = (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")
        with self._lock:
            counts = self._current()
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size + len(line) > MAX_BYTES:
                os.replace(self.path, self.path.with_name(FILE_NAME + ".1"))
                counts = {"entries": 0, "useful": 0, "unreadable_lines": 0}
                log.warning("feedback: %s passed %d bytes; the old verdicts are in %s.1", self.path, MAX_BYTES, FILE_NAME)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            counts = {**counts, "entries": counts["entries"] + 1, "useful": counts["useful"] + int(relevant)}
            self._remember(counts)
            return counts["entries"]

    def counts(self) -> dict[str, int]:
        """Verdicts stored, how many said useful, and lines that could not be read."""
        with self._lock:
            return dict(self._current())

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return parse_lines(self.path.read_text(encoding="utf-8", errors="replace"))[0]

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime_ns

    def _current(self) -> dict[str, int]:
        if self._counts is None or self._stamp() != self._seen:
            rows, bad = parse_lines(self.path.read_text(encoding="utf-8", errors="replace")) if self.path.exists() else ([], 0)
            self._counts = {"entries": len(rows), "useful": sum(1 for r in rows if r.get("relevant") is True), "unreadable_lines": bad}
            self._seen = self._stamp()
            if bad:
                log.warning("feedback: %d unreadable lines in %s were skipped", bad, self.path)
        return self._counts

    def _remember(self, counts: dict[str, int]) -> None:
        self._counts, self._seen = counts, self._stamp()
