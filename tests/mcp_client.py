"""Helpers to talk to a real `ragate serve` subprocess through the SDK's ClientSession."""

from __future__ import annotations

import contextlib
import os
import sys

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from bench.mcp_http import free_port, http_server, http_session  # noqa: F401  (re-exported for the tests)
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
