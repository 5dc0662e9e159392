"""Incremental indexing: files or inline documents → chunks → dense + BM25 vectors → the store.

Each batch is one upsert (all chunks of a file land together); a changed file's old chunks are
deleted only after its new ones are written, so a crash leaves either version, never neither, and
a re-run finishes the job. A file that fails in any way (unreadable, corrupt, a symlink loop, or
expanding past the per-file limits) is skipped with its reason and the rest are indexed."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.chunking import ChunkingSettings, TokenOffsets, chunk_document, indexed_text
from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.documents import Chunk, Document
from ragate.retrieval.embedder import Embedder
from ragate.retrieval.errors import Cancelled, DeadlineExceeded, ExtractionError
from ragate.retrieval.ingest import CHOSEN_KINDS, SKIP_KINDS, IngestOptions, SkippedFile, discover, file_hash, load_document, read_source
from ragate.retrieval.progress import progress_bar
from ragate.retrieval.remote_embedder import RemoteEmbedder
from ragate.retrieval.store import Store

log = logging.getLogger(__name__)
# Skipped entries an MCP response lists at most (a source tree can leave thousands out by glob).
LISTED_SKIPS = 100


class IndexReport(BaseModel):
    collection: str
    files_seen: int = Field(0, description="files met under the paths, selected or not: indexed + unchanged + skipped files")
    documents_indexed: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    chunks_written: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list, description="every file (or excluded folder) not indexed, and why")
    skipped_by_kind: dict[str, int] = Field(default_factory=dict, description="skipped entries counted by kind, all of them")
    skipped_not_listed: int = Field(0, description="entries of `skipped` left out of this response (skipped_by_kind counts them)")
    seconds: float = 0.0
    stage_seconds: dict[str, float] = Field(
        default_factory=dict,
        description="seconds per stage of the indexing: read (files and hashes), extract (text from each format), chunk "
        "(with the passage-quality flags), embed, bm25, write (the store's upserts, stale deletions and flushes), optimize "
        "(building the search index of what grew past the engine's indexing threshold)",
    )

    @contextlib.contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        """Add the time the block takes to `stage`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.perf_counter() - started

    def skip(self, entry: SkippedFile) -> None:
        self.skipped.append(entry)
        self.skipped_by_kind[entry.kind] = self.skipped_by_kind.get(entry.kind, 0) + 1

    def listed(self, limit: int = LISTED_SKIPS) -> IndexReport:
        """The report with at most `limit` skipped entries, those a user did not choose first (an
        unreadable file before one the include globs leave out); the counts stay whole."""
        ordered = sorted(self.skipped, key=lambda e: (e.kind in CHOSEN_KINDS, SKIP_KINDS.index(e.kind)))
        return self.model_copy(update={"skipped": ordered[:limit], "skipped_not_listed": max(0, len(ordered) - limit)})


@dataclass
class Indexer:
    store: Store
    embedder: Embedder | RemoteEmbedder
    bm25: Bm25Encoder
    token_offsets: TokenOffsets
    chunking: ChunkingSettings
    ingest: IngestOptions
    batch_chunks: int = 256
    _pending: list[tuple[Document, list[Chunk]]] = field(default_factory=list)

    def _flush(self, report: IndexReport) -> None:
        check_deadline("indexing")  # between batches: what is written stays whole
        if not self._pending:
            return
        chunks = [c for _, cs in self._pending for c in cs]
        texts = [indexed_text(c) for c in chunks]
        with report.timing("embed"):
            dense = self.embedder.encode(texts)
        with report.timing("bm25"):
            sparse = self.bm25.encode_documents(texts, [c.lang for c in chunks])
        with report.timing("write"):
            self.store.upsert(chunks, dense, sparse)
            for doc, _ in self._pending:
                self.store.delete_stale(doc.doc_id, doc.file_hash)
        report.chunks_written += len(chunks)
        report.documents_indexed += len(self._pending)
        self._pending.clear()

    def _add(self, doc: Document, report: IndexReport) -> None:
        with report.timing("chunk"):
            chunks = chunk_document(doc, self.token_offsets, self.chunking)
        if not chunks:
            report.skip(SkippedFile(path=doc.source, kind="no_text", reason="no text to index"))
            return
        if len(chunks) > self.ingest.max_chunks:
            reason = f"{len(chunks)} chunks, over the limit of {self.ingest.max_chunks} ([index] max_chunks_per_file)"
            report.skip(SkippedFile(path=doc.source, kind="too_large", reason=reason))
            return
        self._pending.append((doc, chunks))
        if sum(len(cs) for _, cs in self._pending) >= self.batch_chunks:
            self._flush(report)

    def index_documents(
        self,
        docs: Iterable[Document],
        report: IndexReport | None = None,
        progress: bool = False,
        total: int | None = None,
        manifest: dict | None = None,
    ) -> IndexReport:
        """Index documents whose content changed; a document whose file_hash is already stored is skipped."""
        return self._index(progress_bar(docs, progress, "indexing", total=total, unit="doc"), report, manifest)

    def _index(self, docs: Iterable[Document], report: IndexReport | None, manifest: dict | None) -> IndexReport:
        report = report or IndexReport(collection=self.store.name)
        t0 = time.perf_counter()
        manifest = self.store.manifest() if manifest is None else manifest
        try:
            for doc in docs:
                known = manifest.get(doc.source)
                if known is not None and known["file_hashes"] == {doc.file_hash}:
                    report.documents_unchanged += 1
                    continue
                self._add(doc, report)
            self._flush(report)
        except (Cancelled, DeadlineExceeded) as e:  # between batches: what was written is whole, and says so
            with report.timing("write"):
                self.store.flush()
            raise type(e)(
                f"{e}; {report.documents_indexed} document(s) ({report.chunks_written} chunks) were indexed before it stopped "
                "and stay indexed; run it again to index the rest"
            ) from None
        with report.timing("write"):
            self.store.flush()
        if report.chunks_written:
            with report.timing("optimize"):
                self.store.optimize()
        report.seconds += time.perf_counter() - t0
        return report

    def index_paths(
        self,
        paths: Sequence[str | os.PathLike[str]],
        prune: bool = False,
        progress: bool = False,
        allowed_roots: list[str] | None = None,
    ) -> IndexReport:
        """Index what the paths select; `progress` draws a bar of files read on stderr (or reports
        it to the reporter in force, retrieval/progress.py)."""
        report = IndexReport(collection=self.store.name)
        t0 = time.perf_counter()
        found = discover(paths, self.ingest, allowed_roots)
        files = found.files
        for entry in found.skipped:
            report.skip(entry)
        report.files_seen = found.seen
        manifest = self.store.manifest()

        def documents() -> Iterable[Document]:
            for path in progress_bar(files, progress, "indexing files", unit="file"):
                source = path.as_posix()
                try:
                    with report.timing("read"):
                        data = read_source(path, self.ingest)
                        h = file_hash(data)
                    known = manifest.get(source)
                    if known is not None and known["file_hashes"] == {h}:
                        report.documents_unchanged += 1
                        continue
                    with report.timing("extract"):
                        doc = load_document(path, data, self.ingest)
                    yield doc
                except ExtractionError as e:
                    log.warning("skipped %s: %s", source, e)
                    report.skip(SkippedFile(path=source, kind=e.skip_kind, reason=str(e)))  # type: ignore[arg-type]
                except Exception as e:  # an extractor bug or a library's surprise: this file only
                    log.warning("skipped %s: %s", source, e, exc_info=True)
                    report.skip(SkippedFile(path=source, kind="failed", reason=f"cannot extract: {type(e).__name__}: {str(e)[:200]}"))

        self._index(documents(), report, manifest)
        if prune:
            report.documents_removed = self.prune(paths, {p.as_posix() for p in files}, manifest)
        report.seconds = time.perf_counter() - t0
        return report

    def prune(self, roots: list[str | os.PathLike[str]], present: set[str], manifest: dict) -> int:
        """Remove documents under the given folders whose files are gone (or no longer selected)."""
        prefixes = [Path(r).resolve().as_posix().rstrip("/") + "/" for r in roots if Path(r).is_dir()]
        gone = [e["doc_id"] for src, e in manifest.items() if any(src.startswith(p) for p in prefixes) and src not in present]
        self.store.delete_documents(gone)
        self.store.flush()
        return len(gone)
