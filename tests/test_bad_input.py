"""Bad input, case by case: every tool (through the MCP server's own argument validation) and the
CLI answer with an error that names the field or limit, nothing indexed changes, and the next
call is served normally. The over-the-wire version of this lives in test_mcp."""

import json
import os
from pathlib import Path

import anyio
import pytest
from mcp.server.mcpserver.exceptions import ToolError

from ragate.server.mcp.tools import build_server
from ragate.server.pipeline import Pipeline
from ragate.server.requests import IndexRequest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "corpus"
HUGE = "x" * 1_000_000
FIVE_MB = "y" * 5_000_000

TOOL_CASES = [
    # search
    ("search", {"query": ""}, "query"),
    ("search", {"query": " \n\t "}, "query"),
    ("search", {"query": HUGE}, "max_query_chars"),
    ("search", {"query": "a\x00b"}, "control characters"),
    ("search", {"query": "a\x1bb"}, "control characters"),
    ("search", {"query": "bad \udc80 surrogate"}, "not valid UTF-8"),
    ("search", {"query": 42}, "query"),
    ("search", {"query": ["a", "b"]}, "query"),
    ("search", {}, "query"),
    ("search", {"query": "x", "top_k": 0}, "top_k"),
    ("search", {"query": "x", "top_k": -5}, "top_k"),
    ("search", {"query": "x", "top_k": 10**12}, "max_top_k"),
    ("search", {"query": "x", "top_k": "many"}, "top_k"),
    ("search", {"query": "x", "candidates": 100_000}, "max_candidates"),
    ("search", {"query": "x", "filters": {"sauce": "a"}}, "sauce"),
    ("search", {"query": "x", "filters": {"updated_after": "yesterday-ish"}}, "updated_after"),
    ("search", {"query": "x", "filters": "source=a"}, "filters"),
    ("search", {"query": "x", "filters": {"meta": {"k": {"nested": 1}}}}, "meta"),
    ("search", {"query": "x", "collection": "nope"}, "unknown collection"),
    ("search", {"query": "x", "collection": "../../etc"}, "String should match pattern"),
    ("search", {"query": "x", "collection": "default\n"}, "String should match pattern"),
    ("search", {"query": "x", "collection": "c" * 1_000_000}, "String should match pattern"),
    ("answer_or_abstain", {"query": "x", "collection": "c" * 1_000_000}, "collection"),
    ("search", {"query": "x", "weights": {"relevance": -1}}, "relevance"),
    ("search", {"query": "x", "rerank_budget_ms": -3}, "rerank_budget_ms"),
    ("search", {"query": "x", "max_tokens": 0}, "max_tokens"),
    ("search", {"query": "\u200b\u200b\ufeff"}, "visible characters"),
    ("search", {"query": "x", "top_k": True}, "top_k"),
    ("search", {"query": "x", "filters": {"source": "*x" * 70}}, "wildcards"),
    # rerank
    ("rerank", {"query": "x", "documents": []}, "documents"),
    ("rerank", {"query": "x", "documents": ["d"] * 10_000}, "max_documents"),
    ("rerank", {"query": "x", "documents": [FIVE_MB]}, "max_document_chars"),
    ("rerank", {"query": "x", "documents": [{"txt": "a"}]}, "text"),
    ("rerank", {"query": "x", "documents": "just a string"}, "documents"),
    ("rerank", {"query": "x", "documents": [17]}, "documents"),
    ("rerank", {"query": "x", "documents": ["a"], "top_n": 5}, "top_n"),
    ("rerank", {"query": "x", "documents": ["a"], "top_n": -1}, "top_n"),
    ("rerank", {"query": "x", "documents": ["ok", "bad \ud800"]}, "documents[1]"),
    ("rerank", {"query": "", "documents": ["a"]}, "query"),
    ("rerank", {"query": "x", "documents": ["a"], "top_n": True}, "top_n"),
    # answer_or_abstain
    ("answer_or_abstain", {"query": ""}, "query"),
    ("answer_or_abstain", {"query": HUGE}, "max_query_chars"),
    ("answer_or_abstain", {"query": "x", "min_score": 2}, "min_score"),
    ("answer_or_abstain", {"query": "x", "min_score": "high"}, "min_score"),
    ("answer_or_abstain", {"query": "x", "max_passages": 0}, "max_passages"),
    ("answer_or_abstain", {"query": "x", "collection": "nope"}, "unknown collection"),
    # index_paths
    ("index_paths", {"paths": ["/etc"]}, "allowed roots"),
    ("index_paths", {"paths": [str(EXAMPLES) + "/../../server"]}, "allowed roots"),
    ("index_paths", {"paths": ["/dev/zero"]}, "allowed roots"),
    ("index_paths", {"paths": ["/x" * 250_000]}, "500000 characters"),
    ("index_paths", {"paths": []}, "paths"),
    ("index_paths", {"paths": "examples"}, "paths"),
    ("index_paths", {"paths": [str(EXAMPLES / "missing")]}, "does not exist"),
    ("index_paths", {"paths": [str(EXAMPLES)], "collection": "bad name!"}, "collection"),
    # add_documents
    ("add_documents", {"documents": [{"text": ""}]}, "text"),
    ("add_documents", {"documents": [{"text": "a", "bogus": 1}]}, "bogus"),
    ("add_documents", {"documents": [{"text": FIVE_MB}]}, "max_document_chars"),
    ("add_documents", {"documents": [{"text": "a", "updated_at": "not a date"}]}, "updated_at"),
    ("add_documents", {"documents": []}, "documents"),
    # delete
    ("delete", {}, "ids or a non-empty filter"),
    ("delete", {"filters": {}}, "ids or a non-empty filter"),
    ("delete", {"ids": "abc"}, "ids"),
    ("delete", {"ids": ["x"]}, "ids[0]: 'x' is not a chunk id"),
    ("delete", {"ids": ["6f1d2a3e-52b0-4c55-9a0e-7d0f3c6b9e11"], "collection": "nope"}, "unknown collection"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory, models, make_settings):
    base = tmp_path_factory.mktemp("bad")
    (base / "files").mkdir()
    p = Pipeline(make_settings(base, server={"allowed_roots": [str(EXAMPLES), str(base / "files")]}), models)
    p.index(IndexRequest(paths=[str(EXAMPLES / "ragate")]))
    yield p, build_server(p), base / "files"
    p.close()


def snapshot(p):
    return json.dumps(p.stats()["collections"], sort_keys=True, default=str)


@pytest.mark.parametrize("tool,args,needle", TOOL_CASES, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(TOOL_CASES)])
def test_tool_rejects_bad_input_and_changes_nothing(served, tool, args, needle):
    p, server, _ = served
    before = snapshot(p)
    with pytest.raises(ToolError) as err:
        anyio.run(server.call_tool, tool, args)
    assert needle in str(err.value), str(err.value)[:500]
    assert len(str(err.value)) < 2000  # the error names the problem; it does not echo a megabyte back
    assert snapshot(p) == before
    ok = anyio.run(server.call_tool, "search", {"query": "filters", "top_k": 1})
    assert ok.structured_content["results"]


def test_unreadable_files_are_skipped_with_reasons(served):
    """Device files, binary files, corrupt PDFs and symlinks out of the roots inside a folder don't
    stop the run; each is reported with its reason."""
    p, server, folder = served
    try:
        (folder / "good.md").write_text("# Good\n\nA readable note about quasars and their jets.\n")
        (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
        (folder / "binary.txt").write_bytes(os.urandom(4096))
        os.mkfifo(folder / "pipe.md")
        (folder / "escape.md").symlink_to("/etc/hostname")
        report = anyio.run(server.call_tool, "index_paths", {"paths": [str(folder)], "collection": "files"})
        rep = report.structured_content
        reasons = {os.path.basename(s["path"]): s["reason"] for s in rep["skipped"]}
        assert rep["documents_indexed"] == 1
        assert {"broken.pdf", "binary.txt", "pipe.md", "escape.md"} <= set(reasons), reasons
        assert "allowed roots" in reasons["escape.md"]
    finally:
        p.catalog.qdrant.drop("files")


CLI_CASES = [
    (["search", ""], "query"),
    (["search", "x", "--top-k", "0"], "top"),
    (["search", "x", "--top-k", "many"], "invalid int"),
    (["search", "x", "-c", "nope"], "unknown collection"),
    (["search", "x", "--filter", "bogus=1"], "bogus"),
    (["search", "x", "--filter", "no-equals-sign"], "KEY=VALUE"),
    (["search", "x", "--rerank-budget-ms", "-5"], "rerank_budget_ms"),
    (["index", "/definitely/missing/folder"], "does not exist"),
    (["delete"], "--id"),
    (["eval", "--dataset", "/definitely/missing"], "missing"),
    (["no-such-command"], "invalid choice"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", CLI_CASES, ids=[" ".join(a)[:40] for a, _ in CLI_CASES])
def test_cli_rejects_bad_input_in_one_line(tmp_path, args, needle, ragate):
    r = ragate(*args, env_extra={"RAGATE_QDRANT_PATH": str(tmp_path / "q")}, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]


def test_cli_refuses_a_mistyped_environment_variable(tmp_path, ragate):
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q"), "RAGATE_RETRIEVAL_CANDIDATE": "50"}
    r = ragate("stats", env_extra=env, timeout=120)
    assert r.returncode == 2 and "did you mean RAGATE_RETRIEVAL_CANDIDATES" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]


@pytest.mark.slow
def test_a_port_in_use_is_one_line_naming_the_flag(tmp_path, ragate):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q"), "RAGATE_TOKEN": "t"}
        for args in (["ui", "--port", port], ["serve", "--http", "--port", port]):
            r = ragate(*args, env_extra=env, timeout=120)
            assert r.returncode == 2 and f"port {port} on 127.0.0.1 is in use" in r.stderr and "--port" in r.stderr, r.stderr[-2000:]
            assert "Traceback" not in r.stderr and "Errno" not in r.stderr and "/ui/login" not in r.stdout
    assert not (tmp_path / "q").exists()  # refused before any index service started


@pytest.mark.slow
def test_dropping_a_collection_never_reaches_outside_the_index(tmp_path, ragate):
    victim = tmp_path / "victim-idx" / "default"
    victim.mkdir(parents=True)
    (victim / "ragate.json").write_text("{}")
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q")}
    for name in ("../victim-idx/default", "default\n", "x" * 100_000):
        r = ragate("delete", "--drop-collection", "-c", name, env_extra=env, timeout=120)
        assert r.returncode == 2 and "collection" in r.stderr and len(r.stderr) < 2000, r.stderr[-500:]
    assert (victim / "ragate.json").is_file()


@pytest.mark.parametrize(
    "toml,needle",
    [
        ("[retrieval]\ncandidatez = 5\n", "retrieval.candidatez"),
        ("[retrieval]\ncandidates = 'many'\n", "retrieval.candidates"),
        ("[reranker]\nbackend = 'gpu-magic'\n", "reranker.backend"),
        ("[gate]\nmin_score = 1.5\n", "gate.min_score"),
        ("[index\n", "not valid TOML"),
    ],
)
def test_cli_names_the_bad_config_key(tmp_path, toml, needle, ragate):
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml)
    r = ragate("--config", str(cfg), "stats", env_extra={"RAGATE_QDRANT_PATH": str(tmp_path / "q")}, timeout=120)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
