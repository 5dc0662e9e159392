"""Indexing speed against its floor: `Indexer.index_documents` on a slice of SciFact (chunking,
embedding, BM25, Qdrant writes) against a plain `SentenceTransformer.encode` (PyTorch) of the same
chunk texts with the same model and batch size, side by side in one run.

    python -m bench.index_speed [--json] [--docs 1000] [--repeats 2] [--embedder-backend auto]
    python -m bench.index_speed --folder DIR [--json] [--repeats 2]

Prints chunks/s for both and their ratio (index seconds / encode seconds; 1.0 means indexing costs
no more than embedding in PyTorch, below 1.0 the embedder's engine is faster than the floor). It
also times the embedder's engine alone (the one `[embedder] backend` picked, named in the output)
on the same texts and reports the lowest cosine between its vectors and the floor's. Runs
alternate floor, engine and index so machine load hits all alike; the best run of each is
reported, with its time per stage (read, extract, chunk, embed, bm25, write: the report's
`stage_seconds`). With --folder, a real folder is indexed through `index_paths` (reading and
extracting every file, as `ragate index` does) instead of SciFact's abstracts; its chunk texts for
the floor are those the same extraction and chunking produce. With --json the last line is one
JSON object."""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "datasets" / "scifact"
RERANKER = os.environ.get("RAGATE_RERANKER_MODEL") or str(ROOT.parent / "shared" / "models" / "ragate-ce-minilm-l6-scifact")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.index_speed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default=str(DATASET), help="BEIR-format dataset whose corpus is indexed")
    ap.add_argument("--docs", type=int, default=1000, help="first documents of the corpus to index")
    ap.add_argument("--folder", help="index this folder through index_paths instead of the dataset")
    ap.add_argument("--repeats", type=int, default=2, help="alternating floor/engine/index runs (best of each is reported)")
    ap.add_argument("--embedder-backend", default="auto", help="[embedder] backend for the indexing run (default auto)")
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from ragate.retrieval.beir import BeirDataset
    from ragate.retrieval.chunking import chunk_document, indexed_text
    from ragate.scoring.engines.choice import min_cosine
    from ragate.server.config import Settings
    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline

    with tempfile.TemporaryDirectory(prefix="ragate-index-speed-") as tmp:
        settings = Settings.model_validate(
            {"qdrant": {"path": f"{tmp}/qdrant"}, "embedder": {"backend": args.embedder_backend}, "reranker": {"model": RERANKER}}
        )
        models = Models(settings).load(need_reranker=False)
        pipeline = Pipeline(settings, models)
        embedder = models.require_embedder()
        docs = (
            folder_documents(Path(args.folder), pipeline)
            if args.folder
            else list(itertools.islice(BeirDataset.load(Path(args.dataset), "test").documents(), args.docs))
        )
        texts = [indexed_text(c) for d in docs for c in chunk_document(d, models.token_offsets, models.chunking())]
        log(f"{len(docs)} documents, {len(texts)} chunks; embedder {settings.embedder.model}, batch size {embedder.batch_size}")

        log(f"embedder engine {embedder.kind}: {embedder.engine_reason}")
        vectors = {}

        def floor(some: list[str] = texts) -> float:
            t0 = time.perf_counter()
            vectors["floor"] = embedder.model.encode(some, batch_size=embedder.batch_size, normalize_embeddings=True, convert_to_numpy=True)
            return time.perf_counter() - t0

        def engine(some: list[str] = texts) -> float:
            t0 = time.perf_counter()
            vectors["engine"] = embedder.encode(some)
            return time.perf_counter() - t0

        stages: list[dict[str, float]] = []

        def index(run: int) -> float:
            t0 = time.perf_counter()
            indexer = pipeline.catalog.indexer(f"speed{run}")
            report = indexer.index_paths([args.folder]) if args.folder else indexer.index_documents(docs)
            assert report.chunks_written == len(texts), report
            stages.append({k: round(v, 2) for k, v in report.stage_seconds.items()})
            return time.perf_counter() - t0

        floor(texts[:256])  # warm-up: first-call allocations and thread pools
        engine(texts[:256])
        floor_s, engine_s, index_s = [], [], []
        for run in range(args.repeats):
            floor_s.append(floor())
            engine_s.append(engine())
            index_s.append(index(run))
            log(
                f"run {run + 1}: floor {floor_s[-1]:.1f} s, {embedder.kind} encode {engine_s[-1]:.1f} s, "
                f"index {index_s[-1]:.1f} s (x{index_s[-1] / floor_s[-1]:.2f}); stages "
                + ", ".join(f"{k} {v:.1f} s" for k, v in stages[-1].items())
            )
        pipeline.close()

    best_floor, best_engine, best_index = min(floor_s), min(engine_s), min(index_s)
    report = {
        "corpus": args.folder or f"{Path(args.dataset).name} (first {args.docs} documents)",
        "documents": len(docs),
        "chunks": len(texts),
        "batch_size": embedder.batch_size,
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "floor_s": [round(s, 2) for s in floor_s],
        "engine_s": [round(s, 2) for s in engine_s],
        "index_s": [round(s, 2) for s in index_s],
        "floor_chunks_per_s": round(len(texts) / best_floor, 1),
        "embedder_engine": embedder.kind,
        "embedder_engine_reason": embedder.engine_reason,
        "engine_chunks_per_s": round(len(texts) / best_engine, 1),
        "engine_min_cosine_to_floor": round(min_cosine(vectors["floor"], vectors["engine"]), 5),
        "chunks_per_s": round(len(texts) / best_index, 1),
        "ratio_to_embedding_floor": round(best_index / best_floor, 3),
        "ratio_to_engine_encode": round(best_index / best_engine, 3),
        "stage_seconds": stages[index_s.index(best_index)],
    }
    log(
        f"index {report['chunks_per_s']} chunks/s vs floor {report['floor_chunks_per_s']} chunks/s → x{report['ratio_to_embedding_floor']}; "
        f"{embedder.kind} encode alone {report['engine_chunks_per_s']} chunks/s (index x{report['ratio_to_engine_encode']} its time), "
        f"min cosine to the floor {report['engine_min_cosine_to_floor']}; the best index run's stages: "
        + ", ".join(f"{k} {v} s" for k, v in report["stage_seconds"].items())
    )
    if args.json:
        print(json.dumps(report))
    return 0


def folder_documents(folder: Path, pipeline) -> list:
    """The documents `index_paths` makes of a folder's files, read and extracted the same way."""
    from ragate.retrieval.errors import ExtractionError
    from ragate.retrieval.ingest import discover, load_document, read_source

    options = pipeline.catalog.ingest_options
    docs = []
    for path in discover([folder], options, None).files:
        try:
            docs.append(load_document(path, read_source(path, options), options))
        except ExtractionError:
            continue  # skipped by indexing too, with its reason
    return docs


if __name__ == "__main__":
    sys.exit(main())
