"""One query through the stages of one index, in order, timing each: recall (dense and BM25 in
Qdrant), fusion, the rerank stage with its calibration, and the blend (`rank`); and the ranked
passages packed into a response's token budget. The use cases (pipeline.py), the offline commands
(lab/) and the benches all retrieve through it."""

from __future__ import annotations

import dataclasses

import numpy as np

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.errors import ModelUnavailable
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.fusion import FusionMethod, fuse
from ragate.retrieval.language import reading_languages
from ragate.retrieval.passage_quality import flag_for_query
from ragate.retrieval.store import Hit
from ragate.scoring.blend import Blended, BlendWeights, blend_pool
from ragate.scoring.profile import Profile
from ragate.scoring.rerank_stage import RerankPolicy, RerankStage, rerank
from ragate.server.catalog import Catalog
from ragate.server.config import Settings
from ragate.server.languages import LanguagePolicy
from ragate.server.model_loader import Models
from ragate.server.packing import pack
from ragate.server.requests import AnswerRequest, BlendOverrides, SearchRequest
from ragate.server.schemas import SearchResult
from ragate.server.timing import Timer

# The dense channel's weight, as a share of [retrieval] dense_weight, for a query the embedder does
# not read: with RRF its largest term (0.01 w / (k + 1)) stays below BM25's smallest (w / (k + 100)),
# so it only orders what BM25 leaves tied or does not find.
DENSE_TIE_BREAK = 0.01
# Each channel's list that fusion reads, however few candidates the pool keeps: reciprocal-rank
# fusion of lists cut at 20 ranks a passage third in one channel and 25th in the other below one
# that is 10th in both, where lists of 100 do not, so a smaller `candidates` changed which passages
# the gate read (4 of 50 decisions on a real folder at 20). A channel's list of 100 costs a few ms.
RECALL_DEPTH = 100


def recall_depth(n: int) -> int:
    """How deep each channel is read for a pool of n fused candidates."""
    return max(n, RECALL_DEPTH)


@dataclasses.dataclass
class Ranked:
    """A query's candidates after blending (best first), with what the stages did."""

    candidates: list[Candidate]
    fused: list[Candidate]  # every candidate of the pool in fused order, before the blend's per-document cap: what the gate judges
    stage: RerankStage | None
    notes: list[str]
    timer: Timer
    profiles: dict[str, Profile]  # each collection read, with its calibration in force
    profile: Profile | None  # the one that scored and gates the pool; None: each passage its own collection's
    query_language: str = ""  # ISO 639-1, "" when it could not be told

    @property
    def pool(self) -> int:
        """How many candidates the pool held."""
        return len(self.fused)

    def calibration(self) -> dict[str, str]:
        """What a response says of the calibration in force (schemas.CalibrationSource)."""
        p = self.profile
        if p is not None:
            return {"calibration": p.source, "calibration_fitted_on": p.fitted_on, "relevance_fitted_on": p.relevance_meaning()}
        each = "; ".join(f"{name}: {p.source}, {p.relevance_meaning()}" for name, p in self.profiles.items())
        return {"calibration": "mixed", "calibration_fitted_on": "", "relevance_fitted_on": f"each passage's collection's own: {each}"}


class Retriever:
    """Each stage built once from the settings, over the collections of `catalog`."""

    def __init__(self, settings: Settings, models: Models, catalog: Catalog):
        self.settings, self.models, self.catalog = settings, models, catalog
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
        self.language = LanguagePolicy(settings, lambda: models.reranker is not None, catalog.languages)

    def weights_for(
        self, query_language: str, pool: list[Candidate], o: BlendOverrides | None, profile: Profile | None
    ) -> tuple[BlendWeights, str, bool]:
        """One query's blend weights, why relevance weighs what it does, and whether that is because
        the reranker cannot read the query or most of its pool (the pool is then ranked as if no
        reranker read it, as `search --no-rerank` ranks it, unless the call set relevance's weight)."""
        w = self.catalog.blend_weights(o, profile=profile)
        if (o is None or o.relevance is None) and (unread_why := self.language.reranker_unread(query_language, pool)):
            return w.unread(), unread_why, True
        why = self.catalog.relevance_weight_reason(o, profile) if profile is not None else "[blend] w_relevance: the calibrations differ"
        return w, why, False

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
        stores = [(name, self.catalog.store(name)) for name in self.catalog.targets(collection, collections)]
        with timer.stage("embed"):
            qv = self.models.require_embedder().encode([query], kind="query")[0]
        dense: list[Hit] = []
        sparse: list[list[Hit]] = []
        for name, store in stores:
            with timer.stage("dense"):
                found = store.search_dense(qv, filters, n)
            with timer.stage("bm25"):
                sv = self.catalog.bm25_of(store).encode_query(query, reading_languages(self.catalog.languages(name)))
                lexical = store.search_sparse(sv, filters, n)
            for h in (*found, *lexical):
                h.collection = name
            dense += found
            sparse.append(lexical)
        dense.sort(key=lambda h: -h.score)  # stable: one collection keeps its own order
        by_rank = sorted(((rank, i, h) for i, hits in enumerate(sparse) for rank, h in enumerate(hits)), key=lambda t: t[:2])
        return dense[:n], [h for _, _, h in by_rank][:n]

    def pool(
        self,
        query: str,
        *,
        n: int,
        filters: SearchFilter | None,
        collection: str | None,
        timer: Timer,
        collections: list[str] | None = None,
        fusion: FusionMethod | None = None,
        query_language: str | None = None,
    ) -> list[Candidate]:
        """recall → fuse: the pool of the n best fused candidates, fused from each channel's
        RECALL_DEPTH (or n, when more) so the pool's head does not depend on n."""
        dense, sparse = self.recall(query, filters=filters, n=recall_depth(n), collection=collection, collections=collections, timer=timer)
        return self.fuse(query, dense, sparse, n=n, fusion=fusion, timer=timer, query_language=query_language)

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
        names = self.catalog.targets(collection, collections)
        profiles, profile, notes = self.catalog.pool_profile(names)
        query_language = self.language.of_query(query, names)
        cands = self.pool(
            query, n=n, filters=filters, collection=collection, collections=names, timer=timer, fusion=fusion, query_language=query_language
        )
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
        return Ranked(blended.ranked, cands, stage, notes, timer, profiles, profile, query_language)  # the blend keeps cands' order

    def _tokens(self, text: str) -> int:
        offsets = self.models.token_offsets
        return len(offsets(text)) if offsets else len(text.split())

    def fit_budget(self, results: list[SearchResult], req: SearchRequest | AnswerRequest) -> tuple[list[SearchResult], int]:
        """Whole passages in rank order within the response's token budget: the request's, else its
        client's [server] max_tokens."""
        budget = req.limits_or(self.settings.server).max_tokens if req.max_tokens is None else req.max_tokens
        return pack(results, _returned_text, self._tokens, budget)


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
