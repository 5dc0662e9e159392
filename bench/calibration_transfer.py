"""Calibration on corpora it was not fitted on: none / default / self / labelled, side by side.

For each BEIR-format corpus (SciFact from ../shared; the corpora `bench.corpora` builds from this
machine's man pages and Python docs), the pools are built once and cached (reranking is the slow
part): the test queries' (judged by their qrels), the train queries' (the labelled fit's), the
shared off-topic questions' (split by id: one half fits the labelled gate, the other judges every
gate), and the self-calibration's (questions made from the collection and the bundled off-topic
set, exactly as `ragate calibrate --self` asks them). Then, from the caches:

- none: the reranker's sigmoid and the uncalibrated rule;
- labelled: `ragate calibrate`'s fits on the train pools and the off-topic fit half;
- self: `ragate calibrate --self`'s fit (server/lab/self_calibrate.fit_self_profile) on the self pools;
- default (leave-one-corpus-out): fitted on the other corpora's train and bundled off-topic pools
  with the transferable features only, no relevance calibration, and its threshold certified there.

Each is judged on the test pools and the off-topic judging half: off-topic and near-topic AUROC,
false-accept and false-abstain at its own threshold, false-accept at false-abstain <= 0.15, and
nDCG@10 of the blend at its weights beside hybrid's. `--write-default` fits the shipped default on
every corpus given and writes scoring/data/default_profile.json.

    python -m bench.corpora manpages --out /work/data/corpora/manpages
    python -m bench.corpora pydocs --deb python3.11-doc.deb --out /work/data/corpora/pydocs
    RAGATE_RERANKER_MODEL=../shared/models/ragate-ce-minilm-l6-scifact python -m bench.calibration_transfer \\
        ../shared/datasets/scifact /work/data/corpora/manpages /work/data/corpora/pydocs
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragate.retrieval.beir import BeirDataset, beir_collection, sample_queries
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.documents import Chunk, stable_id
from ragate.scoring.answerability import FEATURES, AnswerabilityModel, pool_features
from ragate.scoring.blend import blend
from ragate.scoring.calibration import Calibrator, fit
from ragate.scoring.gate import fallback_score
from ragate.scoring.profile import Profile, now
from ragate.server.config import Settings
from ragate.server.lab import gate_fit
from ragate.server.lab.blend_fit import LabelledQuery, blend_pair, choose_blend
from ragate.server.lab.evaluate import index_dataset, metrics, ranked_run
from ragate.server.lab.gate_fit import LabelledPool, fit_gate, judge, labelled_pools
from ragate.server.lab.self_calibrate import SelfPools, ask_self_questions, doc_key, fit_self_profile, keep_offtopic
from ragate.server.pipeline import Pipeline
from ragate.server.settings_loader import load_settings

log = logging.getLogger("bench.calibration_transfer")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OFFTOPIC = SHARED / "datasets" / "offtopic" / "queries.jsonl"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "scoring" / "data" / "default_profile.json"
# Features whose meaning does not hang on one reranker's scale: the bi-encoder's absolute cosine,
# lexical coverage, the channels' agreement, and the reranker's margin and spread within the pool.
TRANSFERABLE = ["margin", "top_cosine", "max_cosine", "coverage", "bm25_lead", "agreement", "spread"]
# Regularisation of the default: its corpora are not the user's. On the train queries of SciFact,
# man pages and the Python docs (leave-one-corpus-out), 0.1 kept off-topic false-accept and
# false-abstain lowest together among 1, 0.1 and 0.01.
DEFAULT_C = 0.1


# ---------------------------------------------------------------------------- cached pools


def _row(c: Candidate) -> dict[str, Any]:
    return {"chunk": c.chunk.model_dump(), "dense": c.dense, "bm25": c.bm25, "fused": c.fused, "rerank": c.rerank}


def _cand(r: dict[str, Any]) -> Candidate:
    """A cached candidate, its relevance the reranker's sigmoid until a calibration is applied."""
    z = r["rerank"]
    relevance = None if z is None else float(Calibrator()([z])[0])
    return Candidate(
        chunk=Chunk.model_validate(r["chunk"]), dense=r["dense"], bm25=r["bm25"], fused=r["fused"], rerank=z, relevance=relevance
    )


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    tmp.replace(path)


def _read(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    for r in rows:
        r["pool"] = [_cand(c) for c in r["pool"]]
    return rows


def _ask(p: Pipeline, collection: str, queries: dict[str, str], relevant: dict[str, list[str]] | None) -> list[dict[str, Any]]:
    out = []
    for i, (qid, text) in enumerate(queries.items()):
        r = p.retriever.rank(text, collection=collection, degrade=False, need_relevance=True)
        if r.candidates and r.stage is None:
            p.models.require_reranker()
        out.append(
            {"id": qid, "text": text, "relevant": None if relevant is None else relevant[qid], "pool": [_row(c) for c in r.candidates]}
        )
        if i % 25 == 0:
            print(f"  {collection}: {i}/{len(queries)}", file=sys.stderr, flush=True)
    return out


def build_pools(p: Pipeline, dataset: Path, cache: Path, *, queries: int, train_queries: int) -> None:
    """Each query set's pools, reranked once (sets already cached are kept)."""
    collection = beir_collection(dataset)
    index_dataset(p.catalog, BeirDataset.load(dataset, "test"), collection, progress=False)
    for split, n in (("test", queries), ("train", train_queries)):
        path = cache / f"{split}.jsonl.gz"
        if not path.is_file():
            ds = BeirDataset.load(dataset, split)
            qids = sample_queries(ds, n)
            rel = {q: [stable_id("beir", d) for d, g in ds.qrels[q].items() if g > 0] for q in qids}
            _write(path, _ask(p, collection, {q: ds.queries[q] for q in qids}, rel))
    if not (cache / "offtopic.jsonl.gz").is_file():
        rows = [json.loads(line) for line in OFFTOPIC.read_text().splitlines() if line.strip()]
        _write(cache / "offtopic.jsonl.gz", _ask(p, collection, {str(r["_id"]): r["text"] for r in rows}, None))
    if not (cache / "self.json.gz").is_file():
        started = time.monotonic()
        asked = ask_self_questions(p.retriever, collection=collection)
        whole: dict[str, list[Candidate]] = {}
        for lp in asked.pools:  # the answerable pool is the whole pool; without one, the near-topic pool is
            if lp.kind == "answerable" or lp.group not in whole:
                whole[lp.group] = lp.pool
        rows = [
            {"id": g, "text": next(lp.query for lp in asked.pools if lp.group == g), "relevant": [asked.source[g]], "pool": pool}
            for g, pool in whole.items()
        ]
        rows += [{"id": lp.group, "text": lp.query, "relevant": None, "pool": lp.pool} for lp in asked.offtopic]
        meta = {
            "chunks": asked.chunks,
            "questions_made": asked.questions_made,
            "candidates": asked.candidates,
            "seconds": round(time.monotonic() - started, 1),
        }
        _write(cache / "self.json.gz", [meta, *({**r, "pool": [_row(c) for c in r["pool"]]} for r in rows)])


def load_self(cache: Path, collection: str) -> SelfPools:
    with gzip.open(cache / "self.json.gz", "rt", encoding="utf-8") as fh:
        meta, *rows = [json.loads(line) for line in fh]
    pools, off = [], []
    for r in rows:
        pool = [_cand(c) for c in r["pool"]]
        if r["relevant"] is None:
            off.append(LabelledPool(r["id"], r["text"], pool, "off_topic"))
        else:
            pools += labelled_pools(qid=r["id"], query=r["text"], pool=pool, relevant=set(r["relevant"]), key=doc_key)
    source = {r["id"]: r["relevant"][0] for r in rows if r["relevant"]}
    return SelfPools(
        collection, meta.get("chunks", 0), meta["candidates"], meta["questions_made"], pools, off, source, meta["seconds"], False
    )


def labelled(rows: list[dict[str, Any]]) -> list[LabelledPool]:
    out = []
    for r in rows:
        out += labelled_pools(
            qid=r["id"], query=r["text"], pool=r["pool"], relevant=None if r["relevant"] is None else set(r["relevant"]), key=doc_key
        )
    return out


def offtopic_halves(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(fit half, judging half) by id, fixed."""
    ids = sorted(r["id"] for r in rows)
    fit_ids = set(ids[0::2])
    return [r for r in rows if r["id"] in fit_ids], [r for r in rows if r["id"] not in fit_ids]


# ---------------------------------------------------------------------------- fits


def recalibrate(pools: list[LabelledPool] | list[list[Candidate]], calibrator: Calibrator) -> None:
    """gate_fit.recalibrate over labelled pools and bare candidate lists alike."""
    cands = {id(c): c for lp in pools for c in (lp.pool if isinstance(lp, LabelledPool) else lp)}.values()
    gate_fit.recalibrate(cands, calibrator)


def fit_labelled(
    train: list[dict[str, Any]], off_fit: list[dict[str, Any]], bundled: list[LabelledPool], bm25, in_force, fitted_for
) -> Profile:
    """`ragate calibrate --dataset --offtopic-queries --fit-blend` on cached pools: the train
    queries, the off-topic fit half and the bundled off-topic questions the collection does not
    answer (the same as self-calibration keeps)."""
    z, y = [], []
    for r in train:
        for c in sorted(r["pool"], key=lambda c: -c.fused)[:20]:
            if c.rerank is not None:
                z.append(c.rerank)
                y.append(1.0 if c.chunk.doc_id in r["relevant"] else 0.0)
    relevance = fit(np.asarray(z), np.asarray(y), "platt", fitted_for["reranker"], fitted_for["chunking"], "train")
    recalibrate(labelled(train) + bundled, Calibrator())
    kept = keep_offtopic(bundled, [lp for lp in labelled(train) if lp.kind == "answerable"], bm25)
    pools = labelled(train) + labelled(off_fit) + kept
    recalibrate(pools, Calibrator(relevance))
    model, _ = fit_gate(pools, bm25=bm25, max_false_accept=0.05, confidence=0.9)
    queries = [LabelledQuery(r["id"], r["text"], "", {d: 1 for d in r["relevant"]}) for r in train if r["pool"]]
    choice = choose_blend(queries, [r["pool"] for r in train if r["pool"]], in_force, doc_key)
    return Profile(source="labelled", relevance=relevance, answerability=model, blend=blend_pair(choice))


def fit_default(corpora: list[dict[str, Any]], bm25, in_force, features: list[str]) -> Profile:
    """Fitted on other corpora: their train pools and their bundled off-topic pools, sigmoid relevance."""
    pools: list[LabelledPool] = []
    queries, qpools = [], []
    for c in corpora:
        recalibrate(c["train_pools"] + [lp.pool for lp in c["self"].offtopic], Calibrator())
        answerable = [lp for lp in c["train_pools"] if lp.kind == "answerable"]
        kept_off = keep_offtopic(c["self"].offtopic, answerable, bm25)
        pools += [LabelledPool(f"{c['name']}:{lp.group}", lp.query, lp.pool, lp.kind) for lp in c["train_pools"] + kept_off]
        queries += [LabelledQuery(r["id"], r["text"], "", {d: 1 for d in r["relevant"]}) for r in c["train"] if r["pool"]]
        qpools += [r["pool"] for r in c["train"] if r["pool"]]
    model, _ = fit_gate(pools, bm25=bm25, max_false_accept=0.05, confidence=0.9, c=DEFAULT_C, features=features)
    choice = choose_blend(queries, qpools, in_force, doc_key)
    return Profile(source="default", answerability=model, blend=blend_pair(choice))


# ---------------------------------------------------------------------------- judging


def gate_scores(pools: list[LabelledPool], model: AnswerabilityModel | None, bm25, min_score: float) -> tuple[np.ndarray, float]:
    feats = [pool_features(query=lp.query, pool=lp.pool, bm25=bm25) for lp in pools]
    if model is None or model.threshold is None:
        return np.array([fallback_score(f) for f in feats]), min_score
    return model.predict(feats), float(model.threshold)


def judge_profile(
    profile: Profile, test: list[dict[str, Any]], off_judge: list[dict[str, Any]], bm25, settings: Settings, in_force
) -> dict[str, Any]:
    pools = labelled(test) + labelled(off_judge)
    recalibrate(pools + [r["pool"] for r in test], profile.calibrator())
    s, t = gate_scores(pools, profile.answerability, bm25, settings.gate.min_score)
    kinds = np.array([lp.kind for lp in pools])
    pos = kinds == "answerable"
    out: dict[str, Any] = {"threshold": round(t, 4)}
    for kind in ("near_topic", "off_topic"):
        j = judge(s[pos], s[kinds == kind], {"at": t})
        out[kind] = {
            "auroc": j["auroc"],
            "fa": j["at"]["false_accept_rate"],
            "fab": j["at"]["false_abstain_rate"],
            "fa_at_fab_0.15": j["at_false_abstain_0.15"]["false_accept_rate"],
        }
    w = (
        in_force
        if profile.blend is None
        else dataclasses.replace(in_force, relevance=profile.blend.w_relevance, retrieval=profile.blend.w_retrieval)
    )
    qrels = {r["id"]: {d: 1 for d in r["relevant"]} for r in test}
    run = {r["id"]: ranked_run(blend(list(r["pool"]), w), doc_key) for r in test if r["pool"]}
    out["blend"] = {"w_relevance": w.relevance, "w_retrieval": w.retrieval, "ndcg@10": metrics(qrels, run)["ndcg@10"]}
    hybrid = {r["id"]: {doc_key(c): c.fused for c in r["pool"]} for r in test if r["pool"]}
    out["hybrid_ndcg@10"] = metrics(qrels, hybrid)["ndcg@10"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("datasets", nargs="+", help="BEIR-format corpus directories")
    ap.add_argument(
        "--cache", default=str(Path.home() / ".cache" / "ragate-bench" / "calibration"), help="pools and index, outside the clone"
    )
    ap.add_argument("--queries", type=int, default=100, help="test queries per corpus (default 100)")
    ap.add_argument("--train-queries", type=int, default=60, help="train queries per corpus, for the labelled fit (default 60)")
    ap.add_argument("--candidates", type=int, default=30, help="[retrieval] candidates for every pool (default 30)")
    ap.add_argument("--write-default", action="store_true", help="fit the default on the corpora given and write it to scoring/data")
    ap.add_argument("--held-out", default="", help="corpora (folder names, comma-separated) kept out of the written default")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    cache = Path(args.cache)
    env = {**os.environ, "RAGATE_QDRANT_PATH": str(cache / "qdrant"), "RAGATE_RETRIEVAL_CANDIDATES": str(args.candidates)}
    settings = load_settings(None, env)
    p = Pipeline(settings)
    p.models.load()
    bm25, in_force = p.models.bm25, p.catalog.blend_weights()
    fitted_for = p.catalog.fitted_for()
    corpora = []
    for d in map(Path, args.datasets):
        c = cache / d.resolve().name
        build_pools(p, d, c, queries=args.queries, train_queries=args.train_queries)
        train, test, off = _read(c / "train.jsonl.gz"), _read(c / "test.jsonl.gz"), _read(c / "offtopic.jsonl.gz")
        off_fit, off_judge = offtopic_halves(off)
        corpora.append(
            {
                "name": d.resolve().name,
                "train": train,
                "test": test,
                "off_fit": off_fit,
                "off_judge": off_judge,
                "train_pools": labelled(train),
                "self": load_self(c, beir_collection(d)),
            }
        )
    results: dict[str, Any] = {
        "machine": _machine(),
        "candidates": args.candidates,
        "queries": args.queries,
        "train_queries": args.train_queries,
        "self_questions": settings.calibration.questions,
        "self_offtopic": settings.calibration.offtopic,
        "corpora": {},
    }
    for c in corpora:
        others = [o for o in corpora if o is not c]
        profiles = {"none": Profile()}
        if others:
            profiles["default"] = fit_default(others, bm25, in_force, TRANSFERABLE)
            profiles["default_all_features"] = fit_default(others, bm25, in_force, list(FEATURES))
        profiles["self"], figures = fit_self_profile(c["self"], bm25=bm25, in_force=in_force, fitted_for=fitted_for)
        profiles["labelled"] = fit_labelled(c["train"], c["off_fit"], c["self"].offtopic, bm25, in_force, fitted_for)
        results["corpora"][c["name"]] = {
            "self_fit": {k: figures[k] for k in ("questions_made", "answerable", "offtopic_kept", "offtopic_asked", "seconds")},
            **{name: judge_profile(prof, c["test"], c["off_judge"], bm25, settings, in_force) for name, prof in profiles.items()},
        }
    if args.write_default:
        held_out = set(filter(None, args.held_out.split(",")))
        fitting = [c for c in corpora if c["name"] not in held_out]
        prof = fit_default(fitting, bm25, in_force, TRANSFERABLE)
        if prof.answerability is not None:  # the gate reads as many candidates as the pools it was fitted on
            prof.answerability.pool = args.candidates
        prof = prof.model_copy(
            update={
                "embedder": fitted_for["embedder"],
                "fitted_on": "train queries of " + ", ".join(c["name"] for c in fitting) + " and the bundled off-topic questions",
                "fitted_at": now(),
            }
        )
        DEFAULT_OUT.write_text(json.dumps(prof.model_dump(), indent=2) + "\n")
        results["default_written"] = str(DEFAULT_OUT)
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    return 0


def _machine() -> str:
    import platform

    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores"


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Machine: {results['machine']}; {results['queries']} test queries per corpus, {results['candidates']} candidates per pool.",
        "",
        "| corpus | calibration | threshold | off-topic AUROC | FA | FAb | FA at FAb<=0.15 | near-topic AUROC | blend nDCG@10 (w_rel/w_ret) | hybrid |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["corpora"].items():
        for cal, j in r.items():
            if cal == "self_fit":
                continue
            o, n, b = j["off_topic"], j["near_topic"], j["blend"]
            lines.append(
                f"| {name} | {cal} | {j['threshold']:.3f} | {o['auroc']} | {o['fa']:.3f} | {o['fab']:.3f} | {o['fa_at_fab_0.15']:.3f} | {n['auroc']} | {b['ndcg@10']:.3f} ({b['w_relevance']:g}/{b['w_retrieval']:g}) | {j['hybrid_ndcg@10']:.3f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
