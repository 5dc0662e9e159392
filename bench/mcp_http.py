"""A `ragate serve --http` subprocess on loopback and an MCP client session to it, shared by the
load test and the test suite."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def http_server(env: dict[str, str], port: int, token: str, capture: bool = True):
    """The server with `env` on top of this process's environment; its output is kept for the
    caller when `capture`, else discarded (a long run must not fill an unread pipe)."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
                            env={**os.environ, **env, "RAGATE_TOKEN": token}, cwd=str(ROOT), stdout=out, stderr=out, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read() if capture else proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.asynccontextmanager
async def http_session(port: int, token: str, read_timeout: float = 300):
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=read_timeout))
    async with client:
        async with streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=client) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                yield session
