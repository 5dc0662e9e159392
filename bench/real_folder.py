"""Trust on a real folder: a user's own documents, indexed, self-calibrated, then asked questions
written with the chunk that answers them, questions it cannot answer (off-topic) and near misses
(on the folder's topics, but the folder does not hold the answer).

    python -m bench.real_folder_corpus --out /tmp/realfolder
    RAGATE_RERANKER_MODEL=../shared/models/ragate-ce-minilm-l6-scifact \\
        python -m bench.real_folder /tmp/realfolder/dev bench/data/real_folder/dev/questions.jsonl

A corpus is chosen by its folder and its questions: dev, heldout, heldout2 or heldout3 in place of dev above.

A chunk answers a question when it comes from the question's file and holds its `answer` string
(case and spacing ignored); an answer "carries the fact" when one of its passages holds that string.
"fused" is the recall stage's order; "hybrid" what `ragate search --no-rerank` returns (the blend
without relevance, [blend] as configured); "blend" what search returns under each calibration.
Each question's pool is retrieved and reranked once; every calibration the collection has (none,
the shipped default, self) then recalibrates, blends and gates those same pools with the product's
own code (scoring.blend, scoring.gate), so the columns differ only by the calibration. The
candidates sweep asks every question again at [retrieval] candidates 20, 50, 100 and 200 and
counts the gate's decisions that differ from those at 100. A near-topic pool is an answerable
question's pool without its file's chunks; the figure in brackets leaves out the pools where another
file still states the answer string (a tool's man page beside its HTML manual)."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import math
import os
import pickle
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.errors import BadInput
from ragate.scoring.blend import blend_pool
from ragate.scoring.gate import decide
from ragate.scoring.profile import NONE, Profile
from ragate.server.lab.gate_fit import auroc, recalibrate
from ragate.server.lab.self_calibrate import ask_self_questions, fit_self_profile
from ragate.server.pipeline import Pipeline
from ragate.server.requests import IndexRequest
from ragate.server.settings_loader import load_settings
from ragate.server.timing import Timer

log = logging.getLogger("bench.real_folder")
SWEEP = (20, 50, 100, 200)
T = TypeVar("T")


def norm(s: str) -> str:
    return " ".join(s.lower().split())


def holds(c: Candidate, answer: str) -> bool:
    return norm(answer) in norm(c.chunk.text)


def answers(c: Candidate, q: dict[str, Any], folder: Path) -> bool:
    """The chunk comes from the question's file and holds its answer string."""
    return Path(c.chunk.source).resolve() == (folder / q["file"]).resolve() and holds(c, q["answer"])


def ndcg10(ranked: list[Candidate], relevant: list[bool], ideal: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(relevant[:10]) if r)
    best = sum(1 / math.log2(i + 2) for i in range(min(10, ideal)))
    return dcg / best if best else 0.0


def pool_of(p: Pipeline, text: str, collection: str, n: int) -> list[Candidate]:
    """The fused pool of n candidates, reranked (raw logits; each calibration recalibrates them)."""
    timer = Timer()
    cands = p.retriever.pool(text, n=n, filters=None, collection=collection, timer=timer)
    if cands and p.retriever.rerank_pool(text, cands, profile=p.catalog.profile(collection), timer=timer) is None:
        p.models.require_reranker()
    return cands


def judge(p: Pipeline, prof: Profile, q: dict[str, Any], pool: list[Candidate], folder: Path) -> dict[str, Any]:
    """One question's search and gate under one calibration, from its pool."""
    recalibrate(pool, prof.calibrator())
    w = p.catalog.blend_weights(profile=prof)
    ranked = blend_pool(pool, w).ranked
    g = p.settings.gate
    gate = functools.partial(
        decide, query=q["text"], min_score=g.min_score, max_passages=g.max_passages, bm25=p.models.bm25, model=prof.answerability
    )
    d = gate(ranked, pool=pool)
    out: dict[str, Any] = {"status": d.status, "p": d.p_answerable, "threshold": d.threshold}
    if q["kind"] == "answerable":
        rel = [answers(c, q, folder) for c in ranked]
        fused = sorted(pool, key=lambda c: -c.fused)
        rel_fused = [answers(c, q, folder) for c in fused]
        # Hybrid as `ragate search --no-rerank` ranks: the same blend without relevance, weights as configured.
        unreranked = [dataclasses.replace(c, rerank=None, relevance=None) for c in pool]
        hybrid = blend_pool(unreranked, p.catalog.blend_weights(profile=NONE)).ranked
        rel_hybrid = [answers(c, q, folder) for c in hybrid]
        ideal = max(1, sum(rel_fused))
        out |= {
            "ndcg": ndcg10(ranked, rel, ideal),
            "hit3": any(rel[:3]),
            "fused_ndcg": ndcg10(fused, rel_fused, ideal),
            "hybrid_ndcg": ndcg10(hybrid, rel_hybrid, ideal),
            "hybrid_hit3": any(rel_hybrid[:3]),
            "carries_fact": d.status == "answer" and any(holds(c, q["answer"]) for c in d.passages),
            "wrong_above_0.9": sum(1 for c in ranked[:10] if not holds(c, q["answer"]) and (c.relevance or 0) > 0.9),
        }
        # The near-topic pool: the same question with every chunk of its file taken out.
        elsewhere = [c for c in pool if Path(c.chunk.source).resolve() != (folder / q["file"]).resolve()]
        kept = {id(c) for c in elsewhere}
        dn = gate([c for c in ranked if id(c) in kept], pool=elsewhere)
        out["near_topic_p"], out["near_topic_status"] = dn.p_answerable, dn.status
        # Another file may state the same answer (a tool's man page beside its HTML manual): that pool
        # is not truly unanswerable, so the stricter figure leaves it out.
        out["near_topic_states_answer"] = any(holds(c, q["answer"]) for c in elsewhere)
    return out


def summarise(rows: list[dict[str, Any]], qs: list[dict[str, Any]]) -> dict[str, Any]:
    by = {k: [r for r, q in zip(rows, qs, strict=True) if q["kind"] == k] for k in ("answerable", "near_miss", "unanswerable")}
    a, nm, off = by["answerable"], by["near_miss"], by["unanswerable"]
    answered = [r for r in a if r["status"] == "answer"]
    pa = np.array([r["p"] for r in a])

    def mean(xs: list[float]) -> float | None:
        return round(float(np.mean(xs)), 4) if xs else None

    return {
        "answerable": len(a),
        "fused_ndcg@10": mean([r["fused_ndcg"] for r in a]),
        "hybrid_ndcg@10": mean([r["hybrid_ndcg"] for r in a]),
        "blend_ndcg@10": mean([r["ndcg"] for r in a]),
        "hybrid_hit@3": mean([float(r["hybrid_hit3"]) for r in a]),
        "blend_hit@3": mean([float(r["hit3"]) for r in a]),
        "false_abstain": mean([float(r["status"] != "answer") for r in a]),
        "answers_carry_fact": mean([float(r["carries_fact"]) for r in answered]),
        "offtopic_false_accept": mean([float(r["status"] == "answer") for r in off]),
        "offtopic_auroc": _round(auroc(pa, np.array([r["p"] for r in off]))),
        "near_miss_false_accept": mean([float(r["status"] == "answer") for r in nm]),
        "near_miss_auroc": _round(auroc(pa, np.array([r["p"] for r in nm]))),
        "near_topic_auroc": _round(auroc(pa, np.array([r["near_topic_p"] for r in a]))),
        "near_topic_false_accept": mean([float(r["near_topic_status"] == "answer") for r in a]),
        "near_topic_stating_answer_elsewhere": sum(r["near_topic_states_answer"] for r in a),
        "near_topic_auroc_answer_absent": _round(auroc(pa, np.array([r["near_topic_p"] for r in a if not r["near_topic_states_answer"]]))),
        "wrong_passages_above_0.9": int(sum(r["wrong_above_0.9"] for r in a)),
        "threshold": _round(rows[0]["threshold"]) if rows else None,
    }


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


def cached(path: Path, reuse: bool, make: Callable[[], T]) -> T:
    """What `make` returns, kept in `path` (pickled) for a later run with --reuse."""
    if reuse and path.is_file():
        with path.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache, written below
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(value, fh)
    return value


def settle(p: Pipeline, limit_s: float = 1800.0) -> None:
    """Wait for the background measurement of the CPU engines, so nothing else runs while timing."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and any(m is not None and m.engine_pending for m in (p.models.embedder, p.models.reranker)):
        time.sleep(2)


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), "")
    flags = Path("/proc/cpuinfo").read_text()
    isa = "AMX" if "amx_bf16" in flags else "AVX-512 BF16" if "avx512_bf16" in flags else "AVX-512" if "avx512f" in flags else "AVX2"
    return f"{cpu or platform.processor()} ({isa}), {os.cpu_count()} cores"


def markdown(res: dict[str, Any]) -> str:
    lines = [
        f"Folder `{res['folder']}`: {res['files']} files, {res['chunks']} chunks, indexed in {res['index_s']} s "
        "(incrementally: files unchanged since an earlier run are not read again); "
        f"{res['questions']} questions. Machine: {res['machine']}.",
        f"Self-calibration refused after {res['self']['seconds']} s: {res['self']['refused']}"
        if "refused" in res["self"]
        else f"Self-calibration: {res['self']['seconds']} s, {res['self']['answerable']} answerable / {res['self']['near_topic']} near-topic / "
        f"{res['self']['offtopic_kept']} off-topic pools; w_relevance {res['self']['w_relevance']}, w_retrieval {res['self']['w_retrieval']}.",
        "",
        "| calibration | threshold | fused nDCG@10 | hybrid nDCG@10 | blend nDCG@10 | hit@3 hybrid / blend | false-abstain | answers carry the fact "
        "| off-topic FA | off-topic AUROC | near-miss FA | near-miss AUROC | near-topic AUROC (answer absent) | wrong passages > 0.9 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in res["calibrations"].items():
        cells = [
            name,
            s["threshold"],
            s["fused_ndcg@10"],
            s["hybrid_ndcg@10"],
            s["blend_ndcg@10"],
            f"{s['hybrid_hit@3']} / {s['blend_hit@3']}",
            s["false_abstain"],
            s["answers_carry_fact"],
            s["offtopic_false_accept"],
            s["offtopic_auroc"],
            s["near_miss_false_accept"],
            s["near_miss_auroc"],
            f"{s['near_topic_auroc']} ({s['near_topic_auroc_answer_absent']}, without the "
            f"{s['near_topic_stating_answer_elsewhere']} pools where another file states the answer)",
            s["wrong_passages_above_0.9"],
        ]
        lines.append("| " + " | ".join("–" if c is None else str(c) for c in cells) + " |")
    if res.get("sweep"):
        lines += ["", "Gate decisions that differ from those at 100 candidates, per calibration:", ""]
        for name, per_n in res["sweep"].items():
            lines.append(f"- {name}: " + ", ".join(f"{n}: {v}" for n, v in per_n.items()))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("questions")
    ap.add_argument(
        "--cache",
        default=str(Path.home() / ".cache" / "ragate-bench" / "real_folder"),
        help="the index (kept between runs, updated incrementally), outside the clone",
    )
    ap.add_argument("--no-sweep", action="store_true", help="skip the candidates sweep")
    ap.add_argument("--reuse", action="store_true", help="reuse the self-calibration's pools and the questions' pools of an earlier run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    folder = Path(args.folder).resolve()
    qs = [json.loads(line) for line in Path(args.questions).read_text().splitlines() if line.strip()]
    collection = re.sub(r"[^A-Za-z0-9_\-]", "_", f"rf_{folder.name}")[:64]
    settings = load_settings(None, {**os.environ, "RAGATE_QDRANT_PATH": str(Path(args.cache) / "qdrant")})
    p = Pipeline(settings)
    p.models.load()
    started = time.monotonic()
    report = p.index(IndexRequest(paths=[str(folder)], collection=collection, progress=True))
    index_s = round(time.monotonic() - started, 1)
    chunks = p.catalog.store(collection).count()
    log.warning("indexed %d chunks in %.0f s; waiting for the engines' measurement, then self-calibrating", chunks, index_s)
    settle(p)
    cache = Path(args.cache) / collection
    asked = cached(cache / "self_pools.pkl", args.reuse, lambda: ask_self_questions(p.retriever, collection=collection, progress=True))
    if "passages" not in vars(asked):
        raise SystemExit(f"{cache / 'self_pools.pkl'} was asked before passage questions: run without --reuse")
    try:
        profile, fig = fit_self_profile(asked, bm25=p.models.bm25, in_force=p.catalog.blend_weights(), fitted_for=p.catalog.fitted_for())
        p.catalog.profiles.save(collection, profile)
        self_report = {
            "seconds": fig["seconds"],
            "answerable": fig["answerable"],
            "near_topic": fig["near_topic"],
            "offtopic_kept": fig["offtopic_kept"],
            "offtopic_asked": fig["offtopic_asked"],
            "w_relevance": fig["blend"]["chosen"]["w_relevance"],
            "w_retrieval": fig["blend"]["chosen"]["w_retrieval"],
            "blend": fig["blend"],
            "gate": {k: fig["gate"][k] for k in ("threshold", "false_accept_bound", "false_abstain_rate")},
        }
    except BadInput as e:  # the product refuses the fit (and keeps the collection's calibration): say so, judge the rest
        log.warning("self-calibration refused: %s", e)
        self_report = {"seconds": round(asked.seconds, 1), "refused": str(e)}
    # A refused fit leaves no self calibration to judge (not one an earlier run stored).
    profiles = {k: v for k, v in p.catalog.profiles_available(collection).items() if k != "self" or "refused" not in self_report}
    # answer_or_abstain asks for at least as many candidates as its model was fitted on.
    sizes = {max(n, (prof.answerability.pool or 0) if prof.answerability else 0) for n in SWEEP for prof in profiles.values()}
    asked_pools = cached(cache / "pools.pkl", args.reuse, dict)
    if missing := sorted(sizes - set(asked_pools)):
        asked_pools |= {n: [pool_of(p, q["text"], collection, n) for q in qs] for n in missing}
        cached(cache / "pools.pkl", False, lambda: asked_pools)

    def answered(prof: Profile, n: int) -> list[dict[str, Any]]:
        ps = asked_pools[max(n, (prof.answerability.pool or 0) if prof.answerability else 0)]
        return [judge(p, prof, q, pool, folder) for q, pool in zip(qs, ps, strict=True)]

    calibrations = {name: summarise(answered(prof, settings.retrieval.candidates), qs) for name, prof in profiles.items()}
    sweep: dict[str, dict[int, str]] = {}
    if not args.no_sweep:
        for name in ("self", "default"):
            if name not in profiles:
                continue
            status = {n: [r["status"] for r in answered(profiles[name], n)] for n in SWEEP}
            sweep[name] = {
                n: f"{sum(a != b for a, b in zip(s, status[100], strict=True))}/{len(qs)}" for n, s in status.items() if n != 100
            }
    res = {
        "machine": machine(),
        "folder": str(folder),
        "files": report.documents_indexed + report.documents_unchanged,
        "chunks": chunks,
        "index_s": index_s,
        "questions": len(qs),
        "self": self_report,
        "calibrations": calibrations,
        "sweep": sweep,
    }
    print(json.dumps(res, indent=2) if args.json else markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
