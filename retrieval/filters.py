"""The filter a caller gives (pydantic-validated) and its backend-neutral conditions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ragate.retrieval.globs import compile_glob, glob_match

Scalar = Union[str, int, bool]


class SearchFilter(BaseModel):
    """Restricts every channel inside Qdrant. All given fields must hold (AND)."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(None, max_length=1000, description="glob on the source path/URI, e.g. '**/guides/*.md'")
    source_prefix: str | None = Field(None, max_length=1000, description="source starts with this (a folder or URI prefix)")
    source_type: list[str] | None = Field(None, max_length=100, description="any of these source_type labels")
    doc_id: list[str] | None = Field(None, max_length=1000, description="any of these document ids")
    updated_after: dt.datetime | None = Field(None, description="updated_at at or after this time (ISO 8601)")
    updated_before: dt.datetime | None = Field(None, description="updated_at at or before this time (ISO 8601)")
    lang: list[str] | None = Field(None, max_length=100, description="any of these languages (ISO 639-1, as detected)")
    meta: dict[str, Scalar] = Field(default_factory=dict, max_length=50, description="equality on metadata fields")

    @field_validator("source_type", "doc_id", "lang", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        # An empty list restricts nothing: it is no filter (and `delete` refuses an empty filter).
        return [v] if isinstance(v, str) else None if v == [] else v

    @field_validator("source")
    @classmethod
    def _bounded_glob(cls, v: str | None) -> str | None:
        if v is not None:
            compile_glob(v)  # over the complexity limits: a validation error naming the limit
        return v

    def is_empty(self) -> bool:
        return self == SearchFilter()


@dataclass(frozen=True)
class AnyOf:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Equals:
    key: str
    value: Scalar


@dataclass(frozen=True)
class DateRange:
    key: str
    gte: str | None
    lte: str | None


Condition = Union[AnyOf, Equals, DateRange]


def _iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(f: SearchFilter | None, known_sources: callable[[], list[str]]) -> list[Condition] | Literal["none"]:
    """Conditions for a store; 'none' when the filter provably matches nothing (no source matches the glob).

    Source globs and prefixes are resolved against the distinct indexed sources, then applied as a
    keyword match inside Qdrant, so they work the same on the embedded store and on a cluster."""
    if f is None or f.is_empty():
        return []
    out: list[Condition] = []
    if f.source is not None or f.source_prefix is not None:
        matched = [
            s
            for s in known_sources()
            if (f.source is None or glob_match(s, f.source)) and (f.source_prefix is None or s.startswith(f.source_prefix))
        ]
        if not matched:
            return "none"
        out.append(AnyOf("source", tuple(matched)))
    if f.source_type:
        out.append(AnyOf("source_type", tuple(f.source_type)))
    if f.doc_id:
        out.append(AnyOf("doc_id", tuple(f.doc_id)))
    if f.lang:
        out.append(AnyOf("lang", tuple(f.lang)))
    if f.updated_after or f.updated_before:
        out.append(DateRange("updated_at", f.updated_after and _iso(f.updated_after), f.updated_before and _iso(f.updated_before)))
    for key, value in f.meta.items():
        out.append(Equals(f"meta.{key}", value))
    return out
