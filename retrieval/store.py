"""Qdrant behind one small interface, with one schema for every kind of store: a named dense vector, a
BM25 sparse vector with the IDF modifier, and payload indexes. The kinds are `edge_store` (embedded
Qdrant Edge on local disk, the default) and `server_store` (qdrant-client against a server or
cluster, or its local mode)."""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import StringConstraints

from ragate.retrieval.bm25 import SparseVec
from ragate.retrieval.documents import Chunk
from ragate.retrieval.errors import BadInput, StoreError
from ragate.retrieval.filters import AnyOf, Condition, SearchFilter, conditions

DENSE = "dense"
SPARSE = "bm25"
KEYWORD_FIELDS = ("doc_id", "source", "source_type", "file_hash", "lang")
DATETIME_FIELDS = ("updated_at",)
# The one pattern a collection name matches whole: it becomes a folder and file names in the index.
COLLECTION_NAME = r"[A-Za-z0-9_\-]{1,64}"
# For request models (pydantic's patterns are Rust regexes, where `$` is the end of the text).
CollectionName = Annotated[str, StringConstraints(pattern=f"^{COLLECTION_NAME}$")]


@dataclass
class Hit:
    chunk: Chunk
    score: float
    vector: np.ndarray | None = None
    collection: str = ""  # set by recall, which may search several


def check_collection_name(name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(COLLECTION_NAME, name):
        shown = (
            repr(name[:80]) + (f"… ({len(name)} characters)" if len(name) > 80 else "") if isinstance(name, str) else type(name).__name__
        )
        raise StoreError(f"invalid collection name {shown}: use 1-64 letters, digits, '_' or '-'")
    return name


class Store(abc.ABC):
    """One collection. Writes are whole operations: all points of an upsert land together or not at all."""

    name: str

    @abc.abstractmethod
    def meta(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def upsert(self, chunks: list[Chunk], dense: np.ndarray, sparse: list[SparseVec]) -> None: ...

    @abc.abstractmethod
    def delete_ids(self, ids: list[str]) -> None: ...

    @abc.abstractmethod
    def _delete_conditions(self, conds: list[Condition]) -> None: ...

    @abc.abstractmethod
    def _query(self, using: str, vector: Any, conds: list[Condition], limit: int, with_vectors: bool) -> list[Hit]: ...

    @abc.abstractmethod
    def _scroll(self, fields: list[str], conds: list[Condition]) -> list[tuple[str, dict[str, Any]]]: ...

    @abc.abstractmethod
    def _facet(self, key: str) -> dict[str, int]:
        """Each value of a keyword field, with how many points hold it."""

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def get_vectors(self, ids: list[str]) -> dict[str, np.ndarray]: ...

    @abc.abstractmethod
    def flush(self) -> None: ...

    @abc.abstractmethod
    def optimize(self) -> None:
        """Build the search index (HNSW) of what grew past the engine's indexing threshold; until
        then new points are searched by brute force."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- shared logic on top of the primitives --

    def sources(self) -> list[str]:
        return sorted(self._facet("source"))

    def languages(self) -> dict[str, int]:
        """Chunks per language ("" undetected). Empty for an index written before languages were
        recorded, whose store has no index on the field to count by."""
        if not self.meta().get("records_lang"):
            return {}
        return self._facet("lang")

    def _conds(self, f: SearchFilter | None) -> list[Condition] | Literal["none"]:
        if f is not None and f.lang and not self.meta().get("records_lang"):
            # Its passages carry no language: the filter would match nothing, and say nothing.
            raise BadInput(
                f"filters.lang: collection {self.name!r} was indexed before each passage's language was recorded; "
                f"drop it and index it again (ragate delete --drop-collection -c {self.name}) to filter it by language"
            )
        return conditions(f, self.sources)

    def search_dense(self, vector: np.ndarray, f: SearchFilter | None, limit: int, with_vectors: bool = True) -> list[Hit]:
        conds = self._conds(f)
        return [] if conds == "none" else self._query(DENSE, [float(x) for x in vector], conds, limit, with_vectors)

    def search_sparse(self, vector: SparseVec, f: SearchFilter | None, limit: int, with_vectors: bool = True) -> list[Hit]:
        conds = self._conds(f)
        if conds == "none" or not vector.indices:
            return []
        return self._query(SPARSE, vector, conds, limit, with_vectors)

    def delete_where(self, f: SearchFilter) -> int:
        """Delete the chunks the filter matches; returns how many there were."""
        if f.is_empty():
            raise StoreError("refusing to delete with an empty filter; name ids or a filter")
        conds = self._conds(f)
        if conds == "none":
            return 0
        n = len(self._scroll(["doc_id"], conds))
        self._delete_conditions(conds)
        return n

    def delete_documents(self, doc_ids: list[str]) -> None:
        if doc_ids:
            self._delete_conditions([AnyOf("doc_id", tuple(doc_ids))])

    def delete_stale(self, doc_id: str, keep_file_hash: str) -> None:
        """Drop a document's chunks from earlier versions once the new version is written."""
        stale = [pid for pid, p in self._scroll(["file_hash"], [AnyOf("doc_id", (doc_id,))]) if p.get("file_hash") != keep_file_hash]
        if stale:
            self.delete_ids(stale)

    def chunks(self, ids: list[str] | None = None) -> list[Chunk]:
        """The chunks with these ids (all chunks when None), read from their payloads."""
        conds: list[Condition] = [] if ids is None else [AnyOf("chunk_id", tuple(ids))]
        return [Chunk.from_payload(p) for _, p in self._scroll(list(Chunk.model_fields), conds)]

    def document(self, doc_id: str) -> list[Chunk]:
        """A document's chunks, in their order in it."""
        rows = self._scroll(list(Chunk.model_fields), [AnyOf("doc_id", (doc_id,))])
        return sorted((Chunk.from_payload(p) for _, p in rows), key=lambda c: c.chunk_index)

    def documents(self) -> list[dict[str, Any]]:
        """One row per document (doc_id, source, title, chunks, updated_at), ordered by source."""
        out: dict[str, dict[str, Any]] = {}
        for _, p in self._scroll(["source", "doc_id", "title", "updated_at"], []):
            row = out.setdefault(p["doc_id"], {"doc_id": p["doc_id"], "source": p["source"], "title": p.get("title") or "", "chunks": 0})
            row["chunks"] += 1
            row["updated_at"] = p.get("updated_at")
        return sorted(out.values(), key=lambda r: (r["source"], r["doc_id"]))

    def manifest(self) -> dict[str, dict[str, Any]]:
        """source → {doc_id, file_hashes, chunks}: what the index holds per file, for incremental indexing."""
        out: dict[str, dict[str, Any]] = {}
        for _, p in self._scroll(["source", "doc_id", "file_hash"], []):
            e = out.setdefault(p["source"], {"doc_id": p["doc_id"], "file_hashes": set(), "chunks": 0})
            e["file_hashes"].add(p.get("file_hash", ""))
            e["chunks"] += 1
        return out


def chunk_of(payload: dict[str, Any]) -> Chunk:
    return Chunk.from_payload(payload)


def known_hint(names: list[str]) -> str:
    return f"; known collections: {', '.join(names)}" if names else "; no collections yet (run `ragate index PATH`)"


def dense_of(vector: Any) -> np.ndarray | None:
    if isinstance(vector, dict) and DENSE in vector:
        return np.asarray(vector[DENSE], dtype=np.float32)
    return None
