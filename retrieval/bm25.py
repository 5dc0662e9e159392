"""BM25 channel as Qdrant sparse vectors: documents carry saturated term frequencies, queries
unit weights, and the collection's IDF modifier supplies the inverse document frequency, so
the same store (embedded or a cluster) scores BM25 without a separate index to keep in sync.

With `language = "auto"` each passage is stemmed and stripped of stopwords by the rules of its
own language (retrieval/language.py), with `tokenizer = "auto"` split into words by the tokenizer
that reads its script, and a query by the rules of every language its collection holds (a short
query is easy to misplace, and the terms it must match are the passages'; on an English collection
the query is read exactly as before). With `subwords`, languages that glue words into compounds or
write without spaces also get pieces of words as terms (retrieval/subwords.py).
A collection records the settings it was written with (`settings_key`) and is always read with them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import qdrant_edge as qe

from ragate.retrieval.errors import ConfigError
from ragate.retrieval.language import analysis, detect, segmented, tokenizer_for
from ragate.retrieval.subwords import PIECE_WEIGHT, pieces

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
        subwords: bool = True,
    ):
        self.k1, self.b, self.avg_len = k1, b, avg_len
        self.language, self.stemming, self.stopwords, self.tokenizer = language, stemming, stopwords, tokenizer
        self.subwords = subwords
        self._models: dict[tuple[Analysis, bool], qe.Bm25] = {}
        self._model(self._analysis("en"))  # settings Qdrant refuses fail here, not at the first write
        # Keys gain a part only when it is not the old behaviour, so a collection written before the
        # setting existed reads its key as what it was written with.
        self.settings_key = (
            f"k1={k1},b={b},avg_len={avg_len},language={language},stem={stemming},stop={stopwords}"
            + (f",tokenizer={tokenizer}" if tokenizer != "word" else "")
            + (",subwords=True" if subwords else "")
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
            f.get("subwords") == "True",
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

    def _pieces_model(self) -> qe.Bm25:
        """Pieces as written: no stemmer or stopwords, the word tokenizer (which keeps a marked piece whole)."""
        return self._model((None, "word"))

    def _with_pieces(self, v: SparseVec, text: str, langs: set[str], weight: float | None) -> SparseVec:
        """`v` plus the text's pieces (subwords.pieces) read as `langs`: a passage's with their own
        saturated frequencies (`weight` None), a query's at `weight` each."""
        found = pieces(text, langs) if self.subwords else []
        if not found:
            return v
        model = self._pieces_model()
        extra = model.embed_document(" ".join(found)) if weight is None else model.embed_query(" ".join(found))
        merged = dict(zip(v.indices, v.values, strict=True))
        for i, x in zip(extra.indices, extra.values, strict=True):
            merged[i] = merged.get(i, 0.0) + (x if weight is None else weight)
        indices = sorted(merged)
        return SparseVec(indices, [merged[i] for i in indices])

    def _analysis(self, code: str, words: str | None = None) -> Analysis:
        """How text in this language is read: the settings' fixed language and tokenizer, else the
        language's own; `words` overrides the tokenizer the language would get."""
        words = words if self.tokenizer == AUTO else self.tokenizer
        return (analysis(code) if self.language == AUTO else self.language, words or tokenizer_for(code))

    def encode_documents(self, texts: list[str], langs: list[str] | None = None, *, subwords: bool = True) -> list[SparseVec]:
        """Each text by its own language's rules (`langs`, as detected at indexing; detected here when
        not given). `subwords` False: whole words only (the terms a reader of the passage would name)."""
        if langs is None:
            langs = [detect(t) for t in texts] if AUTO in (self.language, self.tokenizer) or self.subwords else [""] * len(texts)
        out = []
        for t, code in zip(texts, langs, strict=True):
            v = self._model(self._analysis(code)).embed_document(t)
            words = SparseVec(list(v.indices), list(v.values))
            out.append(self._with_pieces(words, t, {code}, None) if subwords else words)
        return out

    def encode_query(self, text: str, langs: Iterable[str] | None = None, *, subwords: bool = True) -> SparseVec:
        """The query's terms under the rules of `langs`, the languages of the passages it is matched
        against (language.reading_languages; the query's own when None or empty): the union of their
        terms, less any word one of them calls a stopword (English "the" is no German stopword, but
        means nothing in a collection of both). `subwords` False: whole words only."""
        langs = list(langs or ())
        own = detect(text) if AUTO in (self.language, self.tokenizer) or (self.subwords and not langs) else ""
        codes = langs or [own]
        words = self._query_words(text, own, codes)
        return self._with_pieces(words, text, set(codes), PIECE_WEIGHT) if subwords else words

    def _query_words(self, text: str, own: str, codes: list[str]) -> SparseVec:
        if AUTO not in (self.language, self.tokenizer):
            analyses = [self._analysis("")]
        else:
            # A query in a script the word tokenizer cannot split (Chinese, Japanese) is segmented under
            # every language's rules: read whole, it would be one term no passage holds.
            split = tokenizer_for(own) == "multilingual" or segmented(text)
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
