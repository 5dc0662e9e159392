"""Progress and cancellation as callers see them: MCP progress notifications during index_paths, a
cancelled index_paths that stops its work in the index service, a killed CLI caller whose work
stops, and `ragate service --stop` that cancels the calls in flight and exits within seconds."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tests.launcher import stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
FILES = 3000  # about 12,000 chunks: indexing them takes many batches on any machine here
CLI = [sys.executable, "-m", "ragate.server.cli.main"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("big")
    words = "tide moon orbit gravity ocean shore wave current basin harbour".split()
    for i in range(FILES):
        text = " ".join(words[(i * 7 + j) % len(words)] for j in range(600))
        (root / f"note_{i:05d}.txt").write_text(f"Note {i}. {text}\n")
    return root


def _env(tmp_path: Path, root: Path) -> dict[str, str]:
    return {**os.environ, "RAGATE_QDRANT_PATH": str(tmp_path / "q"), "RAGATE_SERVER_ALLOWED_ROOTS": json.dumps([str(root)])}


def _stats(env: dict[str, str]) -> dict:
    out = subprocess.run([*CLI, "stats", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def _documents(stats: dict) -> int:
    return sum(c.get("documents", 0) for c in stats["collections"].values())


def _settled(env: dict[str, str]) -> int:
    """The documents indexed, once no index call is in flight and their count stops moving (a batch
    being written when the call stopped finishes; on a slow machine one batch outlasts a pause)."""
    deadline = time.monotonic() + 300
    before = _documents(_stats(env))
    while True:
        assert time.monotonic() < deadline, "the index call never stopped"
        time.sleep(1.5)
        stats = _stats(env)
        now = _documents(stats)
        if now == before and "index" not in ((stats.get("service") or {}).get("in_flight") or {}):
            return now
        before = now


async def test_index_paths_reports_progress_and_stops_when_cancelled(tmp_path, big_folder):
    env = _env(tmp_path, big_folder)
    small = big_folder.parent / "small"
    small.mkdir(exist_ok=True)
    for i in range(12):
        (small / f"s{i}.txt").write_text(f"Small note {i} about tides and the moon.\n")
    env["RAGATE_SERVER_ALLOWED_ROOTS"] = json.dumps([str(big_folder), str(small)])
    async with stdio_session(env) as s:
        seen: list[tuple[float, float | None, str | None]] = []

        async def progress(done, total, message):
            seen.append((done, total, message))

        r = await s.call_tool("index_paths", {"paths": [str(small)]}, progress_callback=progress)
        assert not r.is_error, r.content[0].text
        assert seen and seen[-1][:2] == (12, 12) and seen[-1][2] == "indexing files", seen
        assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)

        started = anyio.Event()
        big: list[tuple[float, float | None, str | None]] = []

        async def big_progress(done, total, message):
            big.append((done, total, message))
            if message == "indexing files" and done > 0:
                started.set()

        async with anyio.create_task_group() as tg:

            async def index_big():
                await s.call_tool("index_paths", {"paths": [str(big_folder)]}, progress_callback=big_progress)

            tg.start_soon(index_big)
            with anyio.fail_after(300):
                await started.wait()
                # Cancel once a batch is written (files are read before their batch is): on a slow
                # machine a cancel right after the first file lands before any write.
                while _documents(await anyio.to_thread.run_sync(_stats, env)) <= 12:
                    await anyio.sleep(0.2)
            tg.cancel_scope.cancel()  # the SDK sends notifications/cancelled for the abandoned call

        written = await anyio.to_thread.run_sync(_settled, env)
        assert 12 < written < 12 + FILES, written  # it stopped: the rest of the folder was never indexed
        r = await s.call_tool("index_paths", {"paths": [str(small)]})  # and the server keeps serving
        assert not r.is_error and r.structured_content["documents_unchanged"] == 12


def test_killed_caller_and_service_stop_cancel_work_in_flight(tmp_path, big_folder):
    env = _env(tmp_path, big_folder)
    log = Path(env["RAGATE_QDRANT_PATH"]) / "service.log"

    def start_index(before: int) -> subprocess.Popen:
        """`ragate index` of the big folder, returned once the service is writing its chunks."""
        proc = subprocess.Popen([*CLI, "index", str(big_folder), "--no-progress"], env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "indexing never started"
            if (Path(env["RAGATE_QDRANT_PATH"]) / "service.sock").exists():
                stats = _stats(env)
                if "index" in stats["service"]["in_flight"] and _documents(stats) > before:
                    return proc
            time.sleep(0.5)

    killed = start_index(0)
    killed.kill()
    killed.wait()
    written = _settled(env)
    assert 0 < written < FILES, written
    assert "cancelled during indexing: the caller went away" in log.read_text()

    waiting = start_index(written)
    t0 = time.monotonic()
    stop = subprocess.run([*CLI, "service", "--stop"], env=env, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t0
    assert stop.returncode == 0 and "stopped" in stop.stdout and "1 call(s) in flight were cancelled" in stop.stdout, stop.stdout
    assert took < 30, took
    _, err = waiting.communicate(timeout=60)
    # Told in one line that its call stopped: how far it got, or, where it did not reach a stage
    # boundary before the stop's grace (a slow CPU's embedding batch), that it was abandoned.
    told = ("cancelled" in err and "stay indexed" in err) or ("abandoned" in err and "nothing half-written" in err)
    assert waiting.returncode != 0 and told and "Traceback" not in err, err[-2000:]
    again = subprocess.run([*CLI, "service", "--stop"], env=env, capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "no index service running", again.stdout


def test_a_call_no_cancellation_reaches_does_not_hold_the_stop(tmp_path, server_env, fake_rerank_apis):
    """A query embedding stuck in a remote read (a byte every 0.2 s, inside a 60 s timeout_s) is
    given the stop's grace, then abandoned: `service --stop` reports the exit within seconds."""
    env = server_env(
        str(tmp_path / "q"),
        RAGATE_EMBEDDER_PROVIDER="http",
        RAGATE_EMBEDDER_URL=fake_rerank_apis.url,
        RAGATE_EMBEDDER_MODEL="m",
        RAGATE_EMBEDDER_TIMEOUT_S="60",
        RAGATE_EMBEDDER_RETRIES="0",
    )
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "tides.md").write_text("# Tides\n\nOcean tides are caused by the gravitational pull of the moon.\n")
    env["RAGATE_SERVER_ALLOWED_ROOTS"] = json.dumps([str(tmp_path / "notes")])
    notes = str(tmp_path / "notes")
    indexed = subprocess.run([*CLI, "index", notes, "--no-progress"], env=env, capture_output=True, text=True, timeout=300)
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    fake_rerank_apis.mode = "drip"
    try:
        stuck = subprocess.Popen([*CLI, "search", "what causes the tides"], env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while "search" not in _stats(env)["service"]["in_flight"]:
            assert time.monotonic() < deadline and stuck.poll() is None, "the search never reached the service"
            time.sleep(0.2)
        t0 = time.monotonic()
        stop = subprocess.run([*CLI, "service", "--stop"], env=env, capture_output=True, text=True, timeout=120)
        took = time.monotonic() - t0
        assert stop.returncode == 0 and "stopped" in stop.stdout, stop.stdout
        assert took < 20, took  # the grace (10 s) and the exit; the read alone would run 44 s
        _, err = stuck.communicate(timeout=60)
        # Told why in one line, before the exit: not a dropped connection it would take for a crash and retry.
        assert stuck.returncode != 0 and "the index service is stopping" in err and "abandoned" in err, err[-2000:]
        assert "restarting it" not in err and "Traceback" not in err, err[-2000:]
    finally:
        fake_rerank_apis.mode = "ok"
