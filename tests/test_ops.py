"""The operations table (server/ops.py) and what derives from it, without models: every operation
has its handler, every MCP tool is made from its request model, an agent cannot set a caller-only
field, and the tools' annotations and the OAuth read scope follow `writes`. The tools are called
in-process over the MCP server's own dispatch, against use cases that record what reaches them."""

import asyncio
import inspect

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from ragate.retrieval.errors import DeadlineExceeded, RagateError
from ragate.retrieval.indexer import IndexReport, SkippedFile
from ragate.server.config import Settings
from ragate.server.mcp.tools import build_server
from ragate.server.ops import OPS, READ_TOOLS, TOOLS, WATCH, Op
from ragate.server.schemas import CollectionInfo, CollectionList, FeedbackResult
from ragate.server.service.client import ServiceClient
from ragate.server.use_cases import local_use_cases


class RecordingUseCases:
    """Use cases that answer each operation with a canned response and keep the requests."""

    def __init__(self, settings: Settings, answers: dict[str, object]):
        self.settings, self.answers, self.calls = settings, answers, []

    def run(self, op: Op, req=None):
        self.calls.append((op.name, req))
        return self.answers[op.name]

    def wait_ready(self, timeout=None) -> bool:
        return True

    def close(self) -> None:
        pass


def settings(**server) -> Settings:
    s = Settings()
    s.server = s.server.model_copy(update=server)
    return s


def tools(uc) -> dict:
    return {t.name: t for t in asyncio.run(build_server(uc).full_tools())}


def test_every_operation_has_its_handler_and_one_name(tmp_path):
    uc = local_use_cases(Settings.model_validate({"qdrant": {"path": str(tmp_path / "q")}}))
    try:
        for name, op in OPS.items():
            assert op.name == name
            handler = uc.handler(name)
            if op is WATCH:  # the service's own: its folder watcher
                assert handler is None
                continue
            assert callable(handler), f"no handler for {name} in this process"
            takes = list(inspect.signature(handler).parameters)
            assert takes == (["req"] if op.request is not None else []), (name, takes)
    finally:
        uc.close()
    # The service client has no method per operation: one `run` sends every one of them.
    assert not [name for name in OPS if hasattr(ServiceClient, name)]


def test_each_tool_takes_its_request_models_agent_fields_and_no_caller_only_field():
    listed = tools(RecordingUseCases(Settings(), {}))
    assert set(listed) == set(TOOLS)
    for name, op in TOOLS.items():
        params = set(listed[name].input_schema.get("properties", {}))
        agent = set(op.request.agent_fields()) if op.request is not None else set()
        assert params == agent, name
    assert "allowed_roots" not in listed["index_paths"].input_schema["properties"]
    assert "progress" not in listed["index_paths"].input_schema["properties"]
    assert "fusion" not in listed["search"].input_schema["properties"]
    # Descriptions and ranges come from the request model.
    top_k = listed["search"].input_schema["properties"]["top_k"]
    assert top_k["default"] == 10 and "max_top_k" in top_k["description"]


def test_annotations_and_the_read_scope_follow_writes():
    listed = tools(RecordingUseCases(Settings(), {}))
    assert READ_TOOLS == {"search", "rerank", "answer_or_abstain", "stats", "collections"}
    for name, t in listed.items():
        assert bool(t.annotations.read_only_hint) == (name in READ_TOOLS), name
    assert listed["delete"].annotations.destructive_hint and not listed["index_paths"].annotations.destructive_hint


def test_an_agent_indexes_only_under_the_servers_allowed_roots_and_gets_a_listed_report():
    skipped = [SkippedFile(path=f"/r/{i}.bin", reason="not matched", kind="not_included") for i in range(150)]
    report = IndexReport(collection="default", files_seen=150, skipped=skipped, skipped_by_kind={"not_included": 150})
    uc = RecordingUseCases(settings(allowed_roots=["/srv/docs"]), {"index": report})
    server = build_server(uc)
    result = asyncio.run(server.call_tool("index_paths", {"paths": ["/srv/docs/a"]}))
    ((name, req),) = uc.calls
    assert name == "index" and req.allowed_roots == ["/srv/docs"] and req.paths == ["/srv/docs/a"] and not req.progress
    structured = result[1] if isinstance(result, tuple) else result.structured_content
    assert len(structured["skipped"]) == 100 and structured["skipped_not_listed"] == 50  # an agent's context gets a list, counts whole
    # A caller-only field is no argument: the agent is refused, and nothing runs.
    with pytest.raises(ToolError, match="unknown argument allowed_roots"):
        asyncio.run(server.call_tool("index_paths", {"paths": ["/etc"], "allowed_roots": ["/"]}))
    assert len(uc.calls) == 1


def test_a_new_read_only_tool_is_its_table_entry():
    info = CollectionInfo(name="notes", default=True, chunks=12, documents=3, languages={"en": 1.0}, calibration="default")
    uc = RecordingUseCases(Settings(), {"collections": CollectionList(collections=[info]), "feedback": None})
    result = asyncio.run(build_server(uc).call_tool("collections", {}))
    structured = result[1] if isinstance(result, tuple) else result.structured_content
    assert structured["collections"][0]["name"] == "notes" and uc.calls == [("collections", None)]


def test_a_refused_request_reaches_no_use_case():
    uc = RecordingUseCases(Settings(), {"feedback": FeedbackResult(recorded=True, chunk_id="c", useful=True, entries=1)})
    server = build_server(uc)
    with pytest.raises(ToolError, match="useful"):
        asyncio.run(server.call_tool("feedback", {"query": "q", "chunk_id": "c", "useful": "yes"}))
    assert uc.calls == []


def test_the_process_that_runs_an_operation_schedules_it_once(tmp_path):
    """Heavy operations share the reranker's slots and writes the write lock, taken in `Pipeline.run`
    alone (the MCP tools and the service's socket forward): a call waits there within its deadline,
    and its wait is the response's `queue` stage. No models are loaded: the handlers stand in."""
    import threading
    import time

    from ragate.retrieval.deadline import deadline
    from ragate.server.ops import FEEDBACK, SEARCH
    from ragate.server.pipeline import Pipeline
    from ragate.server.requests import FeedbackRequest, SearchRequest

    s = Settings.model_validate({"qdrant": {"path": str(tmp_path / "q")}, "server": {"max_concurrent_reranks": 1}})
    p = Pipeline(s)
    release, inside = threading.Event(), threading.Event()

    class Timed:
        def __init__(self):
            self.timings_ms = {"rerank": 1.0, "total": 1.0}

    def search(req):
        inside.set()
        release.wait(5)
        return Timed()

    p.search = search  # type: ignore[method-assign]
    p.feedback = lambda req: "recorded"  # type: ignore[method-assign]
    try:
        first = threading.Thread(target=p.run, args=(SEARCH, SearchRequest(query="a")))
        first.start()
        assert inside.wait(5)
        with deadline(0.3), pytest.raises(DeadlineExceeded, match="queue"):  # the only slot is taken
            p.run(SEARCH, SearchRequest(query="b"))
        assert p.run(FEEDBACK, FeedbackRequest(query="q", chunk_id="c", useful=True)) == "recorded"  # a write is not in that line
        threading.Timer(0.3, release.set).start()
        started = time.perf_counter()
        waited = p.run(SEARCH, SearchRequest(query="c"))
        assert 200 < waited.timings_ms["queue"] <= (time.perf_counter() - started) * 1000 + 1
        assert waited.timings_ms["total"] == pytest.approx(1.0 + waited.timings_ms["queue"], abs=0.02)
        first.join(5)
    finally:
        release.set()
        p.close()


def test_exclusive_operations_take_turns_and_a_self_calibration_does_not_hold_them_up(tmp_path):
    """Writes to the store (index, add_documents, delete, feedback, ...) run one at a time, the
    watched folders' passes among them; a self-calibration, which only reads the store while it
    runs, neither waits for them nor keeps them waiting."""
    import threading

    from ragate.retrieval.deadline import deadline
    from ragate.server.ops import ADD_DOCUMENTS, FEEDBACK, SELF_CALIBRATE
    from ragate.server.pipeline import Pipeline
    from ragate.server.requests import AddDocumentsRequest, FeedbackRequest, SelfCalibrateRequest

    p = Pipeline(Settings.model_validate({"qdrant": {"path": str(tmp_path / "q")}}))
    release, inside = threading.Event(), threading.Event()

    def feedback(req):
        inside.set()
        release.wait(5)
        return "recorded"

    p.feedback = feedback  # type: ignore[method-assign]
    p.add_documents = lambda req: "indexed"  # type: ignore[method-assign]
    p.self_calibrate = lambda req: "calibrated"  # type: ignore[attr-defined]
    try:
        first = threading.Thread(target=p.run, args=(FEEDBACK, FeedbackRequest(query="q", chunk_id="c", useful=True)))
        first.start()
        assert inside.wait(5)
        with deadline(0.3), pytest.raises(DeadlineExceeded, match="queue"):
            p.run(ADD_DOCUMENTS, AddDocumentsRequest(documents=[{"text": "t"}]))
        assert p.run(SELF_CALIBRATE, SelfCalibrateRequest()) == "calibrated"
        release.set()
        first.join(5)
        assert p.run(ADD_DOCUMENTS, AddDocumentsRequest(documents=[{"text": "t"}])) == "indexed"
    finally:
        release.set()
        p.close()


class FailingUseCases(RecordingUseCases):
    def __init__(self, error: Exception):
        super().__init__(Settings(), {})
        self.error = error

    def run(self, op: Op, req=None):
        raise self.error


@pytest.mark.parametrize(
    "error,words",
    [
        (DeadlineExceeded("stopped at the rerank stage: past the 30s deadline"), "stopped at the rerank stage"),
        (RagateError.from_wire("internal", "KeyError: 'x'"), "internal error in ragate, not in your request"),
        (RagateError.from_wire("unknown_collection", "unknown collection 'x'"), "unknown collection 'x'"),
    ],
)
def test_each_error_kind_reaches_an_agent_in_its_own_words(error, words):
    with pytest.raises(ToolError, match=words):
        asyncio.run(build_server(FailingUseCases(error)).call_tool("search", {"query": "q"}))


def test_a_crash_in_the_service_is_an_internal_error_on_the_command_line(monkeypatch, capsys):
    from ragate.server.cli import commands, main

    def crashed(*args, **kwargs):
        raise RagateError.from_wire("internal", "KeyError: 'x' (traceback in service.log)")

    monkeypatch.setattr(commands, "run_use_case", crashed)
    assert main.main(["stats"]) == 70
    assert "internal error (a bug in ragate, not in what you asked" in capsys.readouterr().err
