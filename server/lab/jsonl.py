"""The JSONL files the offline commands read (labelled pairs, off-topic questions, feedback): one
reader, so each refuses a missing file, a line that is not JSON or a row without its fields alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragate.retrieval.errors import BadInput, NotFound


def read_rows(path: str | Path, fields: set[str]) -> list[dict[str, Any]]:
    """Every non-blank line of `path` as an object holding at least `fields`. Lines are split on
    "\\n" only: JSON text may hold U+2028 and other characters that str.splitlines() splits on."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"no such file: {p}")
    rows = []
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(f"{p}: not UTF-8 text (byte {e.start})") from None
    for i, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInput(f"{p}: line {i} is not JSON ({e.msg})") from None
        if not isinstance(row, dict) or not fields <= set(row):
            *others, last = sorted(fields)
            raise BadInput(f"{p}: line {i} needs {', '.join(others) + ' and ' if others else ''}{last}")
        rows.append(row)
    return rows


def load_queries(path: str) -> dict[str, str]:
    """A JSONL of {_id, text}: questions the corpus cannot answer."""
    return {str(r["_id"]): r["text"] for r in read_rows(path, {"_id", "text"})}
