"""The embedded engine: Qdrant Edge in-process on local disk, one shard directory per collection,
and the per-collection lock that keeps it to one writer process."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ragate.retrieval.bm25 import SparseVec
from ragate.retrieval.documents import Chunk
from ragate.retrieval.errors import StoreError, UnknownCollection
from ragate.retrieval.filters import AnyOf, Condition, DateRange, Equals
from ragate.retrieval.store import (
    DATETIME_FIELDS,
    DENSE,
    KEYWORD_FIELDS,
    SPARSE,
    Hit,
    Store,
    check_collection_name,
    chunk_of,
    dense_of,
    known_hint,
)

# The HNSW graph's search breadth, chosen from bench/scale.py's curve (bench/RESULTS.md, AMD EPYC,
# 2 cores): Qdrant's default returned 0.76-0.95 of the exact top 100 at 10k-1M chunks; 512 returns
# 0.98-1.00 for under 2 ms.
HNSW_EF = 512


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
            raise UnknownCollection(f"unknown collection {name!r}" + known_hint(list_edge_collections(root)))
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = acquire_lock(self.dir / "ragate.lock")
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
                params=qe.SearchParams(hnsw_ef=HNSW_EF) if using == DENSE else None,
            )
        )
        return [Hit(chunk_of(p.payload), float(p.score), dense_of(p.vector)) for p in res]

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
        return {str(h.value): int(h.count) for h in res.hits}

    def count(self) -> int:
        return int(self.shard.count(self._qe.CountRequest(exact=True)))

    def get_vectors(self, ids):
        recs = self.shard.retrieve(list(ids), with_payload=False, with_vector=[DENSE])
        return {str(r.id): dense_of(r.vector) for r in recs}

    def flush(self) -> None:
        self.shard.flush()

    def optimize(self) -> None:
        # Qdrant Edge has no background optimizer: without this call every segment stays a plain
        # one, scanned exactly however large (56 ms at 1M chunks against 9 ms with HNSW; segments
        # under Qdrant's indexing threshold, 10 MB of vectors, stay exact scans).
        self.shard.optimize()

    def close(self) -> None:
        if getattr(self, "shard", None) is not None:
            self.shard.flush()
            self.shard.close()
            self.shard = None
        self._release()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def acquire_lock(path: Path):
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
