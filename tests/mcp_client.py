"""Helpers to talk to a real `ragate serve` subprocess through the SDK's ClientSession."""

from __future__ import annotations

from ragate.server.client import free_port, http_server, http_session, stdio_session  # noqa: F401  (re-exported for the tests)

from tests.conftest import ONNX_DIR, RERANKER, ROOT


def server_env(qdrant_path: str, **extra: str) -> dict[str, str]:
    return {
        "RAGATE_QDRANT_PATH": qdrant_path,
        "RAGATE_RERANKER_MODEL": RERANKER,
        "RAGATE_RERANKER_ONNX_DIR": ONNX_DIR,
        "RAGATE_SERVER_ALLOWED_ROOTS": f'["{ROOT / "examples"}"]',
        **extra,
    }
