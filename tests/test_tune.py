"""`ragate tune` end to end on a tiny corpus and a tiny step count, and the feedback tool's round
trip over MCP into calibration: real models, the real index service, a local fake of the Messages
endpoint for synthesized questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES
from tests.launcher import stdio_session

SCIENCE = EXAMPLES / "corpus" / "science"

pytestmark = pytest.mark.slow


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _pairs(path: Path) -> Path:
    """The example questions, each paired with the first paragraph of the file that answers it."""
    rows = []
    for line in (EXAMPLES / "questions.jsonl").read_text().splitlines():
        q = json.loads(line)
        text = next(p for p in (EXAMPLES / "corpus" / q["source"]).read_text().split("\n\n") if len(p) > 80)
        rows.append({"query": q["question"], "text": text, "relevant": True})
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_tune_from_pairs_writes_a_loadable_model_and_activates_it(tmp_path, ragate, server_env):
    from ragate.scoring.engines.reranker import CrossEncoderReranker

    env = server_env(str(tmp_path / "q"))
    config = tmp_path / "config.toml"  # one config for the index and the tuning: its service runs with it
    config.write_text('[reranker]\nmodel = "somewhere/else"   # the reranker\nmax_length = 256\n\n[gate]\nmin_score = 0.5\n')
    assert ragate("--config", str(config), "index", str(SCIENCE), "--no-progress", env_extra=env).returncode == 0
    out = tmp_path / "tuned"
    args = ["--pairs", str(_pairs(tmp_path / "pairs.jsonl")), "--max-queries", "12", "--max-steps", "2", "--batch-size", "8"]
    r = ragate(
        "--config", str(config), "tune", *args, "--output", str(out), "--activate", "--no-progress", "--json", env_extra=env, timeout=600
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["training"]["steps"] == 2 and report["held_out_queries"] >= 1
    assert report["train_pairs"] > 12 * 2  # given positives plus mined hard and random negatives
    for key in ("ndcg@10", "answer_rate", "offtopic_accept_rate"):
        assert 0 <= report["before"][key] <= 1 and 0 <= report["after"][key] <= 1
    assert json.loads((out / "tune.json").read_text())["after"] == report["after"]
    assert "base:" in (out / "README.md").read_text()
    assert f'model = "{out}"' in config.read_text() and "max_length = 256" in config.read_text()
    rr = CrossEncoderReranker(str(out), device="cpu", backend="torch")
    z = rr.score("Which enzyme fixes carbon dioxide in the Calvin cycle?", ["RuBisCO fixes CO2 in the Calvin cycle.", "Guitar chords."])
    assert len(z) == 2 and all(abs(x) < 100 for x in z)


def test_tune_then_distill_a_first_pass_model_beside_the_tuned_one(tmp_path, ragate, server_env):
    from ragate.scoring.engines.reranker import CrossEncoderReranker

    env = server_env(str(tmp_path / "q"), RAGATE_RERANKER_BACKEND="torch")  # the teacher scores its pairs in PyTorch
    config = tmp_path / "config.toml"  # one config for the index and the tuning: its service runs with it
    config.write_text("[reranker]\nmax_length = 256\n")
    assert ragate("--config", str(config), "index", str(SCIENCE), "--no-progress", env_extra=env).returncode == 0
    out = tmp_path / "tuned"
    args = ["--pairs", str(_pairs(tmp_path / "pairs.jsonl")), "--max-queries", "12", "--max-steps", "2", "--batch-size", "8"]
    r = ragate(
        "--config",
        str(config),
        "tune",
        *args,
        "--distill-layers",
        "2",
        "--output",
        str(out),
        "--activate",
        "--no-progress",
        "--json",
        env_extra=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    student = report["distilled"]
    assert student["teacher"] == report["model"] == str(out) and student["model"] == str(out) + "-first-pass-L2"
    assert student["layers"] == 2 and student["teacher_layers"] == 6 and student["training"]["steps"] == 2
    assert json.loads((Path(student["model"]) / "config.json").read_text())["num_hidden_layers"] == 2
    # The tuning pairs plus passages sampled from each training query's hybrid pool.
    assert student["train_pairs"] > report["train_pairs"] and student["held_out_queries"] == report["held_out_queries"]
    held = student["held_out"]
    assert -1 <= held["spearman_vs_teacher"] <= 1 and all(0 <= v <= 1 for v in held["ndcg@10"].values())
    card = (Path(student["model"]) / "README.md").read_text()
    assert f"teacher: `{out}`" in card and "2-layer" in card and "Spearman" in card
    assert f'model = "{out}"' in config.read_text() and f'first_pass_model = "{student["model"]}"' in config.read_text()
    z = CrossEncoderReranker(student["model"], device="cpu").score("Which enzyme fixes carbon dioxide?", ["RuBisCO fixes CO2.", "Guitar."])
    assert len(z) == 2 and all(abs(x) < 100 for x in z)


def test_distill_only_cuts_the_given_teacher(tmp_path, ragate, server_env, reranker_path):
    env = server_env(str(tmp_path / "q"), RAGATE_RERANKER_BACKEND="torch")
    r = ragate("tune", "--pairs", "x.jsonl", "--distill-only", env_extra=env)
    assert r.returncode == 2 and "--distill-only needs --distill-layers" in r.stderr
    assert ragate("index", str(SCIENCE), "--no-progress", env_extra=env).returncode == 0
    pairs = _pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "tuned"
    common = ["--pairs", str(pairs), "--max-queries", "8", "--max-steps", "1", "--output", str(out), "--no-progress"]
    r = ragate("tune", *common, "--distill-only", "--distill-layers", "6", "--base", reranker_path, env_extra=env, timeout=600)
    assert r.returncode == 2 and "1 to 5 layers of the teacher's 6" in r.stderr
    r = ragate("tune", *common, "--distill-only", "--distill-layers", "1", "--base", reranker_path, "--json", env_extra=env, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert "after" not in report and not out.exists()  # nothing fine-tuned
    assert report["distilled"]["teacher"] == reranker_path and report["distilled"]["layers"] == 1
    assert (tmp_path / "tuned-first-pass-L1" / "distill.json").exists()


def test_synthesize_writes_questions_with_claude_and_trains(tmp_path, ragate, server_env, fake_messages):
    # A question per passage: "What does this say about <its first words>?"
    fake_messages.reply = lambda body: (
        "What does this say about " + " ".join(body["messages"][0]["content"].split("\n\n", 1)[1].split()[:6]) + "?"
    )
    env = server_env(
        str(tmp_path / "q"),
        RAGATE_LLM_PROVIDER="anthropic",
        RAGATE_LLM_BASE_URL=fake_messages.url,
        ANTHROPIC_API_KEY="test-key",
    )
    assert ragate("index", str(SCIENCE), "--no-progress", env_extra=env).returncode == 0
    fake_messages.seen.clear()
    out = tmp_path / "tuned"
    r = ragate("tune", "--synthesize", "6", "--max-steps", "1", "--output", str(out), "--no-progress", "--json", env_extra=env, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert len(fake_messages.seen) == 6 and "6 questions" in report["source"]
    assert report["train_queries"] + report["held_out_queries"] == 6
    assert (out / "config.json").exists() and (out / "README.md").exists()
    no_llm = {k: v for k, v in env.items() if k != "RAGATE_LLM_PROVIDER"}
    r = ragate("tune", "--synthesize", "2", "--max-steps", "1", "--output", str(out), env_extra=no_llm, timeout=300)
    assert r.returncode == 2 and "[llm] provider" in r.stderr


@pytest.mark.anyio
async def test_feedback_tool_round_trip_into_calibration(tmp_path, ragate, server_env):
    env = server_env(str(tmp_path / "q"))
    questions = [json.loads(line) for line in (EXAMPLES / "questions.jsonl").read_text().splitlines()][:8]
    async with stdio_session(env) as s:
        await s.call_tool("index_paths", {"paths": [str(SCIENCE)]})
        given = 0
        for q in questions:
            res = (await s.call_tool("search", {"query": q["question"], "top_k": 3, "rerank": False})).structured_content["results"]
            for hit in res:
                useful = hit["source"].endswith(q["source"])
                r = await s.call_tool(
                    "feedback", {"query": q["question"], "chunk_id": hit["chunk_id"], "useful": useful, "note": "checked"}
                )
                assert not r.is_error, r.content[0].text
                given += 1
        assert r.structured_content["entries"] == given
        bad = await s.call_tool("feedback", {"query": "tides", "chunk_id": "no-such-chunk", "useful": True})
        assert bad.is_error and "no-such-chunk" in bad.content[0].text and "not a chunk" in bad.content[0].text
        long = await s.call_tool("feedback", {"query": "tides", "chunk_id": res[0]["chunk_id"], "useful": True, "note": "x" * 2001})
        assert long.is_error and "note: 2001 characters, over the limit of 2000" in long.content[0].text
        stats = (await s.call_tool("stats", {})).structured_content
        assert stats["feedback"]["entries"] == given and 0 < stats["feedback"]["useful"] < given
    rows = [json.loads(line) for line in (tmp_path / "q" / "feedback.jsonl").read_text().splitlines()]
    assert len(rows) == given and {"query", "text", "relevant", "chunk_id", "reranker", "at"} <= set(rows[0])
    assert rows[0]["reranker"] == env["RAGATE_RERANKER_MODEL"]
    # The same verdicts fit the blend's weights too (chunks judged), written to a copy of the config.
    cfg = tmp_path / "config.toml"
    cfg.write_text((EXAMPLES.parent / "config.toml").read_text())
    # Another config than the running service's: the service is stopped so that calibrate starts it with this one.
    assert ragate("service", "--stop", env_extra=env).returncode == 0
    r = ragate("--config", str(cfg), "calibrate", "--from-feedback", "--fit-blend", "--write-config", "--json", env_extra=env)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["pairs"] == given and report["saved_to"].endswith("calibration/default.labelled.json")
    fit = report["blend"]
    assert 0 < fit["queries"] <= len(questions) and len(fit["grid"]) == 24
    # The reranker keeps a weight only when its gain over hybrid is beyond doubt; the best of the side chosen wins.
    helps = fit["reranker_gain"]["ci_low"] > 0
    side = [g["ndcg@10"] for g in fit["grid"] if (g["w_relevance"] > 0) == helps]
    assert (fit["chosen"]["w_relevance"] > 0) == helps and fit["chosen"]["ndcg@10"] >= max(side) - 0.01
    assert report["written"] == ["[blend] w_relevance, w_retrieval"] and "ragate service --stop" in r.stderr
    assert f"w_relevance = {fit['chosen']['w_relevance']:.4f}" in cfg.read_text()
