"""The collections of one index, as the settings and models in force read them: each one's store
(refused when another embedder wrote it), its BM25 analysis, its languages, its indexer, its
calibrations and the blend weights they set, and when it last changed."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.errors import StoreError
from ragate.retrieval.indexer import Indexer
from ragate.retrieval.ingest import IngestOptions, SourceRule
from ragate.retrieval.qdrant import Qdrant, open_qdrant
from ragate.retrieval.state import CALIBRATION
from ragate.retrieval.store import Store
from ragate.scoring.blend import BlendWeights
from ragate.scoring.profile import Profile, ProfileStore, Source
from ragate.server.config import Settings
from ragate.server.feedback import LOG_NAME, FeedbackLog
from ragate.server.model_loader import Models
from ragate.server.requests import BlendOverrides

LANGUAGES_TTL_S = 30.0


class Catalog:
    """Each collection's store and what is kept beside it, opened once from the settings."""

    def __init__(self, settings: Settings, models: Models, qdrant: Qdrant | None = None):
        self.settings, self.models = settings, models
        q = settings.qdrant
        self.qdrant = qdrant or open_qdrant(q.path, q.url, os.environ.get(q.api_key_env), q.timeout_s)
        a = settings.authority
        self.ingest_options = IngestOptions(
            include=settings.index.include,
            exclude=settings.index.exclude,
            max_file_bytes=int(settings.index.max_file_mb * 1024 * 1024),
            max_chars=settings.index.max_file_chars,
            max_chunks=settings.index.max_chunks_per_file,
            rules=[SourceRule(r.glob, r.source_type, r.weight, r.front_matter) for r in a.rules],
            default_source_type=a.default_source_type,
            default_authority=a.default,
        )
        # Each collection's calibration (relevance, the gate's model, the blend's weights), in the store.
        self.profiles = ProfileStore(self.qdrant.state)
        if q.url:  # profiles this machine kept beside its index before they lived in the server
            self.profiles.adopt_files(Path(q.path) / CALIBRATION)
        # The agents' verdicts, shared like the profiles by every process on this store.
        self.feedback_log = FeedbackLog(self.qdrant.state)
        if q.url:
            self.feedback_log.adopt_file(Path(q.path) / LOG_NAME)
        self._updated_at: dict[str, str | None] = {}
        self._bm25: dict[str, Bm25Encoder] = {}  # by recorded settings
        self._languages: dict[str, tuple[float, dict[str, int]]] = {}  # (when read, chunks per language), per collection

    # ------------------------------------------------------------------ stores

    def _collection_meta(self) -> dict[str, Any]:
        emb = self.models.require_embedder()
        return {
            "dim": emb.dim,
            "embedder": self.settings.embedder.identity,
            "bm25": self.models.bm25.settings_key,
            "chunking": self.models.chunking_key(),
            "records_lang": True,  # chunks carry `lang`, with a keyword index to filter and count by
        }

    def collection(self, name: str | None) -> str:
        return name or self.settings.index.collection

    def targets(self, collection: str | None, collections: list[str] | None = None) -> list[str]:
        """The collections one call reads: those it names, else the one, else [index] collection."""
        return list(dict.fromkeys(collections)) if collections else [self.collection(collection)]

    def store(self, collection: str | None = None, *, create: bool = False) -> Store:
        name = self.collection(collection)
        store = self.qdrant.open(name, create=self._collection_meta() if create else None)
        stored, mine = store.meta(), self.settings.embedder.identity
        if stored.get("embedder") and stored["embedder"] != mine:
            raise StoreError(
                f"collection {name!r} was indexed with embedder {stored['embedder']!r} ({stored.get('dim')} dimensions), "
                f"but the configured one is {mine!r}: its vectors cannot be mixed or searched with those. Set [embedder] "
                "back as it was (provider, model, query_prefix, passage_prefix, input_type), or index into a new collection "
                f"(ragate index PATH -c NEW, or index_paths with another collection), or drop this one "
                f"(ragate delete --drop-collection -c {name}) and index it again"
            )
        return store

    def bm25_of(self, store: Store) -> Bm25Encoder:
        """The BM25 analysis a collection was created with (the [bm25] settings it recorded), so its
        queries and new passages are read as its passages were, whatever [bm25] says today."""
        key = store.meta().get("bm25") or self.models.bm25.settings_key
        if key not in self._bm25:
            self._bm25[key] = Bm25Encoder.from_key(key)
        return self._bm25[key]

    def languages(self, collection: str | None = None) -> dict[str, int]:
        """The collection's chunks per language (empty for an index that did not record them), read
        again after LANGUAGES_TTL_S: another process (a replica, `ragate eval`) may have written."""
        name = self.collection(collection)
        cached = self._languages.get(name)
        if cached is None or time.monotonic() - cached[0] > LANGUAGES_TTL_S:
            cached = self._languages[name] = (time.monotonic(), self.store(name).languages())
        return cached[1]

    def indexer(self, collection: str | None = None) -> Indexer:
        m = self.models
        embedder = m.require_embedder()
        store = self.store(collection, create=True)
        return Indexer(
            store=store,
            embedder=embedder,
            bm25=self.bm25_of(store),
            token_offsets=m.require_token_offsets(),
            chunking=m.chunking(),
            ingest=self.ingest_options,
            batch_chunks=self.settings.index.batch_chunks,
        )

    def index_updated_at(self, collection: str | None = None) -> str | None:
        """When the collection last changed: its last write here, else its files' modification time."""
        name = self.collection(collection)
        if name not in self._updated_at:
            self._updated_at[name] = self.qdrant.last_modified(name)
        return self._updated_at[name]

    def last_updated(self, names: list[str]) -> str | None:
        """When the most recently changed of the collections changed."""
        return max((t for t in (self.index_updated_at(n) for n in names) if t), default=None)

    def changed(self, collection: str | None) -> None:
        """A write to the collection: it changed now, and its languages are read again."""
        self._updated_at[self.collection(collection)] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._languages.pop(self.collection(collection), None)

    def drop(self, collection: str | None) -> str:
        """The collection and its calibrations gone; its name."""
        name = self.collection(collection)
        self.qdrant.drop(name)
        self.profiles.remove(name)
        self._updated_at.pop(name, None)
        self._languages.pop(name, None)
        return name

    # ------------------------------------------------------------------ calibrations and weights

    def fitted_for(self) -> dict[str, str]:
        s = self.settings
        return {"embedder": s.embedder.identity, "reranker": s.reranker.identity, "chunking": self.models.chunking_key()}

    def profile(self, collection: str | None = None) -> Profile:
        """The collection's calibration in force: labelled, else self, else the shipped default, else none."""
        return self.profiles.current(self.collection(collection), **self.fitted_for())

    def profiles_available(self, collection: str | None = None) -> dict[Source, Profile]:
        return self.profiles.available(self.collection(collection), **self.fitted_for())

    def pool_profile(self, names: list[str]) -> tuple[dict[str, Profile], Profile | None, list[str]]:
        """Each collection's calibration, the one that scores and gates a pool drawn from them all,
        and notes when that is not their own or a stored one is set aside. Collections whose
        calibrations score alike share it; otherwise the shipped default, fitted across corpora,
        scores and gates the whole pool; with no default that fits these models, each passage keeps
        its own collection's relevance (None) and the gate abstains. An unknown collection is
        refused before anything is kept for it."""
        for name in names:
            self.store(name)
        reviewed = {name: self.profiles.review(name, **self.fitted_for()) for name in names}  # one read of each
        profiles = {name: next(iter(available.values())) for name, (available, _) in reviewed.items()}
        notes = [
            f"collection {name!r}: its {source} calibration is set aside ({why}); the {profiles[name].source} calibration is in force"
            for name, (_, aside) in reviewed.items()
            for source, why in aside.items()
        ]
        first, *rest = profiles.values()
        if all(_scores_alike(first, p) for p in rest):
            return profiles, first, notes
        default = self.profiles_available(names[0]).get("default")
        if default is not None:
            return (
                profiles,
                default,
                [*notes, "the collections read are calibrated differently: the shipped default calibration scores and gates the pool"],
            )
        return (
            profiles,
            None,
            [
                *notes,
                "the collections read are calibrated differently and no shared calibration fits: each passage's relevance is its own collection's",
            ],
        )

    def set_aside(self, collection: str | None = None) -> dict[Source, str]:
        """The collection's stored calibrations not in force, and why (ProfileStore.set_aside)."""
        return self.profiles.set_aside(self.collection(collection), **self.fitted_for())

    def blend_weights(self, o: BlendOverrides | None = None, *, profile: Profile | None = None) -> BlendWeights:
        """The request's overrides, else the calibration's two fitted weights, else [blend]."""
        b = self.settings.blend
        o = o or BlendOverrides()
        fitted = profile.blend if profile is not None else None
        return BlendWeights(
            relevance=o.relevance if o.relevance is not None else fitted.w_relevance if fitted else b.w_relevance,
            retrieval=o.retrieval if o.retrieval is not None else fitted.w_retrieval if fitted else b.w_retrieval,
            freshness=b.w_freshness if o.freshness is None else o.freshness,
            authority=b.w_authority if o.authority is None else o.authority,
            decay=b.freshness_decay,
            half_life_days=b.half_life_days if o.half_life_days is None else o.half_life_days,
            neutral_freshness=b.neutral_freshness,
            mmr_lambda=b.mmr_lambda if o.mmr_lambda is None else o.mmr_lambda,
            max_chunks_per_doc=b.max_chunks_per_doc if o.max_chunks_per_doc is None else o.max_chunks_per_doc,
        )

    def relevance_weight_reason(self, o: BlendOverrides | None, profile: Profile) -> str:
        """Where the blend's w_relevance in force comes from, and the evidence behind it."""
        if o is not None and o.relevance is not None:
            return "set by this call (weights.relevance)"
        if profile.blend is not None:
            return f"the collection's {profile.source} calibration: {profile.blend.evidence()}"
        return "[blend] w_relevance as configured: no calibration of this collection has weighed the reranker"

    def close(self) -> None:
        self.qdrant.close()


def _scores_alike(a: Profile, b: Profile) -> bool:
    """Two calibrations that turn logits into the same relevance, gate alike and blend alike."""
    return a.relevance == b.relevance and a.answerability == b.answerability and a.blend == b.blend
