"""Helpers to talk to a real `ragate serve` subprocess through the SDK's ClientSession."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx2
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import ONNX_DIR, RERANKER, ROOT


def server_env(qdrant_path: str, **extra: str) -> dict[str, str]:
    return {"RAGATE_QDRANT_PATH": qdrant_path, "RAGATE_RERANKER_MODEL": RERANKER, "RAGATE_RERANKER_ONNX_DIR": ONNX_DIR,
            "RAGATE_SERVER_ALLOWED_ROOTS": f'["{ROOT / "examples"}"]', "PYTHONPATH": str(ROOT), **extra}


@contextlib.asynccontextmanager
async def stdio_session(env: dict[str, str]):
    params = StdioServerParameters(command=sys.executable, args=["-m", "server.cli", "serve"], env=env, cwd=str(ROOT))
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def http_server(env: dict[str, str], port: int, token: str):
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--http", "--port", str(port)],
                            env={**os.environ, **env, "RAGATE_TOKEN": token}, cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.asynccontextmanager
async def http_session(port: int, token: str):
    client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=300))
    async with client:
        async with streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=client) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session
