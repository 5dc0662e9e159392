"""Qdrant behind one small interface: an embedded Qdrant Edge shard on disk (default) or
qdrant-client against a server/cluster (or qdrant-client's local mode), with one schema:
a named dense vector, a BM25 sparse vector with the IDF modifier, and payload indexes."""

from __future__ import annotations

import abc
import fcntl
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ragate.retrieval.bm25 import SparseVec
from ragate.retrieval.documents import Chunk
from ragate.retrieval.filters import AnyOf, Condition, DateRange, Equals, SearchFilter, conditions

DENSE = "dense"
SPARSE = "bm25"
KEYWORD_FIELDS = ("doc_id", "source", "source_type", "file_hash")
DATETIME_FIELDS = ("updated_at",)
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class StoreError(RuntimeError):
    """A store problem the user can act on (locked, unknown collection, schema mismatch)."""


class UnknownCollection(StoreError):
    pass


@dataclass
class Hit:
    chunk: Chunk
    score: float
    vector: np.ndarray | None = None


@dataclass
class CollectionInfo:
    name: str
    points: int
    meta: dict[str, Any]


def check_collection_name(name: str) -> str:
    if not _COLLECTION_NAME.match(name or ""):
        raise StoreError(f"invalid collection name {name!r}: use 1-64 letters, digits, '_' or '-'")
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
    def _facet(self, key: str) -> list[str]: ...

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def get_vectors(self, ids: list[str]) -> dict[str, np.ndarray]: ...

    @abc.abstractmethod
    def flush(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- shared logic on top of the primitives --

    def sources(self) -> list[str]:
        return self._facet("source")

    def _conds(self, f: SearchFilter | None) -> list[Condition] | Literal["none"]:
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

    def manifest(self) -> dict[str, dict[str, Any]]:
        """source → {doc_id, file_hashes, chunks}: what the index holds per file, for incremental indexing."""
        out: dict[str, dict[str, Any]] = {}
        for _, p in self._scroll(["source", "doc_id", "file_hash"], []):
            e = out.setdefault(p["source"], {"doc_id": p["doc_id"], "file_hashes": set(), "chunks": 0})
            e["file_hashes"].add(p.get("file_hash", ""))
            e["chunks"] += 1
        return out


def _chunk_of(payload: dict[str, Any]) -> Chunk:
    return Chunk.from_payload(payload)


# ----------------------------------------------------------------------------- Qdrant Edge


class EdgeStore(Store):
    """Qdrant's engine in-process on local disk; one shard directory per collection, one writer process."""

    def __init__(self, root: str | os.PathLike[str], name: str, create: dict[str, Any] | None = None):
        import qdrant_edge as qe

        self._qe = qe
        self.name = check_collection_name(name)
        self.dir = Path(root) / name
        self._meta_path = self.dir / "ragate.json"
        exists = self._meta_path.is_file()
        if not exists and create is None:
            raise UnknownCollection(f"unknown collection {name!r}" + _known_hint(list_edge_collections(root)))
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = _acquire_lock(self.dir / "ragate.lock")
        shard_dir = self.dir / "shard"
        try:
            if exists:
                self._meta = json.loads(self._meta_path.read_text())
                self.shard = qe.EdgeShard.load(str(shard_dir))
            else:
                shutil.rmtree(shard_dir, ignore_errors=True)  # a half-created shard from a crash
                self._meta = dict(create)
                cfg = qe.EdgeConfig(
                    vectors={DENSE: qe.EdgeVectorParams(size=int(create["dim"]), distance=qe.Distance.Cosine)},
                    sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
                )
                self.shard = qe.EdgeShard.create(str(shard_dir), cfg)
                for f in KEYWORD_FIELDS:
                    self.shard.update(qe.UpdateOperation.create_field_index(f, qe.PayloadSchemaType.Keyword))
                for f in DATETIME_FIELDS:
                    self.shard.update(qe.UpdateOperation.create_field_index(f, qe.PayloadSchemaType.Datetime))
                self.shard.flush()
                # Written last: a collection exists for readers only once its shard is complete.
                _atomic_write(self._meta_path, json.dumps(self._meta, indent=2))
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def meta(self) -> dict[str, Any]:
        return dict(self._meta)

    def _filter(self, conds: list[Condition]):
        qe = self._qe
        if not conds:
            return None
        must = []
        for c in conds:
            if isinstance(c, AnyOf):
                must.append(qe.FieldCondition(c.key, match=qe.MatchAny(list(c.values))))
            elif isinstance(c, Equals):
                must.append(qe.FieldCondition(c.key, match=qe.MatchValue(c.value)))
            elif isinstance(c, DateRange):
                must.append(qe.FieldCondition(c.key, range=qe.RangeDateTime(gte=c.gte, lte=c.lte)))
        return qe.Filter(must=must)

    def upsert(self, chunks: list[Chunk], dense: np.ndarray, sparse: list[SparseVec]) -> None:
        qe = self._qe
        points = [
            qe.Point(c.chunk_id, {DENSE: d.tolist(), SPARSE: qe.SparseVector(s.indices, s.values)}, c.to_payload())
            for c, d, s in zip(chunks, dense, sparse, strict=True)
        ]
        if points:
            self.shard.update(qe.UpdateOperation.upsert_points(points))

    def delete_ids(self, ids: list[str]) -> None:
        if ids:
            self.shard.update(self._qe.UpdateOperation.delete_points(list(ids)))

    def _delete_conditions(self, conds: list[Condition]) -> None:
        self.shard.update(self._qe.UpdateOperation.delete_points_by_filter(self._filter(conds)))

    def _query(self, using, vector, conds, limit, with_vectors):
        qe = self._qe
        q = qe.SparseVector(vector.indices, vector.values) if isinstance(vector, SparseVec) else vector
        res = self.shard.query(
            qe.QueryRequest(
                limit=limit,
                query=qe.Query.Nearest(q, using=using),
                filter=self._filter(conds),
                with_payload=True,
                with_vector=[DENSE] if with_vectors else False,
            )
        )
        return [Hit(_chunk_of(p.payload), float(p.score), _dense_of(p.vector)) for p in res]

    def _scroll(self, fields, conds):
        qe = self._qe
        out, offset = [], None
        while True:
            recs, offset = self.shard.scroll(
                qe.ScrollRequest(offset=offset, limit=2048, filter=self._filter(conds), with_payload=fields, with_vector=False)
            )
            out.extend((str(r.id), r.payload or {}) for r in recs)
            if offset is None:
                return out

    def _facet(self, key):
        res = self.shard.facet(self._qe.FacetRequest(key=key, limit=1_000_000, exact=True))
        return sorted(str(h.value) for h in res.hits)

    def count(self) -> int:
        return int(self.shard.count(self._qe.CountRequest(exact=True)))

    def get_vectors(self, ids):
        recs = self.shard.retrieve(list(ids), with_payload=False, with_vector=[DENSE])
        return {str(r.id): _dense_of(r.vector) for r in recs}

    def flush(self) -> None:
        self.shard.flush()

    def close(self) -> None:
        if getattr(self, "shard", None) is not None:
            self.shard.flush()
            self.shard.close()
            self.shard = None
        self._release()


def _dense_of(vector: Any) -> np.ndarray | None:
    if isinstance(vector, dict) and DENSE in vector:
        return np.asarray(vector[DENSE], dtype=np.float32)
    return None


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _acquire_lock(path: Path):
    """An exclusive lock per collection directory; the error names the process that holds it."""
    fh = open(path, "a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise StoreError(
            f"index {path.parent} is locked by PID {holder} (another ragate process is using it); "
            "stop that process, query it through its MCP server, or point [qdrant] path elsewhere"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def list_edge_collections(root: str | os.PathLike[str]) -> list[str]:
    r = Path(root)
    return sorted(p.name for p in r.iterdir() if (p / "ragate.json").is_file()) if r.is_dir() else []


def _known_hint(names: list[str]) -> str:
    return f"; known collections: {', '.join(names)}" if names else "; no collections yet (run `ragate index PATH`)"


# ----------------------------------------------------------------------------- qdrant-client


class ClientStore(Store):
    """qdrant-client against a Qdrant server or cluster (url), or its local mode (location=':memory:' / path)."""

    def __init__(self, client, name: str, create: dict[str, Any] | None = None):
        from qdrant_client import models as m

        self._m = m
        self.client = client
        self.name = check_collection_name(name)
        if not client.collection_exists(name):
            if create is None:
                raise UnknownCollection(f"unknown collection {name!r}" + _known_hint(list_client_collections(client)))
            client.create_collection(
                name,
                vectors_config={DENSE: m.VectorParams(size=int(create["dim"]), distance=m.Distance.COSINE)},
                sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
                metadata={"ragate": create},
            )
            for f in KEYWORD_FIELDS:
                client.create_payload_index(name, f, m.PayloadSchemaType.KEYWORD)
            for f in DATETIME_FIELDS:
                client.create_payload_index(name, f, m.PayloadSchemaType.DATETIME)
        md = client.get_collection(name).config.metadata or {}
        self._meta = dict(md.get("ragate", {}))

    def meta(self) -> dict[str, Any]:
        return dict(self._meta)

    def _filter(self, conds):
        m = self._m
        if not conds:
            return None
        must = []
        for c in conds:
            if isinstance(c, AnyOf):
                must.append(m.FieldCondition(key=c.key, match=m.MatchAny(any=list(c.values))))
            elif isinstance(c, Equals):
                must.append(m.FieldCondition(key=c.key, match=m.MatchValue(value=c.value)))
            elif isinstance(c, DateRange):
                must.append(m.FieldCondition(key=c.key, range=m.DatetimeRange(gte=c.gte, lte=c.lte)))
        return m.Filter(must=must)

    def upsert(self, chunks, dense, sparse):
        m = self._m
        points = [
            m.PointStruct(
                id=c.chunk_id,
                vector={DENSE: d.tolist(), SPARSE: m.SparseVector(indices=s.indices, values=s.values)},
                payload=c.to_payload(),
            )
            for c, d, s in zip(chunks, dense, sparse, strict=True)
        ]
        if points:
            self.client.upsert(self.name, points, wait=True)

    def delete_ids(self, ids):
        if ids:
            self.client.delete(self.name, points_selector=self._m.PointIdsList(points=list(ids)), wait=True)

    def _delete_conditions(self, conds):
        self.client.delete(self.name, points_selector=self._m.FilterSelector(filter=self._filter(conds)), wait=True)

    def _query(self, using, vector, conds, limit, with_vectors):
        m = self._m
        q = m.SparseVector(indices=vector.indices, values=vector.values) if isinstance(vector, SparseVec) else vector
        res = self.client.query_points(
            self.name,
            query=q,
            using=using,
            query_filter=self._filter(conds),
            limit=limit,
            with_payload=True,
            with_vectors=[DENSE] if with_vectors else False,
        )
        return [Hit(_chunk_of(p.payload), float(p.score), _dense_of(p.vector)) for p in res.points]

    def _scroll(self, fields, conds):
        out, offset = [], None
        while True:
            recs, offset = self.client.scroll(
                self.name, scroll_filter=self._filter(conds), limit=2048, offset=offset, with_payload=fields, with_vectors=False
            )
            out.extend((str(r.id), r.payload or {}) for r in recs)
            if offset is None:
                return out

    def _facet(self, key):
        res = self.client.facet(self.name, key=key, limit=1_000_000, exact=True)
        return sorted(str(h.value) for h in res.hits)

    def count(self) -> int:
        return int(self.client.count(self.name, exact=True).count)

    def get_vectors(self, ids):
        recs = self.client.retrieve(self.name, ids=list(ids), with_payload=False, with_vectors=[DENSE])
        return {str(r.id): _dense_of(r.vector) for r in recs}

    def flush(self) -> None:
        pass  # the server persists each acknowledged (wait=True) write

    def close(self) -> None:
        pass  # the client is shared by the collections of one backend and closed by it


def list_client_collections(client) -> list[str]:
    return sorted(c.name for c in client.get_collections().collections)
