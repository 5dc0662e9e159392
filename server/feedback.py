"""Agents' verdicts on the passages they used or discarded, kept append-only beside the index.

Each line is a labelled pair — `{query, text, relevant}` — plus where it came from (chunk id,
collection, note, the reranker that ranked it, time), so the file is itself input for
`ragate calibrate --from-feedback` and `ragate tune --from-feedback` (and `--labels` / `--pairs`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

FILE_NAME = "feedback.jsonl"


def feedback_path(index_dir: str | Path) -> Path:
    return Path(index_dir) / FILE_NAME


class FeedbackLog:
    """One index's feedback file: lines are appended whole and never rewritten."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

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
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
            return self.counts()["entries"]

    def counts(self) -> dict[str, int]:
        rows = self.rows()
        return {"entries": len(rows), "useful": sum(1 for r in rows if r.get("relevant"))}

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
