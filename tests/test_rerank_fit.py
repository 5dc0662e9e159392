"""Whether reranking helps a collection, and the blend's weights fitted on its labels, on a tiny
help desk: each question names a code (a part number, an error, an update, a standard); the
catalogue entry for that code repeats it, and a guide explains the task around it. The shared
cross-encoder (trained on scientific claims) puts the entry that repeats the code first. Labelled
as this help desk's users were answered — by the guide — the reranker disagrees with the labels;
labelled by the catalogue entry, it agrees."""

import shutil
from pathlib import Path

import pytest

from ragate.retrieval.beir import BeirDataset, beir_collection
from ragate.server.config_writer import write_setting
from ragate.server.lab.calibrate import fit_blend_on
from ragate.server.lab.evaluate import evaluate, index_dataset
from ragate.server.settings_loader import load_settings

CONFIG = Path(__file__).resolve().parent.parent / "config.toml"

ENTRIES = {
    "1": ("6204-2RS", "6204-2RS deep groove ball bearing, 20 x 47 x 14 mm, rubber seals on both sides."),
    "2": ("E1043", "E1043: the licence file is missing or unreadable."),
    "3": ("M8x40 DIN 933", "M8x40 DIN 933 hex bolt, zinc plated steel, box of 100."),
    "4": ("KB5034441", "KB5034441 updates the recovery environment partition."),
    "5": ("RFC 7231", "RFC 7231 defines the semantics of HTTP/1.1 messages and methods."),
    "6": ("ISO 4217", "ISO 4217 lists three-letter codes such as USD and EUR."),
    "7": ("CVE-2021-44228", "CVE-2021-44228 lets attackers run code through log4j message lookups."),
    "8": ("P0420", "P0420 means catalyst system efficiency below threshold, bank 1."),
}
GUIDES = {
    "1": (
        "Replacing a bearing",
        "To replace a worn bearing, remove the guard, loosen the set screws and press in a new bearing of the same size.",
    ),
    "2": ("Errors on startup", "When the application shows an error on startup, read the log and restart the service."),
    "3": ("Choosing bolts", "A hex bolt for steel frames should match the thread and length of the hole; zinc plating resists rust."),
    "4": ("Windows update failures", "If a Windows update fails to install, free disk space and run the update troubleshooter."),
    "5": ("HTTP methods explained", "HTTP methods such as GET, POST and PUT tell the server what to do with a resource."),
    "6": ("Currency codes", "Every currency has a short code used by banks and exchanges to name it."),
    "7": (
        "Logging library vulnerabilities",
        "A vulnerability in a logging library can let an attacker run code on a server; patch quickly.",
    ),
    "8": ("Check engine light", "A check engine light can mean a failing catalytic converter, a loose fuel cap or a bad sensor."),
}
QUERIES = {
    "1": "replacement bearing 6204-2RS",
    "2": "error E1043 on startup",
    "3": "M8x40 DIN 933 bolt for a steel frame",
    "4": "KB5034441 update fails to install",
    "5": "RFC 7231 HTTP methods",
    "6": "ISO 4217 currency code",
    "7": "CVE-2021-44228 logging vulnerability",
    "8": "check engine light P0420",
}
DOCS = {**{f"entry{i}": d for i, d in ENTRIES.items()}, **{f"guide{i}": d for i, d in GUIDES.items()}}


@pytest.fixture
def help_desk(tmp_path, write_beir):
    """The same documents and questions under two labellings: answered by the guide, or by the entry."""

    def labelled(by: str):
        qrels = {f"q{i}": f"{by}{i}" for i in QUERIES}
        return write_beir(tmp_path / f"{by}s", DOCS, {f"q{i}": t for i, t in QUERIES.items()}, {"test": qrels, "train": qrels})

    return labelled


def test_eval_says_reranking_hurts_when_the_reranker_disagrees_with_the_labels(pipeline, help_desk, tmp_path):
    out = tmp_path / "results"
    r = evaluate(pipeline.retriever, str(help_desk("guide")), variants=["hybrid", "hybrid+rerank"], out_dir=str(out), progress=False)
    d = r["rerank_vs_hybrid"]["differences"]["hybrid+rerank"]
    assert d["queries"] == 8 and d["ci_low"] <= d["mean_difference"] <= d["ci_high"] < 0
    # The paired mean is the difference of the two variants' mean nDCG@10 (each rounded to 4 places).
    assert d["mean_difference"] == pytest.approx(r["variants"]["hybrid+rerank"]["ndcg@10"] - r["variants"]["hybrid"]["ndcg@10"], abs=2e-4)
    assert d["verdict"] == "reranking hurts this collection"
    assert r["verdict"] == d["summary"] and d["summary"].startswith("reranking hurts this collection: hybrid+rerank − hybrid nDCG@10 -0.")
    assert r["rerank_vs_hybrid"]["resamples"] == 2000 and r["rerank_vs_hybrid"]["confidence"] == 0.95
    assert d["summary"] in (out / "eval_guides.md").read_text()


def test_fit_blend_down_weights_a_reranker_that_disagrees_with_the_labels(pipeline, help_desk, tmp_path):
    fits = {}
    for by in ("guide", "entry"):
        root = str(help_desk(by))
        index_dataset(pipeline.catalog, BeirDataset.load(root, "train"), beir_collection(root), progress=False)
        fits[by] = fit_blend_on(pipeline.retriever, dataset=root, rows=[], split="train", max_queries=None, progress=False)
    for fit in fits.values():
        assert fit["queries"] == 8 and len(fit["grid"]) == 24
        assert fit["chosen"]["ndcg@10"] >= fit["configured"]["ndcg@10"]
        assert (fit["configured"]["w_relevance"], fit["configured"]["w_retrieval"]) == (1.0, 0.3)
        # The best pair of the side chosen: with the reranker only when its gain over hybrid is beyond doubt.
        helps = fit["reranker_gain"]["ci_low"] > 0
        side = [g["ndcg@10"] for g in fit["grid"] if (g["w_relevance"] > 0) == helps]
        assert (fit["chosen"]["w_relevance"] > 0) == helps and fit["chosen"]["ndcg@10"] == max(side)
    # Labels the reranker disagrees with: it gets no weight, and the ranking gains on them.
    assert fits["guide"]["chosen"]["w_relevance"] == 0 and fits["guide"]["reranker_gain"]["verdict"] != "reranking helps this collection"
    assert fits["guide"]["chosen"]["ndcg@10"] > fits["guide"]["configured"]["ndcg@10"]
    # Labels it agrees with but hybrid already meets: dropping it loses nothing.
    assert fits["entry"]["chosen"]["ndcg@10"] == max(g["ndcg@10"] for g in fits["entry"]["grid"])

    # --write-config writes the pair to [blend], comments kept, and the settings read it back.
    cfg = tmp_path / "config.toml"
    shutil.copy(CONFIG, cfg)
    for key in ("w_relevance", "w_retrieval"):
        write_setting(cfg, "blend", key, fits["guide"]["chosen"][key])
    blend = load_settings(cfg, environ={}).blend
    assert (blend.w_relevance, blend.w_retrieval) == (fits["guide"]["chosen"]["w_relevance"], fits["guide"]["chosen"]["w_retrieval"])
    assert "# the recall stage's own vote" in cfg.read_text()
