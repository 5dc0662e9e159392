"""`ragate eval` and `ragate calibrate` on a tiny BEIR-format dataset written by the test."""

import json

import pytest

from ragate.server.config_writer import write_setting
from ragate.server.lab.calibrate import calibrate, calibrate_gate, pairs_from_dataset
from ragate.server.lab.evaluate import VARIANTS, evaluate
from ragate.server.requests import AnswerRequest

DOCS = {
    "d1": ("Tides", "Ocean tides are caused by the gravitational pull of the moon."),
    "d2": ("Photosynthesis", "Plants use chlorophyll to turn sunlight into sugar."),
    "d3": ("Insulin", "Insulin from the pancreas lowers blood glucose."),
    "d4": ("Volcanoes", "Silica-rich magma traps gas and erupts explosively."),
    "d5": ("Vaccines", "Vaccines train memory B cells to recognise pathogens."),
    "d6": ("Myelin", "The myelin sheath speeds up nerve conduction."),
}
QUERIES = {
    "q1": ("The moon causes ocean tides.", "d1"),
    "q2": ("Chlorophyll converts light to sugar.", "d2"),
    "q3": ("Insulin reduces blood sugar.", "d3"),
    "q4": ("Myelin makes nerve signals faster.", "d6"),
}


@pytest.fixture
def dataset(tmp_path, write_beir):
    qrels = {q: d for q, (_, d) in QUERIES.items()}
    return write_beir(tmp_path / "tiny", DOCS, {q: t for q, (t, _) in QUERIES.items()}, {"test": qrels, "train": qrels})


def test_eval_reports_every_variant_and_the_gate(pipeline, dataset, tmp_path):
    out = tmp_path / "results"
    r = evaluate(pipeline.retriever, str(dataset), candidates=6, out_dir=str(out), progress=False)
    assert r["dataset"] == "tiny" and r["queries"] == 4 and list(r["variants"]) == VARIANTS
    for m in r["variants"].values():
        assert set(m) == {"ndcg@10", "mrr@10", "recall@100", "hit@1", "ms_per_query"}
        assert 0 <= m["ndcg@10"] <= 1
    assert r["variants"]["hybrid+rerank"]["hit@1"] == 1.0  # every tiny query has one obvious answer
    # Hybrid finds every answer first too, so reranking can show no difference here.
    d = r["rerank_vs_hybrid"]["differences"]
    assert set(d) == {"hybrid+rerank", "hybrid+rerank+blend"} and d["hybrid+rerank"]["ci_low"] == d["hybrid+rerank"]["ci_high"] == 0.0
    assert r["verdict"] == d["hybrid+rerank"]["summary"] and r["verdict"].startswith("no clear difference: hybrid+rerank − hybrid")
    g = r["gate"]["configured"]
    assert g["answerable"] == 2 and g["unanswerable"] == 2
    assert r["calibration"] in ("default", "none") and "calibrated" not in r["gate"]
    assert set(r["calibrations"]) >= {"none"} and r["calibrations"]["none"]["blend"]["w_relevance"] == 1.0
    for suffix in (".json", ".md", "_precision_coverage.csv", "_precision_coverage.png"):
        assert (out / f"eval_tiny{suffix}").is_file()
    sub = evaluate(pipeline.retriever, str(dataset), variants=["bm25"], max_queries=2, out_dir=None, progress=False)
    assert list(sub["variants"]) == ["bm25"] and sub["queries"] == 2 and "gate" not in sub and "verdict" not in sub
    with pytest.raises(ValueError, match="unknown variants"):
        evaluate(pipeline.retriever, str(dataset), variants=["bm26"], out_dir=None, progress=False)


def test_calibrate_fits_saves_and_writes_threshold(pipeline, dataset, tmp_path):
    groups, z, y = pairs_from_dataset(pipeline.retriever, str(dataset), "train", 6, None, False)
    assert len(z) == len(y) == 24 and y.sum() == 4
    report = calibrate(pipeline.retriever, "beir_tiny", groups, z, y, "platt", 0.5, "tiny")
    profile = pipeline.catalog.profile("beir_tiny")
    assert profile.source == "labelled" and profile.relevance.method == "platt"
    # Another collection keeps its own calibration: a fit here governs nothing there.
    assert pipeline.catalog.profile("other").source in ("default", "none")
    # (ECE improving is checked on thousands of pairs in test_scoring; 12 pairs are too few.)
    assert 0 <= report["ece_before"] <= 1 and 0 <= report["ece_held_out_calibrated"] <= 1
    cfg = tmp_path / "config.toml"
    cfg.write_text("[gate]\nmin_score = 0.5                 # comment kept\nmax_passages = 5\n")
    write_setting(cfg, "gate", "min_score", 0.4242)
    assert "min_score = 0.4242" in cfg.read_text() and "comment kept" in cfg.read_text()
    # The evaluation now reports the gate at the fitted calibration's chosen threshold too.
    assert report["threshold"] is not None
    r = evaluate(pipeline.retriever, str(dataset), candidates=6, out_dir=None, progress=False)
    assert r["calibration"] == "labelled" and r["gate"]["calibrated"]["threshold"] == report["threshold"]


def test_calibrate_gate_then_eval_on_both_kinds_of_unanswerable(pipeline, dataset, tmp_path):
    offtopic = tmp_path / "offtopic.jsonl"
    questions = [
        "How do I refinance a mortgage?",
        "Best guitar chord tuning?",
        "Should a startup hire a CFO?",
        "Which US state joined last?",
    ]
    offtopic.write_text("".join(json.dumps({"_id": f"o{i}", "text": t}) + "\n" for i, t in enumerate(questions)))
    groups, z, y = pairs_from_dataset(pipeline.retriever, str(dataset), "train", 6, None, False)
    calibrate(pipeline.retriever, "beir_tiny", groups, z, y, "platt", None, "tiny")
    rep = calibrate_gate(
        pipeline.retriever,
        dataset_dir=str(dataset),
        split="train",
        offtopic_path=str(offtopic),
        max_queries=None,
        max_false_accept=0.05,
        confidence=0.9,
        progress=False,
    )
    # 4 answerable + 4 near-topic + 4 off-topic pools, by query half to fit and half to certify.
    assert rep["fit_pools"] + rep["calibration_pools"] == 12 and rep["calibration_unanswerable"] >= 2
    # A handful of unanswerable queries cannot certify a 5% false-accept rate: the gate never answers.
    assert rep["threshold"] > 1 and rep["false_abstain_rate"] == 1.0 and rep["false_accept_bound"] == 0.0
    model = pipeline.catalog.profile("beir_tiny").answerability
    assert model is not None and model.threshold == rep["threshold"] and set(model.weights()) == set(rep["weights"])
    ans = pipeline.answer(AnswerRequest(query="The moon causes ocean tides.", collection="beir_tiny"))
    assert ans.calibrated and ans.status == "abstain" and ans.false_accept_bound == 0.0 and ans.threshold == rep["threshold"]
    assert ans.suggestion and ans.nearest and not ans.passages

    out = tmp_path / "results"
    r = evaluate(pipeline.retriever, str(dataset), candidates=6, out_dir=str(out), progress=False, offtopic_queries=str(offtopic))
    g = r["gate"]
    assert g["model_calibrated"] and g["answerable"] == 4 and g["near_topic"]["pools"] == 4 and g["off_topic"]["pools"] == 4
    for kind in ("near_topic", "off_topic"):
        assert {"top_score", "model"} <= set(g[kind])
        assert g[kind]["model"]["guaranteed"]["false_accept_rate"] == 0.0  # never answering never accepts
        assert 0 <= g[kind]["top_score"]["auroc"] <= 1
    assert g["guarantee"]["false_accepts"] == 0 and (out / "eval_tiny_risk_coverage.png").is_file()
