"""BEIR-format datasets (corpus.jsonl, queries.jsonl, qrels/<split>.tsv; gzip accepted) as Documents."""

from __future__ import annotations

import csv
import gzip
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragate.retrieval.documents import Document, Section, content_hash, stable_id
from ragate.retrieval.errors import BadInput, NotFound

SOURCE_PREFIX = "beir:"


def _open(path: Path):
    for p in (path, path.with_name(path.name + ".gz")):
        if p.is_file():
            return gzip.open(p, "rt", encoding="utf-8") if p.suffix == ".gz" else open(p, encoding="utf-8")
    raise NotFound(f"missing {path} (or {path.name}.gz)")


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A dataset file that is not what BEIR's format says (a line not JSON, a score not a number,
    bytes not UTF-8, a missing field) is the caller's to fix: say which file."""
    try:
        yield
    except (ValueError, KeyError, TypeError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadInput(f"{path}: not in BEIR format ({type(e).__name__}: {str(e)[:200]})") from None


@dataclass
class BeirDataset:
    root: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @classmethod
    def load(cls, root: str | Path, split: str = "test") -> BeirDataset:
        root = Path(root)
        with _open(root / "queries.jsonl") as fh, _reading(root / "queries.jsonl"):
            queries = {str(q["_id"]): q["text"] for q in map(json.loads, fh)}
        qrels: dict[str, dict[str, int]] = {}
        with _open(root / "qrels" / f"{split}.tsv") as fh, _reading(root / "qrels" / f"{split}.tsv"):
            reader = csv.reader(fh, delimiter="\t")
            for row in reader:
                if len(row) < 3 or row[0] == "query-id":
                    continue
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
        return cls(root, queries, qrels)

    def documents(self) -> Iterator[Document]:
        with _open(self.root / "corpus.jsonl") as fh, _reading(self.root / "corpus.jsonl"):
            for d in map(json.loads, fh):
                text = d.get("text", "")
                yield Document(
                    doc_id=stable_id("beir", str(d["_id"])),
                    source=SOURCE_PREFIX + str(d["_id"]),
                    title=d.get("title", ""),
                    text=text,
                    sections=[Section(heading_path=[], start=0, end=len(text))],
                    file_hash=content_hash(d.get("title", "") + "\x00" + text),
                )

    def corpus_size(self) -> int:
        with _open(self.root / "corpus.jsonl") as fh:
            return sum(1 for _ in fh)


def beir_collection(dataset_dir: str | Path) -> str:
    """The collection `ragate eval`, `calibrate` and `tune` index a BEIR dataset into (and the benches read)."""
    return f"beir_{Path(dataset_dir).resolve().name}"


def beir_id(source: str) -> str:
    return source[len(SOURCE_PREFIX) :] if source.startswith(SOURCE_PREFIX) else source


def beir_doc(c: Any) -> str:
    """The BEIR document id a candidate or hit came from: the unit BEIR qrels judge."""
    return beir_id(c.chunk.source)


def sample_queries(ds: BeirDataset, max_queries: int | None, seed: int = 13) -> list[str]:
    ids = sorted(q for q in ds.qrels if q in ds.queries)
    if max_queries and max_queries < len(ids):
        ids = sorted(random.Random(seed).sample(ids, max_queries))
    return ids
