"""The server engine: qdrant-client against a Qdrant server or cluster (`[qdrant] url`), or
qdrant-client's local mode, with the same schema as the embedded engine."""

from __future__ import annotations

from typing import Any

from ragate.retrieval.bm25 import SparseVec
from ragate.retrieval.errors import UnknownCollection
from ragate.retrieval.filters import AnyOf, DateRange, Equals
from ragate.retrieval.state import STATE_COLLECTION
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


class ClientStore(Store):
    """qdrant-client against a Qdrant server or cluster (url), or its local mode (location=':memory:' / path)."""

    def __init__(self, client, name: str, create: dict[str, Any] | None = None):
        from qdrant_client import models as m

        self._m = m
        self.client = client
        self.name = check_collection_name(name)
        if not client.collection_exists(name):
            if create is None:
                raise UnknownCollection(f"unknown collection {name!r}" + known_hint(list_client_collections(client)))
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
        return [Hit(chunk_of(p.payload), float(p.score), dense_of(p.vector)) for p in res.points]

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
        return {str(h.value): int(h.count) for h in res.hits}

    def count(self) -> int:
        return int(self.client.count(self.name, exact=True).count)

    def get_vectors(self, ids):
        recs = self.client.retrieve(self.name, ids=list(ids), with_payload=False, with_vectors=[DENSE])
        return {str(r.id): dense_of(r.vector) for r in recs}

    def flush(self) -> None:
        pass  # the server persists each acknowledged (wait=True) write

    def optimize(self) -> None:
        pass  # a server's optimizer builds its indexes in the background

    def close(self) -> None:
        pass  # the client is shared by the collections of one backend and closed by it


def list_client_collections(client) -> list[str]:
    return sorted(c.name for c in client.get_collections().collections if c.name != STATE_COLLECTION)
