"""The stages of one index, built once from the settings: its stores and indexer, recall (dense and
BM25 in Qdrant), fusion, the rerank stage with its calibration, the blend, and `rank`, which takes
one query through them in that order, timing each. The use cases (pipeline.py) build on it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.errors import ModelUnavailable, StoreError
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.fusion import FusionMethod, fuse
from ragate.retrieval.indexer import Indexer
from ragate.retrieval.ingest import IngestOptions, SourceRule
from ragate.retrieval.language import reading_languages
from ragate.retrieval.passage_quality import flag_for_query
from ragate.retrieval.qdrant import Qdrant, open_qdrant
from ragate.retrieval.store import Hit, Store
from ragate.scoring.blend import Blended, BlendWeights, blend_pool
from ragate.scoring.profile import Profile, ProfileStore, Source
from ragate.scoring.rerank_stage import RerankPolicy, RerankStage, rerank
from ragate.server.config import Settings
from ragate.server.languages import LanguagePolicy
from ragate.server.model_loader import Models
from ragate.server.packing import pack
from ragate.server.requests import (
    AnswerRequest,
    BlendOverrides,
    SearchRequest,
)
from ragate.server.schemas import (
    SearchResult,
)
from ragate.server.timing import Timer

# The dense channel's weight, as a share of [retrieval] dense_weight, for a query the embedder does
# not read: with RRF its largest term (0.01 w / (k + 1)) stays below BM25's smallest (w / (k + 100)),
# so it only orders what BM25 leaves tied or does not find.
DENSE_TIE_BREAK = 0.01
LANGUAGES_TTL_S = 30.0


@dataclasses.dataclass
class Ranked:
    """A query's candidates after blending (best first), with what the stages did."""

    candidates: list[Candidate]
    pool: int
    stage: RerankStage | None
    notes: list[str]
    timer: Timer
    profiles: dict[str, Profile]  # each collection read, with its calibration in force
    profile: Profile | None  # the one that scored and gates the pool; None: each passage its own collection's
    query_language: str = ""  # ISO 639-1, "" when it could not be told

    def calibration(self) -> dict[str, str]:
        """What a response says of the calibration in force (schemas.CalibrationSource)."""
        p = self.profile
        if p is not None:
            return {"calibration": p.source, "calibration_fitted_on": p.fitted_on, "relevance_fitted_on": p.relevance_meaning()}
        each = "; ".join(f"{name}: {p.source}, {p.relevance_meaning()}" for name, p in self.profiles.items())
        return {"calibration": "mixed", "calibration_fitted_on": "", "relevance_fitted_on": f"each passage's collection's own: {each}"}


class Stages:
    """Each stage built once from the settings, and the order one query takes through them."""

    def __init__(self, settings: Settings, models: Models | None = None, qdrant: Qdrant | None = None):
        self.settings = settings
        self.limits = settings.server
        self.models = models or Models(settings)
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
        r, rr = settings.retrieval, settings.reranker
        self.rerank_policy = RerankPolicy(
            skip_margin=r.skip_rerank_margin,
            budget_ms=rr.budget_ms,
            min_budget_pairs=rr.min_budget_pairs,
            depth=rr.depth,
            depth_head=rr.depth_head,
            depth_step=rr.depth_step,
            depth_settle=rr.depth_settle,
        )
        # Each collection's calibration (relevance, the gate's model, the blend's weights), in the store.
        self.profiles = ProfileStore(self.qdrant.state)
        if q.url:  # profiles this machine kept beside its index before they lived in the server
            self.profiles.adopt_files(Path(q.path) / "calibration")
        self._updated_at: dict[str, str | None] = {}
        self._bm25: dict[str, Bm25Encoder] = {}  # by recorded settings
        self._languages: dict[str, tuple[float, dict[str, int]]] = {}  # (when read, chunks per language), per collection
        self.language = LanguagePolicy(settings, lambda: self.models.reranker is not None, self.languages)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the models are loaded (or failed to); False on timeout."""
        return self.models.wait(timeout)

    # ------------------------------------------------------------------ stores and stage settings

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

    def pool_profile(self, names: list[str]) -> tuple[dict[str, Profile], Profile | None, str]:
        """Each collection's calibration, the one that scores and gates a pool drawn from them all,
        and a note when that is not their own. Collections whose calibrations score alike share it;
        otherwise the shipped default, fitted across corpora, scores and gates the whole pool; with
        no default that fits these models, each passage keeps its own collection's relevance (None)
        and the gate abstains. An unknown collection is refused before anything is kept for it."""
        for name in names:
            self.store(name)
        profiles = {name: self.profile(name) for name in names}
        first, *rest = profiles.values()
        if all(_scores_alike(first, p) for p in rest):
            return profiles, first, ""
        default = self.profiles_available(names[0]).get("default")
        if default is not None:
            return (
                profiles,
                default,
                "the collections read are calibrated differently: the shipped default calibration scores and gates the pool",
            )
        return (
            profiles,
            None,
            "the collections read are calibrated differently and no shared calibration fits: each passage's relevance is its own collection's",
        )

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

    def fitted_for(self) -> dict[str, str]:
        s = self.settings
        return {"embedder": s.embedder.identity, "reranker": s.reranker.identity, "chunking": self.models.chunking_key()}

    def profile(self, collection: str | None = None) -> Profile:
        """The collection's calibration in force: labelled, else self, else the shipped default, else none."""
        return self.profiles.current(self.collection(collection), **self.fitted_for())

    def profiles_available(self, collection: str | None = None) -> dict[Source, Profile]:
        return self.profiles.available(self.collection(collection), **self.fitted_for())

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

    def weights_for(
        self, query_language: str, pool: list[Candidate], o: BlendOverrides | None, profile: Profile | None
    ) -> tuple[BlendWeights, str, bool]:
        """One query's blend weights, why relevance weighs what it does, and whether that is because
        the reranker cannot read the query or most of its pool (relevance then weighs nothing,
        unless the call set it)."""
        w = self.blend_weights(o, profile=profile)
        if (o is None or o.relevance is None) and (unread_why := self.language.reranker_unread(query_language, pool)):
            return dataclasses.replace(w, relevance=0.0), unread_why, True
        why = self.relevance_weight_reason(o, profile) if profile is not None else "[blend] w_relevance: the calibrations differ"
        return w, why, False

    def relevance_weight_reason(self, o: BlendOverrides | None, profile: Profile) -> str:
        """Where the blend's w_relevance in force comes from, and the evidence behind it."""
        if o is not None and o.relevance is not None:
            return "set by this call (weights.relevance)"
        if profile.blend is not None:
            return f"the collection's {profile.source} calibration: {profile.blend.evidence()}"
        return "[blend] w_relevance as configured: no calibration of this collection has weighed the reranker"

    def index_updated_at(self, collection: str | None = None) -> str | None:
        """When the collection last changed: its last write here, else its files' modification time."""
        name = self.collection(collection)
        if name not in self._updated_at:
            self._updated_at[name] = self.qdrant.last_modified(name)
        return self._updated_at[name]

    def _changed(self, collection: str | None) -> None:
        self._updated_at[self.collection(collection)] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._languages.pop(self.collection(collection), None)

    # ------------------------------------------------------------------ stages

    def recall(
        self,
        query: str,
        *,
        filters: SearchFilter | None,
        n: int,
        collection: str | None,
        timer: Timer,
        collections: list[str] | None = None,
    ) -> tuple[list[Hit], list[Hit]]:
        """The recall stage's two channels: dense and BM25 top-n, each searched inside Qdrant, in
        each collection read. Across collections, dense hits merge by cosine (one embedder wrote
        them all, so cosines compare) and BM25 hits by their rank in their own collection (each has
        its own term statistics, so its scores do not compare)."""
        stores = [(name, self.store(name)) for name in self.targets(collection, collections)]
        with timer.stage("embed"):
            qv = self.models.require_embedder().encode([query], kind="query")[0]
        dense: list[Hit] = []
        sparse: list[list[Hit]] = []
        for name, store in stores:
            with timer.stage("dense"):
                found = store.search_dense(qv, filters, n)
            with timer.stage("bm25"):
                sv = self.bm25_of(store).encode_query(query, reading_languages(self.languages(name)))
                lexical = store.search_sparse(sv, filters, n)
            for h in (*found, *lexical):
                h.collection = name
            dense += found
            sparse.append(lexical)
        dense.sort(key=lambda h: -h.score)  # stable: one collection keeps its own order
        by_rank = sorted(((rank, i, h) for i, hits in enumerate(sparse) for rank, h in enumerate(hits)), key=lambda t: t[:2])
        return dense[:n], [h for _, _, h in by_rank][:n]

    def fuse(
        self,
        query: str,
        dense: list[Hit],
        sparse: list[Hit],
        *,
        n: int,
        fusion: FusionMethod | None,
        timer: Timer,
        query_language: str | None = None,
    ) -> list[Candidate]:
        """One pool from the two channels. A query in a language the embedder does not read (placed
        among the collections' languages when not given) gets from the dense channel only the order
        of what BM25 leaves tied or unfound; its cosines stay on the candidates, as evidence the gate
        weighs. On translated man pages the English bi-encoder's ranking of German, French, Japanese
        and Chinese queries pulled hybrid 0.04-0.22 nDCG@10 below BM25 alone (bench/RESULTS.md)."""
        r = self.settings.retrieval
        if query_language is None:
            query_language = self.language.of_query(query, list(dict.fromkeys(h.collection for h in (*dense, *sparse))))
        unread = "embedder" in self.language.unread_query(query_language)
        dense_weight = r.dense_weight * DENSE_TIE_BREAK if unread else r.dense_weight
        with timer.stage("fuse"):
            return fuse(
                dense, sparse, method=fusion or r.fusion, rrf_k=r.rrf_k, dense_weight=dense_weight, bm25_weight=r.bm25_weight, limit=n
            )

    def rerank_pool(
        self, query: str, cands: list[Candidate], *, profile: Profile, timer: Timer, budget_ms: float | None = None, top_k: int = 0
    ) -> RerankStage | None:
        """The precision stage over the pool, calibrated by the profile; None when no reranker is available."""
        reranker = self.models.reranker
        if reranker is None:
            return None
        with timer.stage("rerank"):
            return rerank(
                query,
                cands,
                reranker=reranker,
                calibrator=profile.calibrator(),
                policy=self.rerank_policy,
                budget_ms=budget_ms,
                first_pass=self.models.first_pass,
                top_k=top_k,
            )

    def rank(
        self,
        query: str,
        *,
        filters: SearchFilter | None = None,
        rerank: bool = True,
        candidates: int | None = None,
        top_k: int = 1,
        collection: str | None = None,
        fusion: FusionMethod | None = None,
        weights: BlendOverrides | None = None,
        budget_ms: float | None = None,
        degrade: bool = True,
        need_relevance: bool = False,
        collections: list[str] | None = None,
    ) -> Ranked:
        """retrieve → fuse → rerank → blend for one query, over one collection or several as one
        pool (pool_profile says which calibration scores it). A remote reranker that fails leaves
        the pool in fused order with a note (`degrade`), or raises, for fits that must not learn
        from unreranked pools. When relevance has no weight in the blend (a calibration found hybrid
        ranks the collection better), the reranker is not run unless the caller needs relevance
        (the gate)."""
        timer = Timer()
        n = max(candidates or self.settings.retrieval.candidates, top_k)
        names = self.targets(collection, collections)
        profiles, profile, note = self.pool_profile(names)
        dense, sparse = self.recall(query, filters=filters, n=n, collection=collection, collections=names, timer=timer)
        query_language = self.language.of_query(query, names)
        cands = self.fuse(query, dense, sparse, n=n, fusion=fusion, timer=timer, query_language=query_language)
        notes: list[str] = [note] if note else []
        stage = None
        w, why, unread_language = self.weights_for(query_language, cands, weights, profile)
        check_deadline("retrieval")
        if rerank and cands and w.relevance == 0 and not need_relevance:
            notes.append(f"not reranked, relevance has weight 0 here: {why}")
            rerank = False
        elif unread_language and "reranker" not in self.language.unread_query(query_language):  # the query's case has its own note
            notes.append(f"relevance has weight 0 in the blend here: {why}")
        if rerank and cands:
            failed = ""
            try:
                stage = self.rerank_pool(query, cands, profile=profile or profiles[names[0]], timer=timer, budget_ms=budget_ms, top_k=top_k)
                if profile is None:
                    _relevance_by_collection(cands, profiles)
            except ModelUnavailable as e:  # a remote reranker failed: the answer degrades as without one
                if not degrade:
                    raise
                for c in cands:
                    c.rerank = c.relevance = c.first_pass = None
                failed = str(e)
            if stage is None:
                notes.append(f"not reranked: {failed or self.models.reranker_error}")
            elif stage.cut_short:
                notes.append(
                    f"reranked the top {stage.pairs} of {len(cands)} candidates ({stage.limited_by}); the rest follow in fused order"
                )
            if stage is not None:
                stage.weight, stage.weight_reason = w.relevance, why
        with timer.stage("blend"):
            trust = self.settings.trust
            flag_for_query(query, cands, trusted=trust.trusted, untrusted=trust.untrusted)
            blended = blend_pool(cands, w)
        notes += _blend_notes(blended, w, top_k)
        flagged = [c for c in blended.ranked[:top_k] if c.flags]
        if flagged:
            kinds = ", ".join(sorted({f for c in flagged for f in c.flags}))
            notes.append(
                f"{len(flagged)} of the top {top_k} passages carry flags ({kinds}): each is demoted by "
                "w_relevance + w_retrieval, and none is evidence for answer_or_abstain"
            )
        notes += self.language.notes(query_language, blended.ranked[:top_k], relevance_set_aside=unread_language)
        return Ranked(blended.ranked, len(cands), stage, notes, timer, profiles, profile, query_language)

    def _tokens(self, text: str) -> int:
        offsets = self.models.token_offsets
        return len(offsets(text)) if offsets else len(text.split())

    def _fit(self, results: list[SearchResult], req: SearchRequest | AnswerRequest) -> tuple[list[SearchResult], int]:
        """Whole passages in rank order within the response's token budget: the request's, else its
        client's [server] max_tokens."""
        budget = req.limits_or(self.limits).max_tokens if req.max_tokens is None else req.max_tokens
        return pack(results, _returned_text, self._tokens, budget)

    def close(self) -> None:
        self.qdrant.close()


def _scores_alike(a: Profile, b: Profile) -> bool:
    """Two calibrations that turn logits into the same relevance, gate alike and blend alike."""
    return a.relevance == b.relevance and a.answerability == b.answerability and a.blend == b.blend


def _relevance_by_collection(cands: list[Candidate], profiles: dict[str, Profile]) -> None:
    """Each reranked candidate's relevance by its own collection's calibration."""
    for name, profile in profiles.items():
        mine = [c for c in cands if c.collection == name and c.rerank is not None]
        if mine:
            for c, p in zip(mine, profile.calibrator()(np.array([c.rerank for c in mine])), strict=True):
                c.relevance = float(p)


def _blend_notes(blended: Blended, w: BlendWeights, top_k: int) -> list[str]:
    """What the per-document cap and diversity did to the best top_k, in words."""
    notes = []
    if capped := blended.capped_within(top_k):
        notes.append(
            f"{capped} passage(s) left out: at most {w.max_chunks_per_doc} per document (max_chunks_per_doc; "
            "raise it per call in weights.max_chunks_per_doc, or filter to the document)"
        )
    if demoted := blended.demoted(top_k):
        notes.append(
            f"diversity moved {demoted} passage(s) out of the top {top_k} for resembling higher-ranked ones (mmr_lambda {w.mmr_lambda})"
        )
    return notes


def _returned_text(r: SearchResult) -> str:
    """Every text field a result carries to the caller, as the budget counts it."""
    return " ".join([r.source, r.title, *r.heading_path, r.source_type, r.text])
