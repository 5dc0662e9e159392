"""Limits that bound a call's cost: the tool timeout stops the work itself (not just the wait), and
metadata is capped before it is copied into every chunk. Over the real stdio transport."""

import time

import anyio
import pytest

from ragate.retrieval.deadline import check, deadline
from ragate.retrieval.errors import DeadlineExceeded
from tests.launcher import stdio_session

PASSAGE = "Neutron stars are the collapsed cores of massive stars, held up by neutron degeneracy pressure. " * 15


def test_deadline_stops_loops_between_batches(models):
    reranker = models.require_reranker()
    with deadline(0.0), pytest.raises(DeadlineExceeded, match="tool_timeout_s"):
        reranker.score("what holds up a neutron star?", [PASSAGE + str(i) for i in range(300)])
    with deadline(None):
        check("anything")  # no limit set: never raises


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_timed_out_rerank_stops_and_frees_the_reranker(tmp_path, server_env, anyio_backend):
    env = server_env(
        str(tmp_path / "q"),
        RAGATE_SERVER_TOOL_TIMEOUT_S="6",  # the big call times out; the small one after it fits on a slow CPU too
        RAGATE_SERVER_MAX_DOCUMENTS="3000",
        RAGATE_SERVER_MAX_DOCUMENT_CHARS="2000",
        RAGATE_RERANKER_CACHE_SIZE="0",
    )
    async with stdio_session(env) as s, stdio_session(env) as other:
        warm = await s.call_tool("rerank", {"query": "warm up", "documents": ["a", "b"]})
        assert not warm.is_error, warm.content[0].text
        docs = [f"{i} {PASSAGE}" for i in range(3000)]  # minutes of work on a small CPU
        outcome = {}

        async def attack():
            t = time.monotonic()
            r = await s.call_tool("rerank", {"query": "what holds up a neutron star?", "documents": docs})
            outcome["error"], outcome["text"], outcome["s"] = r.is_error, r.content[0].text, time.monotonic() - t

        async with anyio.create_task_group() as tg:
            tg.start_soon(attack)
            await anyio.sleep(1)
            t = time.monotonic()
            stats = await other.call_tool("stats", {})
            assert not stats.is_error and time.monotonic() - t < 2  # another client meanwhile
        assert outcome["error"] and "timed out" in outcome["text"], outcome
        t = time.monotonic()
        small = await other.call_tool("rerank", {"query": "neutron star", "documents": ["Neutron stars spin.", "Bananas."]})
        # The stopped call gave the reranker back within one slice of its work, not after all of it.
        assert not small.is_error and time.monotonic() - t < 20, time.monotonic() - t

        big_meta = {"k": "v" * 20_000}
        r = await s.call_tool("add_documents", {"documents": [{"text": "a note", "metadata": big_meta}]})
        assert r.is_error and "max_metadata_chars" in r.content[0].text
        stats = (await s.call_tool("stats", {})).structured_content
        assert "default" not in stats["collections"]  # nothing was written
