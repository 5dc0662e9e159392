"""The `ragate` command as users run it, in a subprocess."""

import json
import re

import pytest


@pytest.mark.slow
def test_index_then_search_json(tmp_path, ragate, examples):
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q")}
    r = ragate("index", str(examples), "--no-progress", "--json", env_extra=env)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["documents_indexed"] >= 20 and report["skipped"] == []
    r = ragate("search", "What causes the tides in the ocean?", "--json", "-k", "3", env_extra=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # exactly one JSON object on stdout
    assert out["query"] == "What causes the tides in the ocean?"
    assert set(out["timings_ms"]) >= {"embed", "dense", "bm25", "fuse", "rerank", "total"}
    assert len(out["results"]) == 3
    first = out["results"][0]
    assert set(first) >= {"rank", "chunk_id", "doc_id", "source", "title", "text", "score", "scores"}
    assert set(first["scores"]) >= {"dense", "bm25", "fused", "rerank"}
    assert first["source"].endswith("tides.md")
    r = ragate("search", "tides", "--filter", "source_type=docs", "--filter", "bogus=1", env_extra=env)
    assert r.returncode == 2 and "bogus" in r.stderr
    r = ragate("stats", "--json", env_extra=env)
    assert json.loads(r.stdout)["collections"]["default"]["chunks"] >= report["chunks_written"]


def test_errors_are_one_clear_line(tmp_path, ragate, examples):
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q")}
    r = ragate("index", str(tmp_path / "missing"), env_extra=env)
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[retrieval]\ncandidates = 'x'\n")
    r = ragate("--config", str(bad), "stats", env_extra=env)
    assert r.returncode == 2 and "retrieval.candidates" in r.stderr
    r = ragate("search", "x", "-c", "nope", env_extra=env)
    assert r.returncode == 2 and "unknown collection" in r.stderr


def test_missing_reranker_is_named_with_config_key(tmp_path, ragate, examples):
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q"), "RAGATE_RERANKER_MODEL": str(tmp_path / "no-model")}
    assert ragate("index", str(examples / "ragate"), "--no-progress", env_extra=env).returncode == 0
    r = ragate("search", "filters", "--json", env_extra=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["reranked"] is False and out["results"]
    assert "no-model" in out["notes"][0] and "RAGATE_RERANKER_MODEL" in out["notes"][0]


def test_help_lists_commands(ragate, examples):
    r = ragate("--help")
    assert r.returncode == 0
    # The subcommand list argparse prints: one "  NAME  help" line per command under COMMAND.
    listed = set(re.findall(r"^    ([a-z]+)\s{2,}\S", r.stdout, re.M))
    expected = {"index", "search", "answer", "rerank", "stats", "delete", "feedback", "eval", "calibrate", "tune", "serve", "service"}
    assert expected <= listed, expected - listed


def test_calibrate_refuses_bad_gate_options(tmp_path, ragate):
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q")}
    r = ragate("calibrate", "--labels", "pairs.jsonl", "--offtopic-queries", "off.jsonl", env_extra=env)
    assert r.returncode == 2 and "--offtopic-queries needs --dataset" in r.stderr
    r = ragate("calibrate", "--dataset", "d", "--offtopic-queries", "off.jsonl", "--confidence", "1.5", env_extra=env)
    assert r.returncode == 2 and "between 0 and 1" in r.stderr and "Traceback" not in r.stderr
    r = ragate("calibrate", "--labels", "pairs.jsonl", "--fit-blend", env_extra=env)
    assert r.returncode == 2 and "--fit-blend needs --dataset or --from-feedback" in r.stderr


def test_a_reader_that_closes_early_ends_the_command_quietly(tmp_path, monkeypatch, capsys):
    # `ragate ... | head`: the pipe's reader is gone when ragate writes. No traceback, exit 141.
    import os
    import sys

    from ragate.server.cli.main import main

    monkeypatch.setenv("RAGATE_QDRANT_PATH", str(tmp_path / "q"))
    read_end, write_end = os.pipe()
    os.close(read_end)
    pipe = os.fdopen(write_end, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", pipe)
    try:
        assert main(["service", "--stop"]) == 141  # it prints "no index service running"
    finally:
        monkeypatch.undo()
        pipe.close()
    assert "Traceback" not in capsys.readouterr().err
