"""Prometheus metrics over the real transports: GET /metrics on `serve --http` and `ragate metrics`
from the index service, parsed with the Prometheus client's own parser and checked against the
calls made."""

import secrets

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.launcher import free_port, http_server, http_session

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

OFF_TOPIC = "what is the boiling point of tungsten in a vacuum chamber"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(parsed: list, name: str, **labels: str) -> float:
    return sum(s.value for s in parsed if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


async def test_metrics_count_the_calls_made_and_stay_behind_the_token(tmp_path, server_env, examples, ragate):
    port, token = free_port(), secrets.token_urlsafe(16)
    env = server_env(str(tmp_path / "q"))
    with http_server(env, port, token):
        async with http_session(port, token) as s:
            await s.call_tool("index_paths", {"paths": [str(examples / "ragate")]})
            for q in ("how are filters applied", "how are filters applied"):  # the second from the score cache
                assert not (await s.call_tool("search", {"query": q, "top_k": 2})).is_error
            assert (await s.call_tool("search", {"query": "x", "collection": "nope"})).is_error
            for q in ("how are filters applied", OFF_TOPIC):
                assert not (await s.call_tool("answer_or_abstain", {"query": q})).is_error
        url = f"http://127.0.0.1:{port}/metrics"
        r = httpx2.get(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert httpx2.get(url).status_code == 401 and httpx2.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx2.post(url, headers={"Authorization": f"Bearer {token}"}).status_code == 405
        m = samples(r.text)
        assert value(m, "ragate_tool_calls_total", tool="search", outcome="ok") == 2
        assert value(m, "ragate_tool_calls_total", tool="search", outcome="unknown_collection") == 1
        assert value(m, "ragate_tool_calls_total", tool="answer", outcome="ok") == 2
        assert value(m, "ragate_tool_calls_total", tool="index", outcome="ok") == 1
        assert value(m, "ragate_tool_latency_seconds_count", tool="search") == 3
        assert value(m, "ragate_gate_decisions_total") == 2 and value(m, "ragate_p_answerable_count") == 2
        assert value(m, "ragate_gate_decisions_total", status="abstain") >= 1  # the off-topic question
        assert value(m, "ragate_stage_latency_seconds_count", stage="rerank") == 4
        assert (
            value(m, "ragate_stage_latency_seconds_count", stage="queue") == 6
        )  # each search and answer waited for a slot, the index for the write lock
        assert value(m, "ragate_rerank_pairs_total") > 0 and value(m, "ragate_rerank_cached_pairs_total") > 0  # the repeated query
        assert value(m, "ragate_index_chunks", collection="default") > 0 and value(m, "ragate_engine_info", model="reranker") == 1
        assert value(m, "ragate_watcher_folders") == 0 and value(m, "ragate_watcher_pending_changes") == 0
        assert "filters applied" not in r.text and OFF_TOPIC not in r.text  # no query text in any label
        # The same service's metrics from the command line, for stdio setups.
        cli = ragate(
            "metrics",
            env_extra={"RAGATE_QDRANT_PATH": str(tmp_path / "q"), "RAGATE_SERVER_ALLOWED_ROOTS": env["RAGATE_SERVER_ALLOWED_ROOTS"]},
        )
        assert cli.returncode == 0, cli.stderr
        assert value(samples(cli.stdout), "ragate_tool_calls_total", tool="search", outcome="ok") == 2
