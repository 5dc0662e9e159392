"""BM25 channel as Qdrant sparse vectors: documents carry saturated term frequencies, queries
unit weights, and the collection's IDF modifier supplies the inverse document frequency, so
the same store (embedded or a cluster) scores BM25 without a separate index to keep in sync.

With `language = "auto"` each passage is stemmed and stripped of stopwords by the rules of its
own language (retrieval/language.py), with `tokenizer = "auto"` split into words by the tokenizer
that reads its script, and a query by the rules of every language its collection holds (a short
query is easy to misplace, and the terms it must match are the passages'; on an English collection
the query is read exactly as before).
A collection records the settings it was written with (`settings_key`) and is always read with them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import qdrant_edge as qe

from ragate.retrieval.errors import ConfigError
from ragate.retrieval.language import analysis, detect, segmented, tokenizer_for

AUTO = "auto"
Analysis = tuple[str | None, str]  # (Qdrant language name or None for words as written, tokenizer)


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
        language: str = AUTO,
        stemming: bool = True,
        stopwords: bool = True,
        tokenizer: str = AUTO,
    ):
        self.k1, self.b, self.avg_len = k1, b, avg_len
        self.language, self.stemming, self.stopwords, self.tokenizer = language, stemming, stopwords, tokenizer
        self._models: dict[tuple[Analysis, bool], qe.Bm25] = {}
        self._model(self._analysis("en"))  # settings Qdrant refuses fail here, not at the first write
        self.settings_key = f"k1={k1},b={b},avg_len={avg_len},language={language},stem={stemming},stop={stopwords}" + (
            f",tokenizer={tokenizer}" if tokenizer != "word" else ""
        )

    @classmethod
    def from_key(cls, key: str) -> Bm25Encoder:
        """The encoder a collection was written with, from the `settings_key` it recorded."""
        f = dict(part.split("=", 1) for part in key.split(","))
        return cls(
            float(f["k1"]),
            float(f["b"]),
            float(f["avg_len"]),
            f["language"],
            f["stem"] == "True",
            f["stop"] == "True",
            f.get("tokenizer", "word"),
        )

    def _model(self, of: Analysis, stopwords: bool = True) -> qe.Bm25:
        key = (of, stopwords)
        language, words = of
        if key not in self._models:
            kwargs: dict = dict(k=self.k1, b=self.b, avg_len=self.avg_len, language=language or "english")
            if words == "multilingual":  # segments Chinese and Japanese, splits punctuation off words in every script
                kwargs["tokenizer"] = qe.TokenizerType.Multilingual
            if not self.stemming or language is None:
                kwargs["stemmer"] = qe.DisabledStemmer()
            if not (self.stopwords and stopwords) or language is None:
                kwargs["stopwords"] = qe.StopwordsSet(languages=set(), custom=set())
            try:
                self._models[key] = qe.Bm25(qe.Bm25Config(**kwargs))
            except (ValueError, TypeError) as e:
                raise ConfigError(f"[bm25] settings rejected: {e}") from None
        return self._models[key]

    def _analysis(self, code: str, words: str | None = None) -> Analysis:
        """How text in this language is read: the settings' fixed language and tokenizer, else the
        language's own; `words` overrides the tokenizer the language would get."""
        words = words if self.tokenizer == AUTO else self.tokenizer
        return (analysis(code) if self.language == AUTO else self.language, words or tokenizer_for(code))

    def encode_documents(self, texts: list[str], langs: list[str] | None = None) -> list[SparseVec]:
        """Each text by its own language's rules (`langs`, as detected at indexing; detected here when not given)."""
        if langs is None:
            langs = [detect(t) for t in texts] if AUTO in (self.language, self.tokenizer) else [""] * len(texts)
        out = []
        for t, code in zip(texts, langs, strict=True):
            v = self._model(self._analysis(code)).embed_document(t)
            out.append(SparseVec(list(v.indices), list(v.values)))
        return out

    def encode_query(self, text: str, langs: Iterable[str] | None = None) -> SparseVec:
        """The query's terms under the rules of `langs`, the languages of the passages it is matched
        against (language.reading_languages; the query's own when None or empty): the union of their
        terms, less any word one of them calls a stopword (English "the" is no German stopword, but
        means nothing in a collection of both)."""
        if AUTO not in (self.language, self.tokenizer):
            analyses = [self._analysis("")]
        else:
            own = detect(text)
            # A query in a script the word tokenizer cannot split (Chinese, Japanese) is segmented under
            # every language's rules: read whole, it would be one term no passage holds.
            split = tokenizer_for(own) == "multilingual" or segmented(text)
            codes = list(langs or ()) or [own]
            analyses = list(dict.fromkeys(self._analysis(c, "multilingual" if split else None) for c in codes))
        if len(analyses) == 1:
            v = self._model(analyses[0]).embed_query(text)
            return SparseVec(list(v.indices), list(v.values))
        terms: set[int] = set()
        stop: set[int] = set()
        for a in analyses:
            kept = set(self._model(a).embed_query(text).indices)
            terms |= kept
            if a[0] is not None and self.stopwords:
                stop |= set(self._model(a, stopwords=False).embed_query(text).indices) - kept
        indices = sorted(terms - stop)
        return SparseVec(indices, [1.0] * len(indices))
