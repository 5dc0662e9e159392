"""What the configured models read, and what that decides for one query: whether the dense channel
has a say in fusion, whether relevance weighs in the blend, and what a response or `doctor` says.
Languages come from retrieval/language.py; a collection's mix from its store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.language import action, detect, loss, model_reads, reading_languages, shares, unread
from ragate.server.config import Settings

# The share of a pool in languages the reranker does not read past which its relevance is set aside.
UNREAD_POOL = 0.5


class LanguagePolicy:
    def __init__(self, settings: Settings, has_reranker: Callable[[], bool], mix: Callable[[str], dict[str, int]]):
        self.settings, self._has_reranker, self._mix = settings, has_reranker, mix

    def reads(self) -> dict[str, frozenset[str] | None]:
        """Each model role's languages (None: any, or nothing says otherwise)."""
        s = self.settings
        out = {"embedder": model_reads(s.embedder.model or s.embedder.url, s.embedder.languages)}
        if self._has_reranker():
            out["reranker"] = model_reads(s.reranker.model, s.reranker.languages)
        return out

    def of_query(self, query: str, collections: list[str]) -> str:
        """The query's language ("" when it cannot be told), placed among its collections' languages
        when it is too short to place among all."""
        merged: Counter[str] = Counter()
        for name in collections:
            merged.update(self._mix(name))
        return detect(query, reading_languages(merged))

    def unread_query(self, query_language: str) -> dict[str, str]:
        """Each model role that does not read the query's language, with why (none when the language
        could not be told, or the model reads it or many)."""
        return {
            role: f"the {role} reads {', '.join(sorted(r))} only, and this query reads as {query_language}"
            for role, r in self.reads().items()
            if query_language and r is not None and query_language not in r
        }

    def reranker_unread(self, query_language: str, pool: list[Candidate]) -> str:
        """Why the reranker's relevance cannot be read for this query ("" when it can): the reranker
        does not read the query's language, or that of most of the pool's passages."""
        if why := self.unread_query(query_language).get("reranker"):
            return why
        found = unread(Counter(c.chunk.lang for c in pool), {"reranker": self.reads().get("reranker")})
        if found and sum(found[2].values()) >= UNREAD_POOL:
            return f"{found[1]}, and {sum(found[2].values()):.0%} of the pool is in other languages ({shares(found[2])})"
        return ""

    def collection_warning(self, name: str) -> str:
        """ "" unless much of the collection is in languages the models do not read; then which, and what is lost."""
        found = unread(self._mix(name), self.reads())
        if found is None:
            return ""
        roles, who, other = found
        return f"{who}, and {sum(other.values()):.0%} of this collection is in other languages ({shares(other)}): {loss(roles)}"

    def notes(self, query_language: str, top: list[Candidate], *, relevance_set_aside: bool) -> list[str]:
        """What a response says when its query, or the passages it returns, are in languages the models do not read."""
        if unread_by := self.unread_query(query_language):
            lost = [
                *(["the dense channel only orders what BM25 leaves tied"] if "embedder" in unread_by else []),
                *(["relevance has no weight in the blend"] if relevance_set_aside else []),
            ]
            roles = sorted(unread_by)
            who = " and ".join(f"the {role}" for role in roles)
            verb = "do" if len(roles) > 1 else "does"
            return [f"{who} {verb} not read {query_language}: {' and '.join(lost) or loss(roles)}; {action(roles)}"]
        if found := unread(Counter(c.chunk.lang for c in top), self.reads()):
            roles, who, other = found
            share = f"{sum(other.values()):.0%} of the passages returned are in other languages ({shares(other)})"
            return [f"{who}, and {share}: {loss(roles)}; {action(roles)}"]
        return []
