"""Talk to a ragate MCP server as an MCP client would: launch `ragate serve` over stdio or on a
loopback HTTP port, and open the SDK's ClientSession to it. Used by scripts that drive ragate
(the load test) and by the test suite, so both exercise the real server and transport."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

SERVE = [sys.executable, "-m", "ragate.server.cli.main", "serve"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def http_server(
    env: dict[str, str], port: int, token: str, capture: bool = True, cwd: str | None = None, start_timeout_s: float = 120
) -> Iterator[subprocess.Popen]:
    """`ragate serve --http` on 127.0.0.1:port with `env` over this process's environment; its output
    is kept for the caller when `capture`, else discarded (a long run must not fill an unread pipe)."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    proc = subprocess.Popen(
        [*SERVE, "--http", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env, "RAGATE_TOKEN": token},
        cwd=cwd,
        stdout=out,
        stderr=out,
        text=True,
    )
    try:
        deadline = time.time() + start_timeout_s
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
async def http_session(port: int, token: str, read_timeout: float = 300) -> AsyncIterator:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=read_timeout))
    async with client:
        async with streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=client) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                yield session


@contextlib.asynccontextmanager
async def stdio_session(env: dict[str, str], cwd: str | None = None, errlog_path: str = os.devnull) -> AsyncIterator:
    """`ragate serve` over stdio as a desktop client launches it; the server's stderr goes to errlog_path."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:], env=env, cwd=cwd)
    with open(errlog_path, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session
