"""One index, many clients: several `ragate serve` processes and the CLI share one index service,
and a watched folder stays searchable as its files change."""

import json
import time

import anyio
import pytest

from tests.launcher import stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def search_texts(session, query, **extra):
    r = await session.call_tool("search", {"query": query, "top_k": 5, **extra})
    assert not r.is_error, r.content[0].text
    return [x["text"] for x in r.structured_content["results"]]


async def test_three_stdio_servers_and_the_cli_share_one_index(tmp_path, server_env, ragate, examples):
    env = server_env(str(tmp_path / "q"))
    logs = [tmp_path / f"serve-{i}.log" for i in range(3)]
    async with (
        stdio_session(env, errlog_path=str(logs[0])) as a,
        stdio_session(env, errlog_path=str(logs[1])) as b,
        stdio_session(env, errlog_path=str(logs[2])) as c,
    ):
        r = await a.call_tool("index_paths", {"paths": [str(examples / "science")]})
        assert not r.is_error, r.content[0].text
        found: dict[int, list[str]] = {}

        async def ask(i, session):
            found[i] = await search_texts(session, "What causes ocean tides?")

        async with anyio.create_task_group() as tg:  # the three servers at once
            for i, s in enumerate((a, b, c)):
                tg.start_soon(ask, i, s)
        assert all(any("tide" in t.lower() for t in found[i]) for i in range(3)), found

        fresh = tmp_path / "fresh"
        fresh.mkdir()
        (fresh / "quokka.md").write_text("# Quokka\n\nThe quokka is a small wallaby that lives on Rottnest Island.\n")
        cli = await anyio.to_thread.run_sync(lambda: ragate("index", str(fresh), "--json", env_extra=env))
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["documents_indexed"] == 1
        for s in (a, b, c):
            assert any("Rottnest" in t for t in await search_texts(s, "quokka wallaby island"))
        stats = (await b.call_tool("stats", {})).structured_content
        assert stats["service"]["pid"] == (await c.call_tool("stats", {})).structured_content["service"]["pid"]
    for log in logs:
        assert "locked" not in log.read_text()


async def poll(session, word, present, limit_s=5.0):
    """Seconds until a search for `word` does (or no longer does) find it; fails past limit_s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        r = await session.call_tool("search", {"query": word, "top_k": 5, "rerank": False})
        if r.is_error:  # before the watcher's first pass there is no collection yet
            assert "unknown collection" in r.content[0].text, r.content[0].text
        elif any(word in x["text"] for x in r.structured_content["results"]) == present:
            return time.monotonic() - t0
        await anyio.sleep(0.2)
    pytest.fail(f"{word!r} {'not found' if present else 'still found'} after {limit_s}s")


async def test_a_watched_folder_is_searchable_within_5s_of_a_change(tmp_path, server_env):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "birds.md").write_text("# Birds\n\nThe plover nests on open beaches.\n")
    env = server_env(
        str(tmp_path / "q"),
        RAGATE_SERVER_ALLOWED_ROOTS=json.dumps([str(tmp_path)]),
        RAGATE_INDEX_WATCH=json.dumps([str(notes)]),
        RAGATE_INDEX_WATCH_DEBOUNCE_MS="200",
    )
    async with stdio_session(env) as s:
        await poll(s, "plover", True, limit_s=180)  # the first pass, once the models have loaded
        (notes / "fish.md").write_text("# Fish\n\nThe axolotl regrows its limbs.\n")
        await poll(s, "axolotl", True)
        (notes / "birds.md").write_text("# Birds\n\nThe plover nests on open beaches. The kakapo cannot fly.\n")
        await poll(s, "kakapo", True)
        (notes / "fish.md").unlink()
        await poll(s, "axolotl", False)
        stats = (await s.call_tool("stats", {})).structured_content["service"]
        assert stats["watching"] == [str(notes)] and stats["last_watch_update"]
        r = await s.call_tool("search", {"query": "plover", "top_k": 1})
        assert r.structured_content["index_updated_at"]


def test_watch_outside_the_allowed_roots_is_refused(tmp_path, ragate):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q"), "RAGATE_SERVER_ALLOWED_ROOTS": json.dumps([str(tmp_path / "allowed")])}
    r = ragate("serve", "--help", env_extra=env)
    assert "--watch" in r.stdout
    (tmp_path / "allowed").mkdir()
    r = ragate("service", "--watch", str(outside), env_extra={**env, "RAGATE_SERVICE_IDLE_TIMEOUT_S": "3"}, timeout=180)
    assert r.returncode == 0 and "not watching" in r.stderr and "allowed roots" in r.stderr, r.stderr[-2000:]
