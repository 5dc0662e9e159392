"""Documents given as text (the add_documents tool): validated, then turned into the same
`Document` that file ingest produces, so they are chunked, indexed and searched alike."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ragate.retrieval.documents import Document, Section, content_hash, stable_id
from ragate.retrieval.ingest import IngestOptions, classify, parse_date, rfc3339


class InlineDocument(BaseModel):
    """A document given as text: nothing is read from disk."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=256, description="stable id; the same id replaces the earlier version")
    text: str
    title: str = Field("", max_length=1000)
    source: str | None = Field(None, max_length=2000, description="where it came from; default inline:<id>")
    updated_at: str | None = Field(None, description="ISO 8601 date or date-time, for freshness")
    source_type: str | None = Field(None, max_length=100, description="label for authority rules and filters")
    metadata: dict[str, Any] = Field(default_factory=dict, description="fields for meta.* filters")

    @field_validator("updated_at")
    @classmethod
    def _a_date(cls, v: str | None) -> str | None:
        if v is not None and parse_date(v) is None:
            raise ValueError("not an ISO 8601 date or date-time, e.g. 2024-05-01 or 2024-05-01T10:00:00Z")
        return v


def to_document(d: InlineDocument, *, options: IngestOptions) -> Document:
    """The Document for an inline text; its version hash covers everything that is indexed."""
    body = d.text.replace("\x00", "")  # NUL bytes would reach every payload and tokenizer
    ident = d.id or content_hash(d.title + "\x00" + body)[:32]
    source = d.source or f"inline:{ident}"
    source_type, authority = classify(source, options)
    version = content_hash(json.dumps([d.title, body, d.updated_at, d.source_type, d.metadata], sort_keys=True, default=str))
    return Document(
        doc_id=stable_id("inline", ident) if d.id else stable_id("inline", source),
        source=source,
        title=d.title,
        text=body,
        sections=[Section(heading_path=[], start=0, end=len(body))],
        updated_at=parse_date(d.updated_at) if d.updated_at else rfc3339(dt.datetime.now(dt.UTC)),
        source_type=d.source_type or source_type,
        authority=authority,
        file_hash=version,
        meta=d.metadata,
    )
