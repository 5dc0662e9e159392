"""Two `serve --http` replicas of one index behind a round-robin proxy: a client on the newest MCP
protocol (no session handshake) whose requests alternate between them gets the same answers as
from one server. The index is the embedded one, shared through its index service, or the Qdrant
server at RAGATE_TEST_QDRANT_URL."""

import asyncio
import os
import threading
from contextlib import ExitStack
from pathlib import Path

import httpx2
import mcp.types
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from ragate.server.mcp.launcher import free_port, http_server

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
