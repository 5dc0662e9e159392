"""The tool list an agent pays for in tokens: lean, faithful to what the server accepts, and the
full schemas one resource away. No models: the tools are registered, never called."""

import asyncio
import json
import types

import jsonschema
import pytest
from mcp.types import ListToolsResult

from ragate.server.config import Settings
from ragate.server.mcp.tools import build_server

BUDGET_BYTES = 12_000


@pytest.fixture(scope="module")
def server():
    return build_server(types.SimpleNamespace(settings=Settings()))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tools(server):
    return {t.name: t for t in asyncio.run(server.list_tools())}


def test_tools_list_fits_its_budget(tools):
    listed = ListToolsResult(tools=list(tools.values())).model_dump_json(by_alias=True, exclude_none=True)
    print(f"\ntools/list: {len(listed.encode())} bytes for {len(tools)} tools (budget {BUDGET_BYTES})")
    assert len(listed.encode()) <= BUDGET_BYTES
    for t in tools.values():
        assert "\n" not in t.description and "  " not in t.description, t.name
        assert "$defs" not in json.dumps(t.input_schema) and "$ref" not in json.dumps(t.input_schema)


def test_lean_input_schemas_accept_what_the_server_accepts(tools):
    good = {
        "search": {"query": "tides", "top_k": 3, "filters": {"source": "**/*.md", "meta": {"k": 1}}, "weights": {"mmr_lambda": 0.5}},
        "answer_or_abstain": {"query": "tides", "min_score": None, "collection": "notes"},
        "rerank": {"query": "q", "documents": ["a", {"id": "x", "text": "b", "metadata": {"k": 1}}]},
        "add_documents": {"documents": [{"text": "t", "updated_at": "2024-01-01"}]},
        "delete": {"ids": ["c1"]},
    }
    for name, args in good.items():
        jsonschema.validate(args, tools[name].input_schema)
    bad = {
        "search": {"query": "tides", "top_k": "3"},
        "answer_or_abstain": {"query": "tides", "min_score": 2},
        "delete": {"filters": {"colour": "red"}},
        "rerank": {"query": "q", "documents": [{"id": "x"}]},
    }
    for name, args in bad.items():
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(args, tools[name].input_schema)


def test_the_schema_resource_has_what_each_field_means(server, tools):
    contents = asyncio.run(server.read_resource("ragate://schema/search"))
    full = json.loads(contents[0].content)
    assert full["name"] == "search"
    results = full["output"]["$defs"]["ScoreBreakdown"]["properties"]["relevance"]
    assert "probability" in results["description"]
    assert "per-call blend weights" in json.dumps(full["input"])
    assert len(json.dumps(full)) > len(json.dumps(tools["search"].output_schema)) * 3
    with pytest.raises(Exception, match="no tool 'nope'"):
        asyncio.run(server.read_resource("ragate://schema/nope"))
