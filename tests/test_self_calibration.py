"""`ragate calibrate --self` as users run it: a small collection calibrated with no labels through
the CLI and the index service, then used by answers, shown in stats, and kept to its collection."""

import json
import os
import time

import pytest

from ragate.scoring.profile import default_profile
from ragate.server.lab.self_questions import make_questions
from ragate.server.service.auto_calibration import refit_due


@pytest.mark.slow
def test_self_calibration_fits_stores_and_governs_only_its_collection(tmp_path, ragate, examples):
    index = tmp_path / "q"
    env = {
        "RAGATE_QDRANT_PATH": str(index),
        "RAGATE_CALIBRATION_MIN_CHUNKS": "20",
        "RAGATE_CALIBRATION_QUESTIONS": "40",
        "RAGATE_CALIBRATION_OFFTOPIC": "60",
        "RAGATE_CALIBRATION_CANDIDATES": "12",
        "RAGATE_CALIBRATION_MAX_MINUTES": "30",  # every question asked, however slow the CPU
    }
    assert ragate("index", str(examples), "--no-progress", env_extra=env).returncode == 0
    assert ragate("index", str(examples / "ragate"), "-c", "notes", "--no-progress", env_extra=env).returncode == 0

    # Too small a collection is refused with what to change, and nothing is written.
    r = ragate("calibrate", "--self", "-c", "notes", "--json", env_extra={**env, "RAGATE_CALIBRATION_MIN_CHUNKS": "500"})
    assert r.returncode == 2 and "min_chunks" in r.stderr and "Traceback" not in r.stderr
    assert not (index / "calibration" / "notes.self.json").exists()

    # A few dozen off-topic questions cannot certify 5%: refused with what to change, rather than
    # stored as a gate that never answers; 30% they can, when none is accepted.
    r = ragate("calibrate", "--self", "--json", "--no-progress", env_extra=env, timeout=600)
    assert r.returncode == 2 and "needs at least 45" in r.stderr and "never answer" in r.stderr and "[calibration] offtopic" in r.stderr
    assert not (index / "calibration" / "default.self.json").exists() and "Traceback" not in r.stderr
    r = ragate("calibrate", "--self", "--max-false-accept", "0.3", "--json", "--no-progress", env_extra=env, timeout=600)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["collection"] == "default" and rep["answerable"] >= 10 and rep["answerable"] <= rep["questions_made"]
    assert rep["near_topic"] >= rep["answerable"] - 1 and 0 < rep["offtopic_kept"] <= rep["offtopic_asked"] <= 60
    assert rep["relevance"]["pairs"] > rep["answerable"] and rep["gate"]["false_accept_bound"] <= 0.3
    # The reranker keeps a weight only when its gain is beyond doubt, over all the questions and over each kind.
    gains = [rep["blend"]["reranker_gain"], *rep["blend"]["reranker_gain_by_kind"].values()]
    assert set(rep["blend"]["reranker_gain_by_kind"]) <= {"topic", "passage"}
    helps = all(g["ci_low"] > 0 for g in gains)
    assert (rep["blend"]["chosen"]["w_relevance"] > 0) == helps
    saved = json.loads((index / "calibration" / "default.self.json").read_text())
    assert rep["saved_to"] == os.fspath(index / "calibration" / "default.self.json") and saved["source"] == "self"
    assert saved["answerability"]["threshold"] == rep["gate"]["threshold"] and saved["reference"]["pools"] == rep["answerable"]

    # Answers now say which calibration decided, with its threshold and bound.
    r = ragate("answer", "How long should a sourdough starter rest before baking?", "--json", env_extra=env)
    assert r.returncode == 0, r.stderr
    ans = json.loads(r.stdout)
    assert ans["calibration"] == "self" and ans["calibrated"] and ans["threshold"] == pytest.approx(rep["gate"]["threshold"], abs=1e-4)
    assert ans["status"] == "abstain" and ans["false_accept_bound"] == pytest.approx(rep["gate"]["false_accept_bound"], abs=1e-4)
    # What relevance is, and how well it is calibrated on made questions it was not fitted on.
    assert ans["relevance_fitted_on"].startswith("platt scaling") and "questions made from 'default'" in ans["relevance_fitted_on"]
    assert 0 <= rep["relevance"]["ece_held_out_calibrated"] <= 1 and rep["relevance"]["held_out_pairs"] > 0
    assert ans["near_topic_false_accept"] == pytest.approx(rep["gate"]["near_topic_false_accept"])
    # Search says how much the reranker counts and why, or that it stepped aside.
    found = json.loads(ragate("search", "What causes the tides?", "--json", env_extra=env).stdout)
    if helps:
        assert found["rerank_stage"]["weight"] > 0 and "self calibration" in found["rerank_stage"]["weight_reason"]
    else:
        assert not found["reranked"] and any(n.startswith("not reranked, relevance has weight 0") for n in found["notes"])
    assert found["results"][0]["source"].endswith("tides.md")
    r = ragate("search", "tides", "--json", "-c", "notes", env_extra=env)
    assert json.loads(r.stdout)["calibration"] in ("default", "none")  # the other collection is not governed by it

    stats = json.loads(ragate("stats", "--json", env_extra=env).stdout)["collections"]
    assert stats["default"]["calibration"]["source"] == "self" and stats["notes"]["calibration"]["source"] != "self"
    assert "reranking changed nDCG@10" in stats["default"]["relevance_weight"]["why"]
    drift = stats["default"]["drift"]["p_answerable"]
    assert drift["queries"] == 1 and drift["drifting"] is False and "ks_distance" in drift


def background(tmp_path, **extra: str) -> dict[str, str]:
    """An index whose service self-calibrates a small collection soon after it goes idle."""
    auto = {"RAGATE_CALIBRATION_AUTO": "true", "RAGATE_CALIBRATION_IDLE_S": "1", "RAGATE_CALIBRATION_MIN_CHUNKS": "20"}
    return {"RAGATE_QDRANT_PATH": str(tmp_path / "q"), **auto, **extra}


@pytest.mark.slow
def test_the_service_self_calibrates_a_grown_collection_in_the_background(tmp_path, ragate, examples):
    # Enough off-topic questions that half of those kept certify the default 5% bound.
    env = background(
        tmp_path,
        RAGATE_CALIBRATION_QUESTIONS="20",
        RAGATE_CALIBRATION_OFFTOPIC="160",
        RAGATE_CALIBRATION_CANDIDATES="12",
        RAGATE_CALIBRATION_MAX_MINUTES="10",
    )
    try:
        assert ragate("index", str(examples), "--no-progress", env_extra=env).returncode == 0
        seen_running = False
        for _ in range(300):
            stats = json.loads(ragate("stats", "--json", env_extra=env).stdout)
            auto = stats["service"]["self_calibration"]
            seen_running |= auto["running"] == "default"
            if stats["collections"]["default"]["calibration"]["source"] == "self":
                break
            time.sleep(2)  # quiet longer than idle_s, so the run can start between polls
        assert seen_running and auto["auto"] is True
        assert stats["collections"]["default"]["calibration"]["source"] == "self", auto
        assert auto["collections"]["default"]["status"] == "fitted" and auto["running"] is None
        # A collection it has just calibrated is not due again until it grows by [calibration] regrow.
        time.sleep(3)
        again = json.loads(ragate("stats", "--json", env_extra=env).stdout)["service"]["self_calibration"]
        assert again["running"] is None and again["collections"]["default"]["at"] == auto["collections"]["default"]["at"]
    finally:
        ragate("service", "--stop", env_extra=env)


@pytest.mark.slow
def test_a_failed_background_run_is_shown_by_stats_and_doctor_and_waits_before_retrying(tmp_path, ragate, examples):
    # A time bound that ends the run after its first question forces the failure: too few pools to fit.
    env = background(tmp_path, RAGATE_SERVER_ALLOWED_ROOTS=json.dumps([str(examples)]), RAGATE_CALIBRATION_MAX_MINUTES="0.0001")
    try:
        assert ragate("index", str(examples), "--no-progress", env_extra=env).returncode == 0
        for _ in range(60):
            auto = json.loads(ragate("stats", "--json", env_extra=env).stdout)["service"]["self_calibration"]
            state = auto["collections"].get("default", {})
            if state.get("status") == "failed":
                break
            time.sleep(2)
        assert state["status"] == "failed" and state["failures"] == 1, auto
        assert "each needs at least 10" in state["error"] and "max_minutes" in state["error"]
        text = ragate("stats", env_extra=env).stdout
        assert "WARNING self-calibration failed" in text and "ragate calibrate --self -c default" in text
        doctor = ragate("doctor", env_extra=env, timeout=300)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr  # usable: a warning, not a failure
        assert "WARN calibration of default: self-calibration failed" in doctor.stdout
        # Not retried on the next change: the backoff holds it off.
        (tmp_path / "more").mkdir()
        (tmp_path / "more" / "note.md").write_text("# Kelp\n\nKelp forests grow in cold, nutrient-rich coastal water.\n")
        more = {**env, "RAGATE_SERVER_ALLOWED_ROOTS": json.dumps([str(examples), str(tmp_path / "more")])}
        assert ragate("index", str(tmp_path / "more"), "--no-progress", env_extra=more).returncode == 0
        time.sleep(4)
        again = json.loads(ragate("stats", "--json", env_extra=more).stdout)["service"]["self_calibration"]
        assert again["running"] is None and again["collections"]["default"]["at"] == state["at"]
    finally:
        ragate("service", "--stop", env_extra=env)


def test_made_questions_keep_key_terms_without_quoting_their_passage(pipeline, examples):
    from ragate.server.requests import IndexRequest

    pipeline.index(IndexRequest(paths=[str(examples)], allowed_roots=[str(examples)]))
    chunks = pipeline.catalog.store().chunks()
    questions = make_questions(chunks, bm25=pipeline.models.bm25, n=15, seed=13)
    by_id = {c.chunk_id: c for c in chunks}
    assert len(questions) == 15 and len({q.doc_id for q in questions}) == 15
    for q in questions:
        words = q.text.split()
        assert 3 <= len(words) <= 12
        text = by_id[q.chunk_id].text.lower()
        assert q.text.lower() not in text  # not a verbatim quote of its passage
        assert sum(w in text for w in words) >= len(words) - 4  # but its key terms come from it
        opening = min(c.chunk_index for c in chunks if c.doc_id == q.doc_id)
        assert (by_id[q.chunk_id].chunk_index > opening) == (q.kind == "passage")  # a passage question asks inside its document
    assert {q.kind for q in questions[0::2]} == {"topic"} and any(q.kind == "passage" for q in questions[1::2])
    assert make_questions(chunks, bm25=pipeline.models.bm25, n=15, seed=13) == questions  # the seed decides


def test_a_self_calibration_is_due_when_missing_outgrown_or_never_answering():
    """The background service refits a collection with no self calibration, one whose size moved
    by `regrow` since its fit, and one whose stored gate can never answer (a threshold above 1)."""
    shipped = default_profile()
    assert shipped is not None and shipped.answerability is not None
    own = shipped.model_copy(update={"source": "self", "figures": {"chunks": 1000}})
    assert refit_due(None, 1000, regrow=0.2)
    assert not refit_due(own, 1000, regrow=0.2) and not refit_due(own, 1150, regrow=0.2)
    assert refit_due(own, 1200, regrow=0.2) and refit_due(own, 800, regrow=0.2)
    never = own.model_copy(update={"answerability": own.answerability.model_copy(update={"threshold": 1.001})})
    assert never.answerability.never_answers and refit_due(never, 1000, regrow=0.2)
