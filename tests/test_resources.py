"""Resource links: every passage a tool returns links to `ragate://chunk/{id}`, which resolves,
through the SDK's client over stdio, to the chunk's text and metadata, and `ragate://doc/{id}` to
the whole document's chunks in order."""

import json

import pytest

from tests.launcher import stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_each_passage_links_to_a_resource_that_resolves(tmp_path, server_env, examples):
    async with stdio_session(server_env(str(tmp_path / "q"))) as s:
        await s.call_tool("index_paths", {"paths": [str(examples / "ragate")]})
        r = await s.call_tool("search", {"query": "how are filters applied", "top_k": 3})
        results = r.structured_content["results"]
        links = [c for c in r.content if c.type == "resource_link"]
        assert results and [str(link.uri) for link in links] == [f"ragate://chunk/{x['chunk_id']}" for x in results]
        assert json.loads(r.content[0].text) == r.structured_content  # the JSON text is still there for clients without links
        chunk = json.loads((await s.read_resource(links[0].uri)).contents[0].text)
        assert chunk["chunk_id"] == results[0]["chunk_id"] and chunk["text"] and chunk["source"] == results[0]["source"]
        assert chunk["collection"] == "default" and "file_hash" not in chunk
        doc = json.loads((await s.read_resource(f"ragate://doc/{chunk['doc_id']}")).contents[0].text)
        assert [c["chunk_index"] for c in doc["chunks"]] == sorted(c["chunk_index"] for c in doc["chunks"])
        assert chunk["chunk_id"] in [c["chunk_id"] for c in doc["chunks"]] and doc["source"] == chunk["source"]
        a = await s.call_tool("answer_or_abstain", {"query": "what is the boiling point of tungsten"})
        evidence = a.structured_content["passages"] + a.structured_content["nearest"]
        assert len([c for c in a.content if c.type == "resource_link"]) == len(evidence)
        templates = {str(t.uri_template) for t in (await s.list_resource_templates()).resource_templates}
        assert {"ragate://chunk/{chunk_id}", "ragate://doc/{doc_id}"} <= templates
        for bad in ("ragate://chunk/no-such-chunk", "ragate://doc/no-such-doc"):
            with pytest.raises(Exception, match="no-such"):
                await s.read_resource(bad)
        with pytest.raises(Exception):  # noqa: B017  an id with characters no chunk id has
            await s.read_resource("ragate://chunk/..%2F..%2Fetc")
        assert not (await s.call_tool("stats", {})).is_error  # the server keeps serving


async def test_a_large_document_resource_is_cut_at_whole_chunks_and_says_so(tmp_path, server_env):
    text = "\n\n".join(f"## Part {i}\n\n" + f"Paragraph {i} of the long report on harbour tides. " * 30 for i in range(40))
    async with stdio_session(server_env(str(tmp_path / "q"), RAGATE_SERVER_MAX_RESOURCE_CHARS="5000")) as s:
        added = await s.call_tool("add_documents", {"documents": [{"id": "report", "text": text, "source": "report.md"}]})
        assert not added.is_error
        hit = (await s.call_tool("search", {"query": "harbour tides report", "top_k": 1})).structured_content["results"][0]
        doc = json.loads((await s.read_resource(f"ragate://doc/{hit['doc_id']}")).contents[0].text)
        kept = sum(len(c["text"]) for c in doc["chunks"])
        assert doc["truncated"] > 0 and kept <= 5000 and len(doc["chunks"]) >= 1
        assert [c["chunk_index"] for c in doc["chunks"]] == list(range(len(doc["chunks"])))  # the beginning, in order
