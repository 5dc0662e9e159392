"""BM25 channel as Qdrant sparse vectors: documents carry saturated term frequencies, queries
unit weights, and the collection's IDF modifier supplies the inverse document frequency, so
the same store (embedded or a cluster) scores BM25 without a separate index to keep in sync."""

from __future__ import annotations

from dataclasses import dataclass

import qdrant_edge as qe

from ragate.retrieval.errors import ConfigError


@dataclass(frozen=True)
class SparseVec:
    indices: list[int]
    values: list[float]


class Bm25Encoder:
    def __init__(
        self,
        k1: float = 1.2,
        b: float = 0.75,
        avg_len: float = 120.0,
        language: str = "english",
        stemming: bool = True,
        stopwords: bool = True,
        tokenizer: str = "word",
    ):
        kwargs: dict = dict(k=k1, b=b, avg_len=avg_len, language=language)
        if tokenizer == "multilingual":  # segments Chinese and Japanese, splits punctuation off words in every script
            kwargs["tokenizer"] = qe.TokenizerType.Multilingual
        if not stemming:
            kwargs["stemmer"] = qe.DisabledStemmer()
        if not stopwords:
            kwargs["stopwords"] = qe.StopwordsSet(languages=set(), custom=set())
        try:
            self._model = qe.Bm25(qe.Bm25Config(**kwargs))
        except (ValueError, TypeError) as e:
            raise ConfigError(f"[bm25] settings rejected: {e}") from None
        self.settings_key = f"k1={k1},b={b},avg_len={avg_len},language={language},stem={stemming},stop={stopwords}" + (
            f",tokenizer={tokenizer}" if tokenizer != "word" else ""
        )

    def encode_documents(self, texts: list[str]) -> list[SparseVec]:
        out = []
        for t in texts:
            v = self._model.embed_document(t)
            out.append(SparseVec(list(v.indices), list(v.values)))
        return out

    def encode_query(self, text: str) -> SparseVec:
        v = self._model.embed_query(text)
        return SparseVec(list(v.indices), list(v.values))
