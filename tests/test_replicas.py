"""Two `serve --http` replicas of one index behind a round-robin proxy: a client on the newest MCP
protocol (no session handshake) whose requests alternate between them gets the same answers as
from one server. The index is the embedded one, shared through its index service, or the Qdrant
server at RAGATE_TEST_QDRANT_URL."""

import asyncio
import os
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx2
import mcp.types
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.launcher import free_port, http_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "corpus"
NEWEST = mcp.types.LATEST_PROTOCOL_VERSION
pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend():
    return "asyncio"


class RoundRobin:
    """A TCP proxy on loopback sending each new connection to the next backend in turn."""

    def __init__(self, backends: list[int]):
        self.backends, self.served = backends, [0] * len(backends)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(asyncio.start_server(self._proxy, "127.0.0.1", self.port))
        ready.set()
        self._loop.run_forever()

    async def _proxy(self, reader, writer) -> None:
        n = sum(self.served) % len(self.backends)
        self.served[n] += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backends[n])

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


async def test_two_replicas_answer_a_client_that_alternates_between_them(tmp_path, server_env):
    token = "replica-token"
    env = server_env(str(tmp_path / "q"))
    if os.environ.get("RAGATE_TEST_QDRANT_URL"):
        env = {**env, "RAGATE_QDRANT_URL": os.environ["RAGATE_TEST_QDRANT_URL"], "RAGATE_INDEX_COLLECTION": f"replicas_{os.getpid()}"}
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        proxy = RoundRobin(ports)
        env["RAGATE_SERVER_ALLOWED_HOSTS"] = f'["127.0.0.1:{proxy.port}"]'  # the Host clients send is the balancer's
        for port in ports:
            stack.enter_context(http_server(env, port, token, capture=False))
        stack.callback(proxy.close)
        # No keep-alive: every request is a new connection, so the proxy alternates per request.
        http = httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx2.Limits(max_keepalive_connections=0),
            timeout=httpx2.Timeout(30, read=300),
        )
        url = f"http://127.0.0.1:{proxy.port}/mcp"
        async with http, Client(streamable_http_client(url, http_client=http), mode=NEWEST) as client:
            assert client.protocol_version == NEWEST
            indexed = await client.call_tool("index_paths", {"paths": [str(EXAMPLES)]})
            assert not indexed.is_error, indexed.content[0].text
            answers = []
            for _ in range(4):
                r = await client.call_tool("search", {"query": "What is Hawking radiation?", "top_k": 3})
                assert not r.is_error, r.content[0].text
                answers.append([x["chunk_id"] for x in r.structured_content["results"]])
            assert all(a == answers[0] for a in answers) and answers[0]
            link = next(c for c in r.content if c.type == "resource_link")
            chunk = await client.read_resource(link.uri)
            assert "Hawking" in chunk.contents[0].text
        assert min(proxy.served) >= 3, proxy.served  # both replicas answered calls


def test_two_replicas_on_one_qdrant_server_gate_with_one_calibration(tmp_path, make_settings, models, monkeypatch):
    """Replicas of one cluster each have their own machine, folder and process: a calibration one of
    them fits is the one every replica gates with, and the agents' feedback and the drift of the
    queries either served are counted by both, read from the server (the client code path a
    cluster uses: on the server at RAGATE_TEST_QDRANT_URL when it is set, else an in-memory Qdrant)."""
    from qdrant_client import QdrantClient

    from ragate.retrieval import state
    from ragate.retrieval.qdrant import ServerQdrant
    from ragate.scoring import drift
    from ragate.server.ops import ADD_DOCUMENTS, ANSWER, COLLECTIONS, DROP_COLLECTION, FEEDBACK, SEARCH, STATS
    from ragate.server.requests import AddDocumentsRequest, AnswerRequest, CollectionRequest, FeedbackRequest, SearchRequest
    from ragate.server.use_cases import local_use_cases

    monkeypatch.setattr(state, "RELOAD_S", 0.2)  # another replica's write shows within this (10 s as shipped)
    monkeypatch.setattr(drift, "FLUSH_S", 0.0)  # each query's drift written at once (every 30 s as shipped)
    url = os.environ.get("RAGATE_TEST_QDRANT_URL")
    server = QdrantClient(url=url) if url else QdrantClient(location=":memory:")
    collection = {"collection": f"replicas_calibration_{os.getpid()}"}
    a, b = (
        local_use_cases(make_settings(tmp_path / f"machine-{i}", index=collection), models, ServerQdrant(server, url or "in-memory"))
        for i in "ab"
    )
    docs = [{"text": (EXAMPLES / "science" / name).read_text(), "source": name} for name in ("tides.md", "insulin.md", "mitochondria.md")]
    a.run(ADD_DOCUMENTS, AddDocumentsRequest(documents=docs))
    question = AnswerRequest(query="What causes the tides?")
    assert a.run(ANSWER, question).calibration == b.run(ANSWER, question).calibration == "default"

    fitted = a.catalog.profile().model_copy(
        update={"source": "labelled", "fitted_on": "replica a's labels", "fitted_at": "2026-12-07T00:00:00Z"}
    )
    fitted.answerability = fitted.answerability.model_copy(update={"threshold": 0.999})
    saved_to = a.catalog.profiles.save(a.settings.index.collection, fitted)
    assert "ragate.state" in saved_to and not list(tmp_path.rglob("calibration"))  # in the server, on no machine's disk
    time.sleep(0.3)
    seen = b.run(ANSWER, question)
    assert (seen.calibration, seen.calibration_fitted_on, seen.threshold) == ("labelled", "replica a's labels", 0.999)
    assert seen.status == "abstain"  # the threshold replica a fitted decides on replica b
    chunk = a.run(SEARCH, SearchRequest(query="What causes the tides?", top_k=1)).results[0].chunk_id
    a.run(FEEDBACK, FeedbackRequest(query="What causes the tides?", chunk_id=chunk, useful=True))
    b.run(FEEDBACK, FeedbackRequest(query="Where is insulin made?", chunk_id=chunk, useful=False))
    time.sleep(0.3)
    for replica in (a, b):
        stats = replica.run(STATS)
        assert (stats["feedback"]["entries"], stats["feedback"]["useful"]) == (2, 1), stats["feedback"]
        seen = stats["collections"][a.settings.index.collection]["drift"]
        assert seen["processes"] == 2 and seen["p_answerable"]["queries"] == 3, seen  # a answered twice, b once
    # A calibration one replica cannot read is set aside with a word in every response, not silently.
    a.catalog.qdrant.state.write(f"calibration/{a.settings.index.collection}.self.json", "{not json")
    time.sleep(0.3)
    notes = b.run(SEARCH, SearchRequest(query="What causes the tides?", top_k=1)).notes
    assert any("its self calibration is set aside (it cannot be read" in n for n in notes), notes
    listed = [c.name for c in b.run(COLLECTIONS).collections]
    assert a.settings.index.collection in listed and "ragate.state" not in listed  # ragate's own collection is not listed
    if url:  # a shared server: what this test wrote goes
        a.run(DROP_COLLECTION, CollectionRequest())
