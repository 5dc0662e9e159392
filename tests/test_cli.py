"""The `ragate` command as users run it, in a subprocess."""

import json
import re

import pytest

from tests.helpers import TINY_DOCS


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
    stages = {k: v for k, v in out["timings_ms"].items() if k != "total"}
    assert "queue" in stages and sum(stages.values()) <= out["timings_ms"]["total"] + 1  # the stages add up to the total
    assert len(out["results"]) == 3
    first = out["results"][0]
    assert set(first) >= {"rank", "chunk_id", "doc_id", "source", "title", "text", "score", "scores"}
    assert set(first["scores"]) >= {"dense", "bm25", "fused", "rerank"}
    assert first["source"].endswith("tides.md")
    r = ragate("search", "tides", "--filter", "source_type=docs", "--filter", "bogus=1", env_extra=env)
    assert r.returncode == 2 and "bogus" in r.stderr
    r = ragate("stats", "--json", env_extra=env)
    stats = json.loads(r.stdout)
    assert stats["collections"]["default"]["chunks"] >= report["chunks_written"]
    engines = json.loads(ragate("engines", "--json", env_extra=env).stdout)
    assert engines["reranker"]["engine"] == stats["reranker"]["engine"] and not engines["reranker"]["engine_pending"]
    assert engines["reranker"]["measured"]["torch"]["seconds"] > 0  # the verdict auto measured, engine by engine

    # A mixed folder: what is left out is counted by reason, the globs' choices listed with -v.
    mixed = tmp_path / "mixed"
    (mixed / ".git").mkdir(parents=True)
    (mixed / "notes.md").write_text("# Notes\n\nThe backup runs at midnight.")
    (mixed / "build.py").write_text("print(1)")
    (mixed / "LICENSE").write_text("MIT")
    (mixed / ".git" / "HEAD").write_text("ref")
    (mixed / "empty.txt").write_text("")
    r = ragate("index", str(mixed), "--no-progress", env_extra=env)
    assert r.returncode == 0, r.stderr
    assert "4 files seen: 1 indexed, 0 unchanged, 3 not indexed" in r.stdout, r.stdout
    assert re.search(
        r"stages: read [\d.]+s, extract [\d.]+s, chunk [\d.]+s, embed [\d.]+s, bm25 [\d.]+s, write [\d.]+s, optimize [\d.]+s", r.stdout
    )
    assert "2 not matched by [index] include (.py 1, no extension 1); 1 folder(s) left out by [index] exclude; 1 no text" in r.stdout
    assert (
        f"skipped {mixed / 'empty.txt'}: no text" in r.stdout
        and "build.py" not in r.stdout
        and "--list-skipped also lists the 3 files and folders" in r.stdout
    )
    listed = ragate("index", str(mixed), "--no-progress", "--list-skipped", env_extra=env).stdout
    assert f"skipped {mixed / 'build.py'}: not matched by [index] include (.py)" in listed and f"{mixed / '.git'}/" in listed


@pytest.mark.slow
def test_one_index_wherever_the_command_runs(tmp_path, ragate, examples):
    # No config file and no [qdrant] path: the per-user index, the same from every folder.
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    try:
        assert ragate("index", str(examples / "science"), "--no-progress", env_extra=env, cwd=str(here)).returncode == 0
        found = ragate("search", "What causes the tides in the ocean?", "--json", "-k", "1", env_extra=env, cwd=str(there))
        assert found.returncode == 0, found.stderr[-2000:]
        assert json.loads(found.stdout)["results"][0]["source"].endswith("tides.md")
        stats = ragate("stats", env_extra=env, cwd=str(there)).stdout
        assert f"index: qdrant-edge at {tmp_path / 'data' / 'ragate' / 'qdrant'}" in stats and "config: no config file" in stats, stats
        assert not (here / ".ragate").exists() and not (there / ".ragate").exists()
    finally:
        ragate("service", "--stop", env_extra=env, cwd=str(there))


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
    expected = {
        "index",
        "search",
        "answer",
        "rerank",
        "stats",
        "engines",
        "delete",
        "feedback",
        "eval",
        "calibrate",
        "tune",
        "serve",
        "service",
    }
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


TINY_QUERIES = {"q1": ("The moon causes ocean tides.", "d1"), "q2": ("Insulin reduces blood sugar.", "d3")}
BAR = re.compile(r"\[\d\d:\d\d")  # the elapsed-time field every progress bar line carries


@pytest.mark.slow
def test_no_progress_is_honoured_by_every_command_that_takes_it(tmp_path, ragate, write_beir, examples):
    """Bars are drawn on the caller's stderr (not in the index service's log), and --no-progress means none."""
    takes_flag = {c for c in ("index", "search", "eval", "calibrate", "tune", "stats") if "--no-progress" in ragate(c, "--help").stdout}
    assert takes_flag == {"index", "eval", "calibrate", "tune"}
    qrels = {q: d for q, (_, d) in TINY_QUERIES.items()}
    ds = write_beir(tmp_path / "tiny", TINY_DOCS, {q: t for q, (t, _) in TINY_QUERIES.items()}, {"test": qrels, "train": qrels})
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q")}
    runs = {
        "index": ["index", str(examples / "science")],
        "eval": ["eval", "--dataset", str(ds), "--variants", "bm25,hybrid,hybrid+rerank", "--out", str(tmp_path / "out")],
        "calibrate": ["calibrate", "--dataset", str(ds), "--candidates", "3"],
    }
    for name, args in runs.items():
        # Shown first: the first command starts the index service, and says so while its bar is drawn.
        shown = ragate(*args, env_extra=env)
        assert shown.returncode == 0, (name, shown.stderr[-2000:])
        assert BAR.search(shown.stderr), (name, shown.stderr[-2000:])
        # A log line never shares a line with a bar, and a phase without a count is not "0it".
        segments = re.split(r"[\r\n]", shown.stderr)
        assert not [s for s in segments if BAR.search(s) and re.search(r"WARNING|INFO", s)], (name, shown.stderr[-2000:])
        assert " 0it " not in shown.stderr, (name, shown.stderr[-2000:])
        quiet = ragate(*args, "--no-progress", env_extra=env)
        assert quiet.returncode == 0, (name, quiet.stderr[-2000:])
        assert not BAR.search(quiet.stderr), (name, quiet.stderr[-2000:])
    log = (tmp_path / "q" / "service.log").read_text()
    assert not BAR.search(log), log[-2000:]
