"""Checks on free text from callers, and how a refused request model is put in words, shared by the MCP tools and the CLI so both refuse the same
input with the same words."""

from __future__ import annotations

import unicodedata

from pydantic import ValidationError

from ragate.retrieval.errors import BadInput


def validation_message(e: ValidationError, limit: int = 2000) -> str:
    """A request model's refusal in one line: each failing field's dotted path and why, cut at
    `limit`; each part of a path is cut too (an unknown key is the caller's text, of any length)."""
    return "; ".join(f"{'.'.join(str(p)[:64] for p in x['loc'])}: {x['msg']}" for x in e.errors())[:limit]


def check_text(name: str, text: str) -> str:
    """JSON can carry lone surrogates (\\udc80) that no tokenizer can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise BadInput(f"{name}: not valid UTF-8 (lone surrogate at character {e.start})") from None
    return text


def _visible(c: str) -> bool:
    # Zero-width spaces, joiners and other format characters (category Cf) are not text to search.
    return not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc")


def check_query(query: str, limit: int) -> str:
    if not isinstance(query, str) or not query.strip():
        raise BadInput("query: must be a non-empty string")
    if len(query) <= limit and not any(map(_visible, query)):
        raise BadInput("query: has no visible characters (only spaces, zero-width or format characters)")
    if len(query) > limit:
        raise BadInput(f"query: {len(query)} characters, over the limit of {limit} ([server] max_query_chars)")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in query):
        raise BadInput("query: contains control characters")
    return check_text("query", query)


def check_range(name: str, value: int, lo: int, hi: int, key: str | None = None) -> int:
    """`key` names the [server] setting behind `hi`, when a setting sets it."""
    if not lo <= value <= hi:
        raise BadInput(f"{name}: {value} is outside {lo}..{hi}" + (f" ([server] {key})" if key else ""))
    return value
