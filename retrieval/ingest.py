"""Find files under the given paths and turn each into a Document (text, structure, metadata)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ragate.retrieval.documents import Document, stable_id
from ragate.retrieval.extract import EXTRACTORS, ExtractionError, extract
from ragate.retrieval.globs import glob_match


class IngestError(ValueError):
    """A path that cannot be indexed at all (missing, outside the allowed roots)."""


@dataclass(frozen=True)
class SourceRule:
    glob: str
    source_type: str
    weight: float


@dataclass
class IngestOptions:
    include: list[str]
    exclude: list[str]
    max_file_bytes: int
    rules: list[SourceRule] = field(default_factory=list)
    default_source_type: str = "document"
    default_authority: float = 0.5


@dataclass
class Skipped:
    path: str
    reason: str


def rfc3339(ts: dt.datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value: str) -> str | None:
    """A front-matter date (2024-05-01, 2024-05-01T10:00:00+02:00, ...) as RFC 3339 UTC, or None."""
    value = value.strip()
    if not value:
        return None
    try:
        return rfc3339(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def classify(source: str, opts: IngestOptions) -> tuple[str, float]:
    """source_type and authority weight from the first path rule that matches."""
    for rule in opts.rules:
        if rule.glob and glob_match(source, rule.glob):
            return rule.source_type or opts.default_source_type, rule.weight
    return opts.default_source_type, opts.default_authority


def _selected(rel: str, opts: IngestOptions) -> bool:
    return any(glob_match(rel, g) for g in opts.include) and not any(glob_match(rel, g) for g in opts.exclude)


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def discover(
    paths: list[str | os.PathLike[str]], opts: IngestOptions, allowed_roots: list[str | os.PathLike[str]] | None = None
) -> tuple[list[Path], list[Skipped]]:
    """Regular files under the paths that the include/exclude globs select, sorted; files named
    explicitly are taken whatever their globs say. With allowed_roots, a path outside them is an
    error, and a file whose real location is outside them (a symlink out) is skipped."""
    roots = [Path(r).resolve() for r in allowed_roots] if allowed_roots is not None else None
    found: dict[Path, None] = {}
    skipped: list[Skipped] = []
    for raw in paths:
        p = Path(raw)
        if roots is not None and not _inside(p.resolve(), roots):
            raise IngestError(f"path {raw} is outside the allowed roots ([server] allowed_roots: {', '.join(map(str, roots))})")
        if not p.exists():
            raise IngestError(f"path does not exist: {raw}")
        if p.is_file():
            found[p.resolve()] = None
            continue
        if not p.is_dir():
            raise IngestError(f"not a file or directory: {raw}")
        root = p.resolve()
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                f = Path(dirpath) / name
                rel = f.relative_to(root).as_posix()
                if not _selected(rel, opts):
                    continue
                real = f.resolve()
                if roots is not None and not _inside(real, roots):
                    skipped.append(Skipped(f.as_posix(), "links outside the allowed roots"))
                    continue
                found[real] = None
    return list(found), skipped


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_source(path: Path, opts: IngestOptions) -> bytes:
    """The file's bytes, or ExtractionError for anything that is not a readable regular file."""
    try:
        st = path.stat()
    except OSError as e:
        raise ExtractionError(f"cannot stat: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ExtractionError("not a regular file")
    if st.st_size > opts.max_file_bytes:
        raise ExtractionError(f"file is {st.st_size} bytes, over the limit of {opts.max_file_bytes} (index.max_file_mb)")
    try:
        return path.read_bytes()
    except OSError as e:
        raise ExtractionError(f"cannot read: {e.strerror}") from None


def load_document(path: Path, data: bytes, opts: IngestOptions) -> Document:
    source = path.as_posix()
    ex = extract(data, path.suffix if path.suffix.lower() in EXTRACTORS else ".txt")
    if not ex.text.strip():
        raise ExtractionError("no text")
    updated = None
    for key in ("updated", "updated_at", "last_modified", "date"):
        if key in ex.front_matter:
            updated = parse_date(ex.front_matter[key])
            if updated:
                break
    if updated is None:
        updated = rfc3339(dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC))
    source_type, authority = classify(source, opts)
    if "source_type" in ex.front_matter:
        source_type = ex.front_matter["source_type"]
    return Document(
        doc_id=stable_id("file", source),
        source=source,
        title=ex.title or path.stem.replace("_", " ").replace("-", " "),
        text=ex.text,
        sections=ex.sections,
        updated_at=updated,
        source_type=source_type,
        authority=authority,
        file_hash=file_hash(data),
    )
