"""Structure-first chunking: one section per heading, then token-budget windows cut at
paragraph, sentence or word boundaries (never inside a word), with overlap inside long runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from ragate.retrieval.documents import Chunk, Document, content_hash, stable_id
from ragate.retrieval.language import detect
from ragate.retrieval.passage_quality import passage_flags, with_document_flags


class TokenOffsets(Protocol):
    def __call__(self, text: str) -> list[tuple[int, int]]: ...


def hf_token_offsets(tokenizer) -> TokenOffsets:
    """Character offsets of each token, from a Hugging Face (fast) tokenizer, without length limits."""
    from tokenizers import Tokenizer

    shared = tokenizer.backend_tokenizer if hasattr(tokenizer, "backend_tokenizer") else tokenizer
    # A private copy: the reranker sets pair truncation on the shared one at every call, and a
    # long single text encoded under that setting fails.
    backend = Tokenizer.from_str(shared.to_str())
    backend.no_truncation()
    backend.no_padding()

    def offsets(text: str) -> list[tuple[int, int]]:
        return backend.encode(text, add_special_tokens=False).offsets

    return offsets


_WORD = re.compile(r"\w+|[^\w\s]")


def word_offsets(text: str) -> list[tuple[int, int]]:
    """Words and punctuation marks as tokens: the measure where no model tokenizer is at hand
    (a remote reranker and embedder whose tokenizers cannot be loaded here)."""
    return [m.span() for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class ChunkingSettings:
    tokens: int = 256
    overlap: int = 32

    def key(self) -> str:
        return f"tokens={self.tokens},overlap={self.overlap}"


# A title or heading is context for a passage, not content: a document may not make every search
# reply carry 40,000 characters of it (every result repeats its title and headings).
MAX_TITLE_CHARS = 300
MAX_HEADING_CHARS = 200
MAX_HEADING_DEPTH = 8
# A window of N tokens spans at most N * this many characters: a tokenizer reads a run of letters
# too long to be a word (a 32,000-character heading) as one unknown token, which would make a chunk
# of any size; such a run is cut by characters instead.
MAX_CHARS_PER_TOKEN = 16


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_SENTENCE_END = re.compile(r"[.!?;:][\"')\]]*\s")
_SPACE = re.compile(r"\s")


def _last(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> int | None:
    """End of the last match of pattern inside text[lo:hi], or None."""
    best = None
    for m in pattern.finditer(text, lo, hi):
        best = m.end()
    return best


def _cut(text: str, lo: int, hi: int) -> tuple[int, bool]:
    """Where to end a window that may run to hi: (position, cut_at_paragraph)."""
    para = text.rfind("\n\n", lo, hi)
    if para > lo:
        return para, True
    for pattern in (_SENTENCE_END, _SPACE):
        pos = _last(pattern, text, lo, hi)
        if pos is not None and pos > lo:
            return pos, False
    return hi, False


def split_spans(text: str, offsets: list[tuple[int, int]], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of windows of at most `budget` tokens over text."""
    n = len(offsets)
    if n == 0:
        return []
    if n <= budget:
        return [(offsets[0][0], offsets[-1][1])]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < n:
        start = offsets[i][0]
        if n - i <= budget:
            spans.append((start, offsets[-1][1]))
            break
        hard_end = offsets[i + budget - 1][1]
        # Look for a natural boundary in the second half of the window only, so chunks stay full.
        soft_lo = offsets[i + budget // 2][0]
        end, at_paragraph = _cut(text, soft_lo, hard_end + 1)
        end = min(end, hard_end)
        spans.append((start, end))
        k = next((t for t in range(i, n) if offsets[t][0] >= end), n)
        if not at_paragraph and overlap:
            back = max(k - overlap, i + 1)
            # Start the overlap at a word start so no chunk begins inside a word.
            while back < k and back > 0 and not text[offsets[back][0] - 1].isspace():
                back += 1
            k = back
        i = max(k, i + 1)
    return spans


def _bounded(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    return [(a, min(a + max_chars, e)) for s, e in spans for a in range(s, e, max_chars)]


def chunk_document(doc: Document, offsets_of: TokenOffsets, settings: ChunkingSettings) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in doc.sections:
        body = doc.text[section.start : section.end]
        if section.heading_path and body.strip() == section.heading_path[-1]:
            continue  # a heading with no body: its children carry it in their heading path
        offsets = offsets_of(body)
        for s, e in _bounded(split_spans(body, offsets, settings.tokens, settings.overlap), settings.tokens * MAX_CHARS_PER_TOKEN):
            raw = body[s:e]
            lead = len(raw) - len(raw.lstrip())
            text = raw.strip()
            if not text:
                continue
            start = section.start + s + lead
            index = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=stable_id(doc.doc_id, str(index), doc.file_hash or content_hash(doc.text)),
                    doc_id=doc.doc_id,
                    chunk_index=index,
                    text=text,
                    source=doc.source,
                    title=_clip(doc.title, MAX_TITLE_CHARS),
                    heading_path=[_clip(h, MAX_HEADING_CHARS) for h in section.heading_path[:MAX_HEADING_DEPTH]],
                    char_start=start,
                    char_end=start + len(text),
                    updated_at=doc.updated_at,
                    source_type=doc.source_type,
                    authority=doc.authority,
                    content_hash=content_hash(text),
                    file_hash=doc.file_hash,
                    meta=doc.meta,
                    flags=passage_flags(text),
                    lang=detect(text),
                )
            )
    return with_document_flags(chunks)


def indexed_text(chunk: Chunk) -> str:
    """The text the channels and the reranker read: title and headings give a passage its context."""
    return with_context(chunk.title, chunk.heading_path, chunk.text)


def with_context(title: str, heading_path: list[str], text: str) -> str:
    """indexed_text from a chunk's parts (a search result carries them too)."""
    context = " / ".join(h for h in [title, *heading_path] if h)
    # Avoid repeating the title when it is also the top heading.
    if heading_path and heading_path[0] == title:
        context = " / ".join(heading_path)
    return f"{context}\n{text}" if context else text
