"""How long `ragate calibrate --self` takes on a collection of about 10,000 chunks, and what it fitted on.

    RAGATE_RERANKER_MODEL=../shared/models/ragate-ce-minilm-l6-scifact python -m bench.self_calibration_speed [--json]

SciFact's 5,183 abstracts (../shared) make 9,173 chunks. The collection is indexed once into a cache
outside the clone; then the self-calibration runs as the CLI runs it, at the settings in force
([calibration] questions, offtopic, candidates, max_minutes), and the figures it stores are printed
with the wall time, the reranker's engine and the machine."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from bench.real_folder import machine, settle
from ragate.retrieval.beir import BeirDataset, beir_collection
from ragate.server.lab.evaluate import index_dataset
from ragate.server.lab.self_calibrate import self_calibrate
from ragate.server.pipeline import Pipeline
from ragate.server.settings_loader import load_settings

SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "scifact"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(SCIFACT), help="a BEIR-format folder (default SciFact from ../shared)")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "ragate-bench" / "self_calibration"), help="the index")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = load_settings(None, {**os.environ, "RAGATE_QDRANT_PATH": str(Path(args.cache) / "qdrant")})
    p = Pipeline(settings)
    p.models.load()
    collection = beir_collection(args.dataset)
    started = time.monotonic()
    index_dataset(p.catalog, BeirDataset.load(args.dataset, "test"), collection, progress=True)
    index_s = time.monotonic() - started
    settle(p)
    p.retriever.rank("warm up the reranker's engine", collection=collection, need_relevance=True)
    started = time.monotonic()
    fig = self_calibrate(p.retriever, collection=collection, progress=True)
    seconds = time.monotonic() - started
    reranker = p.models.require_reranker()
    asked = fig["questions_asked"] + fig["offtopic_asked"]
    res = {
        "machine": machine(),
        "chunks": fig["chunks"],
        "index_s": round(index_s, 1),
        "self_calibration_s": round(seconds, 1),
        "stopped_early": fig["stopped_early"],
        "engine": f"{reranker.kind} on {reranker.device}",
        "candidates": fig["candidates"],
        "questions_made": fig["questions_made"],
        "pools": {"answerable": fig["answerable"], "near_topic": fig["near_topic"], "off_topic": fig["offtopic_kept"]},
        "offtopic_asked": fig["offtopic_asked"],
        "pairs_reranked": asked * fig["candidates"],
        "gate": {k: fig["gate"][k] for k in ("threshold", "false_accept_bound", "false_abstain_rate")},
        "blend": fig["blend"]["chosen"],
        "reranker_gain": fig["blend"]["reranker_gain"],
    }
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(
            f"{res['machine']}: {res['chunks']} chunks; calibrate --self {res['self_calibration_s']} s "
            f"({'stopped at max_minutes' if res['stopped_early'] else 'every question asked'}), {res['engine']}, "
            f"{res['candidates']} candidates a pool; pools: {res['pools']} (of {res['offtopic_asked']} off-topic asked); "
            f"threshold {res['gate']['threshold']}, bound {res['gate']['false_accept_bound']}; blend {res['blend']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
