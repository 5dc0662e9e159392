"""The shapes that flow through retrieval: extracted documents and indexed chunks."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from pydantic import BaseModel, Field

# Fixed namespace so chunk and document ids are stable across runs and machines.
_NAMESPACE = uuid.UUID("6f1d2a3e-52b0-4c55-9a0e-7d0f3c6b9e11")


def stable_id(*parts: str) -> str:
    """A UUID (Qdrant's point id type) derived from the parts, the same every time."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Section(BaseModel):
    """A run of text under one heading path, with its offsets in the document text."""

    heading_path: list[str]
    start: int
    end: int


class Document(BaseModel):
    """A source's extracted text, before chunking."""

    doc_id: str
    source: str
    title: str
    text: str
    sections: list[Section]
    updated_at: str | None = None  # RFC 3339, UTC
    source_type: str = "document"
    authority: float = 0.5
    file_hash: str = ""
    meta: dict[str, Any] = Field(default_factory=dict)


class Chunk(BaseModel):
    """What is indexed: one passage and everything a filter, a blend or a citation needs."""

    chunk_id: str
    doc_id: str
    chunk_index: int
    text: str
    source: str
    title: str
    heading_path: list[str]
    char_start: int
    char_end: int
    updated_at: str | None = None
    source_type: str = "document"
    authority: float = 0.5
    content_hash: str
    file_hash: str = ""
    meta: dict[str, Any] = Field(default_factory=dict)
    # Signs the passage was written to be retrieved rather than read (retrieval/passage_quality.py),
    # found when it was indexed; an index written before they existed has none.
    flags: list[str] = Field(default_factory=list)
    # The passage's language (ISO 639-1, retrieval/language.py; "" when it could not be told, and in
    # an index written before it was recorded): its BM25 analysis, and a `lang` filter.
    lang: str = ""

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Chunk:
        return cls.model_validate(payload)
