"""Questions a collection can answer, made from its own chunks, with no labels and no LLM.

Two kinds, in turn, each from a different document. A topic question asks what a document is
about, from the most salient of the first sentences of its opening chunk (where a document says
what it is); a passage question asks after one passage inside the document (a chunk past its
opening, drawn with the seed), as users asking after one fact deep in a page do. Its passage, not
its document, is what a ranking must find: a reranker that prefers a document's summary to the
passage that says the thing (bench/RESULTS.md measured one) helps topic questions and hurts these.
Either is reduced to its key terms, the rarest few kept in their order and the rest dropped, so
the question does not quote its passage. A term is key when it is rare in the collection but not
unique to one chunk: names and typos found once make questions nobody asks. Where the chunk sits
under a heading of its own, the heading leads the question. The document (and, for a passage
question, the chunk) it came from is the question's one known answer (others may answer too: the
labels are a lower bound)."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.documents import Chunk
from ragate.retrieval.language import reading_languages

WORD = re.compile(r"[^\W\d_][\w'\-]*[^\W_]")  # letters of any alphabet ("geändert" is one word)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
MIN_WORDS = 6  # a sentence shorter than this says too little to be asked about
MAX_WORDS = 60
KEEP = (3, 7)  # key terms kept per question, at least and at most
DF_SAMPLE = 3000  # chunks whose terms estimate document frequency
LEAD_SENTENCES = 3  # the opening sentences a question is drawn from
GENERIC_HEADINGS = {"description", "introduction", "overview", "summary", "examples", "example", "notes", "see also", "options"}


@dataclass(frozen=True)
class SelfQuestion:
    qid: str
    text: str
    doc_id: str  # the document it was made from
    chunk_id: str
    kind: Literal["topic", "passage"] = "topic"  # passage: the chunk, not only the document, is what it asks after


class Vocabulary:
    """Which words carry content (the BM25 channel keeps a term for them) and how rare each is."""

    def __init__(self, chunks: list[Chunk], bm25: Bm25Encoder, rng: random.Random):
        self.bm25 = bm25
        sample = rng.sample(chunks, min(DF_SAMPLE, len(chunks)))
        self.n = len(sample)
        self.df: dict[int, int] = {}
        self.langs = reading_languages(Counter(c.lang for c in sample))  # words read as the passages are
        for vec in bm25.encode_documents([c.text for c in sample], [c.lang for c in sample], subwords=False):
            for t in set(vec.indices):
                self.df[t] = self.df.get(t, 0) + 1
        self._terms: dict[str, list[int]] = {}

    def terms(self, word: str) -> list[int]:
        if word not in self._terms:
            self._terms[word] = list(self.bm25.encode_query(word, self.langs, subwords=False).indices)
        return self._terms[word]

    def idf(self, word: str) -> float:
        """0 for a stopword or a term seen in fewer than two sampled chunks; else the rarer the higher."""
        terms = [t for t in self.terms(word) if self.df.get(t, 0) >= 2]
        return max((math.log((self.n + 1) / (self.df[t] + 1)) + 1 for t in terms), default=0.0)


def _key_terms(sentence: str, vocab: Vocabulary) -> list[str]:
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(sentence)))
    weighted = [(w, vocab.idf(w)) for w in words]
    content = [(w, v) for w, v in weighted if v > 0]
    k = max(KEEP[0], min(KEEP[1], round(len(content) * 0.5)))
    kept = {w for w, _ in sorted(content, key=lambda wv: -wv[1])[:k]}
    return [w for w, _ in content if w in kept]


def _salient_sentence(text: str, vocab: Vocabulary) -> str | None:
    sentences = [s for s in SENTENCE.split(text) if MIN_WORDS <= len(s.split()) <= MAX_WORDS][:LEAD_SENTENCES]
    if not sentences:
        return None

    def salience(s: str) -> float:
        top = sorted((vocab.idf(w.lower()) for w in WORD.findall(s)), reverse=True)[:5]
        return sum(top) / max(1, len(top))

    return max(sentences, key=salience)


def _heading(chunk: Chunk) -> str | None:
    """The chunk's own heading, when it names something more than a generic section."""
    for h in reversed(chunk.heading_path):
        if h and h != chunk.title and h.strip().lower() not in GENERIC_HEADINGS and len(h.split()) <= 8:
            return h.strip()
    return None


def make_questions(chunks: list[Chunk], *, bm25: Bm25Encoder, n: int, seed: int) -> list[SelfQuestion]:
    """Up to `n` questions, each from a different document, drawn with the seed: topic and passage
    questions in turn (a document of one chunk gives a topic question)."""
    rng = random.Random(seed)
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        if len(c.text.split()) >= 2 * MIN_WORDS:
            by_doc.setdefault(c.doc_id, []).append(c)
    if not by_doc:
        return []
    vocab = Vocabulary(chunks, bm25, rng)
    out: list[SelfQuestion] = []
    for doc_id in rng.sample(sorted(by_doc), len(by_doc)):
        if len(out) >= n:
            break
        opening = min(by_doc[doc_id], key=lambda c: c.chunk_index)
        inner = [c for c in by_doc[doc_id] if c is not opening]
        kind: Literal["topic", "passage"] = "passage" if len(out) % 2 and inner else "topic"
        chunk = rng.choice(inner) if kind == "passage" else opening
        sentence = _salient_sentence(chunk.text, vocab)
        if sentence is None:
            continue
        terms = _key_terms(sentence, vocab)
        if len(terms) < KEEP[0]:
            continue
        heading = _heading(chunk)
        text = " ".join([heading, *terms[:4]]) if heading and len(out) // 2 % 2 else " ".join(terms)
        out.append(SelfQuestion(qid=f"self:{len(out)}", text=text, doc_id=doc_id, chunk_id=chunk.chunk_id, kind=kind))
    return out
