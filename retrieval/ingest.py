"""Find files under the given paths and turn each into a Document (text, structure, metadata)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, Field

from ragate.retrieval.documents import Document, stable_id
from ragate.retrieval.errors import ExtractionError, IngestError
from ragate.retrieval.extract import EXTRACTORS, extract
from ragate.retrieval.globs import glob_match
from ragate.retrieval.sensitive import secret_glob, system_folder


@dataclass(frozen=True)
class SourceRule:
    glob: str
    source_type: str
    weight: float
    front_matter: bool = False  # files it matches may set their own source_type in front matter


@dataclass
class IngestOptions:
    include: list[str]
    exclude: list[str]
    max_file_bytes: int
    max_chars: int
    max_chunks: int
    rules: list[SourceRule] = field(default_factory=list)
    default_source_type: str = "document"
    default_authority: float = 0.5


SkipKind = Literal[
    "not_included",
    "excluded",
    "excluded_folder",
    "linked_folder",
    "secret",
    "system",
    "outside_roots",
    "duplicate",
    "unreadable",
    "unsupported",
    "too_large",
    "no_text",
    "failed",
]
SKIP_KINDS: tuple[SkipKind, ...] = get_args(SkipKind)
SKIP_LABELS: dict[str, str] = {
    "not_included": "not matched by [index] include",
    "excluded": "matched by [index] exclude",
    "excluded_folder": "folder(s) left out by [index] exclude",
    "linked_folder": "link(s) to a folder, not followed",
    "secret": "on the secret-file denylist",
    "system": "under a system folder",
    "outside_roots": "links outside the allowed roots",
    "duplicate": "the same file as another path",
    "unreadable": "unreadable",
    "unsupported": "not text (binary)",
    "too_large": "over a size limit",
    "no_text": "no text to index",
    "failed": "extraction failed",
}
# Kinds a user chose by configuration; the others are files a user may have expected to see indexed.
CHOSEN_KINDS = frozenset({"not_included", "excluded", "excluded_folder", "duplicate"})
# Kinds that name a folder, not a file: files_seen does not count them.
FOLDER_KINDS = frozenset({"excluded_folder", "linked_folder"})


class SkippedFile(BaseModel):
    """A file (or, for `excluded_folder`, a whole folder) seen and not indexed."""

    path: str
    reason: str
    kind: SkipKind = Field(description="why, as a category: " + ", ".join(SKIP_KINDS))


@dataclass
class Discovered:
    files: list[Path]
    skipped: list[SkippedFile]
    seen: int = 0  # files met, selected or not (an excluded folder's files are not walked)


def rfc3339(ts: dt.datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# A date this far ahead of the clock is not a modification time: a document claiming one would rank
# first on freshness forever, so it counts as undated (a day's slack covers clocks and time zones).
FUTURE_SLACK = dt.timedelta(days=1)


def parse_date(value: str, *, now: dt.datetime | None = None) -> str | None:
    """A front-matter date (2024-05-01, 2024-05-01T10:00:00+02:00, ...) as RFC 3339 UTC; None when
    it is not a date or lies in the future."""
    value = value.strip()
    if not value:
        return None
    try:
        ts = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return None if ts > (now or dt.datetime.now(dt.UTC)) + FUTURE_SLACK else rfc3339(ts)


def matching_rule(source: str, opts: IngestOptions) -> SourceRule | None:
    return next((r for r in opts.rules if r.glob and glob_match(source, r.glob)), None)


def classify(source: str, opts: IngestOptions) -> tuple[str, float]:
    """source_type and authority weight from the first path rule that matches."""
    rule = matching_rule(source, opts)
    if rule is not None:
        return rule.source_type or opts.default_source_type, rule.weight
    return opts.default_source_type, opts.default_authority


MAX_PATH_CHARS = 4096  # PATH_MAX on Linux; a longer name is refused before it touches the file system


def _not_selected(rel: str, opts: IngestOptions) -> tuple[SkipKind, str] | None:
    if not any(glob_match(rel, g) for g in opts.include):
        return "not_included", f"not matched by [index] include ({Path(rel).suffix or 'no extension'})"
    if pattern := _excluded(rel, opts):
        return "excluded", f"matches an exclude glob ([index] exclude: {pattern})"
    return None


def _excluded(path: str, opts: IngestOptions) -> str | None:
    return next((g for g in opts.exclude if glob_match(path, g)), None)


def _excluded_folder(rel: str, opts: IngestOptions) -> str | None:
    """The exclude glob of the form `FOLDER/**` that leaves out this whole folder: it is not walked."""
    return next((g for g in opts.exclude if g.endswith("/**") and glob_match(rel, g[:-3])), None)


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def shown(raw: object, limit: int = 200) -> str:
    """A path as errors show it: a hostile caller's megabyte-long name is cut, not echoed."""
    text = str(raw)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _resolve(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop
        raise ExtractionError(f"cannot resolve: {e}", "unreadable") from None


def _refusal(real: Path, given: str, opts: IngestOptions, *, named: bool) -> tuple[SkipKind, str] | None:
    """Why a file is never read: a system folder, a secret-file pattern (on the path given or where
    it leads), or, for a file named explicitly (which no include glob chose), an exclude glob."""
    if folder := system_folder(real):
        return "system", f"under {folder}, which is never indexed"
    for path in (given, real.as_posix()):
        if pattern := secret_glob(path):
            return "secret", f"matches the secret-file denylist ({pattern})"
        if named and (pattern := _excluded(path, opts)):
            return "excluded", f"matches an exclude glob ([index] exclude: {pattern})"
    return None


def discover(
    paths: Sequence[str | os.PathLike[str]], opts: IngestOptions, allowed_roots: Sequence[str | os.PathLike[str]] | None = None
) -> Discovered:
    """Regular files under the paths that the include/exclude globs select, sorted; a file named
    explicitly is taken unless excluded. Files in system folders or matching the secret-file
    denylist are never taken. With allowed_roots, a path outside them is an error, and a file whose
    real location is outside them (a symlink out) is skipped; an empty list allows nothing. Every
    file met and not taken is in `skipped`, with its reason."""
    roots = [Path(r).resolve() for r in allowed_roots] if allowed_roots is not None else None
    if roots == []:
        raise IngestError(
            "no folder may be indexed: set [server] allowed_roots, or start the server with a config file (its folder is the default root)"
        )
    found: dict[Path, None] = {}
    out = Discovered(files=[], skipped=[])

    def take(f: Path, target: Path, why: tuple[SkipKind, str] | None) -> None:
        out.seen += 1
        if why is None and target in found:
            why = "duplicate", "the same file as another path given (a link, or named twice)"
        if why is None:
            found[target] = None
        else:
            out.skipped.append(SkippedFile(path=f.as_posix(), kind=why[0], reason=why[1]))

    for raw in paths:
        if len(str(raw)) > MAX_PATH_CHARS:
            raise IngestError(f"path {shown(raw)} is over the limit of {MAX_PATH_CHARS} characters")
        p = Path(raw)
        try:
            real = _resolve(p)
        except ExtractionError as e:
            raise IngestError(f"path {shown(raw)}: {e}") from None
        if roots is not None and not _inside(real, roots):
            raise IngestError(f"path {shown(raw)} is outside the allowed roots ([server] allowed_roots: {', '.join(map(str, roots))})")
        if folder := system_folder(real):
            raise IngestError(f"path {shown(raw)} is under {folder}, which is never indexed")
        if not p.exists():
            raise IngestError(f"path does not exist: {shown(raw)}")
        if p.is_file():
            take(p, real, _refusal(real, p.absolute().as_posix(), opts, named=True))
            continue
        if not p.is_dir():
            raise IngestError(f"not a file or directory: {shown(raw)}")
        for dirpath, dirnames, filenames in os.walk(real, followlinks=False):
            here = Path(dirpath)
            walked = []
            for d in sorted(dirnames):
                if pattern := _excluded_folder((here / d).relative_to(real).as_posix(), opts):
                    reason = f"folder matches an exclude glob ([index] exclude: {pattern}); its files are not counted"
                    out.skipped.append(SkippedFile(path=(here / d).as_posix() + "/", kind="excluded_folder", reason=reason))
                elif (here / d).is_symlink():  # the walk does not follow links (loops, and folders outside)
                    reason = "a link to a folder, not followed; name its target to index it"
                    out.skipped.append(SkippedFile(path=(here / d).as_posix() + "/", kind="linked_folder", reason=reason))
                else:
                    walked.append(d)
            dirnames[:] = walked
            for name in sorted(filenames):
                f = here / name
                if why := _not_selected(f.relative_to(real).as_posix(), opts):
                    take(f, f, why)
                    continue
                try:
                    target = _resolve(f)
                except ExtractionError as e:
                    take(f, f, (e.skip_kind, str(e)))  # type: ignore[arg-type]
                    continue
                if roots is not None and not _inside(target, roots):
                    take(f, target, ("outside_roots", "links outside the allowed roots"))
                else:
                    take(f, target, _refusal(target, f.as_posix(), opts, named=False))
    out.files = list(found)
    return out


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_source(path: Path, opts: IngestOptions) -> bytes:
    """The file's bytes, or ExtractionError for anything that is not a readable regular file. The
    size limit holds on the bytes actually read: some files report a size of 0 and never end."""
    try:
        # Non-blocking, so opening a FIFO that slipped in between the walk and now cannot hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        raise ExtractionError(f"cannot read: {e.strerror}", "unreadable") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ExtractionError("not a regular file", "unreadable")
        try:
            data = fh.read(opts.max_file_bytes + 1)
        except OSError as e:
            raise ExtractionError(f"cannot read: {e.strerror}", "unreadable") from None
    if len(data) > opts.max_file_bytes:
        raise ExtractionError(f"file is over the limit of {opts.max_file_bytes} bytes ([index] max_file_mb)", "too_large")
    return data


def load_document(path: Path, data: bytes, opts: IngestOptions) -> Document:
    source = path.as_posix()
    ex = extract(data, path.suffix if path.suffix.lower() in EXTRACTORS else ".txt", max_chars=opts.max_chars, max_sections=opts.max_chunks)
    if not ex.text.strip():
        raise ExtractionError("no text", "no_text")
    updated = None
    for key in ("updated", "updated_at", "last_modified", "date"):
        if key in ex.front_matter:
            updated = parse_date(ex.front_matter[key])
            if updated:
                break
    if updated is None:  # the file's own time, which can be set too, so no later than now
        updated = rfc3339(min(dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC), dt.datetime.now(dt.UTC)))
    source_type, authority = classify(source, opts)
    # A trust label is the configuration's to give: a file sets its own only where a rule allows it.
    rule = matching_rule(source, opts)
    if "source_type" in ex.front_matter and rule is not None and rule.front_matter:
        source_type = ex.front_matter["source_type"][:100]
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
