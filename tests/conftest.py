"""Shared fixtures: real models (loaded once per session), real Qdrant stores on temporary disk."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from ragate.server.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_RERANKER = ROOT.parent / "shared" / "models" / "ragate-ce-minilm-l6-scifact"
RERANKER = os.environ.get("RAGATE_RERANKER_MODEL") or str(SHARED_RERANKER)
EXAMPLES = ROOT / "examples" / "corpus"
# One ONNX export of the reranker per test run, shared by in-process pipelines and server subprocesses.
_OWN_ONNX_DIR = not os.environ.get("RAGATE_RERANKER_ONNX_DIR")
ONNX_DIR = os.environ.get("RAGATE_RERANKER_ONNX_DIR") or tempfile.mkdtemp(prefix="ragate-test-onnx-")


@pytest.fixture(scope="session", autouse=True)
def _remove_onnx_exports():
    yield
    if _OWN_ONNX_DIR:
        shutil.rmtree(ONNX_DIR, ignore_errors=True)


def make_settings(tmp: Path, **sections) -> Settings:
    """Defaults (not the repo's config.toml) with a private index directory and the offline reranker."""
    data: dict = {"qdrant": {"path": str(tmp / "qdrant")}, "reranker": {"model": RERANKER, "onnx_dir": ONNX_DIR}}
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return Settings.model_validate(data)


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """Embedder, BM25 and reranker, loaded once for the whole run."""
    from ragate.server.models import Models

    m = Models(make_settings(tmp_path_factory.mktemp("models"))).load()
    if m.reranker is None:
        pytest.fail(f"offline reranker not loadable: {m.reranker_error}")
    return m


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def pipeline(settings, models):
    from ragate.server.pipeline import Pipeline

    p = Pipeline(settings, models)
    yield p
    p.close()
