"""MCP tools: thin adapters over the pipeline's use cases. Each tool builds the same request model
the CLI builds, runs the use case off the event loop under the tool timeout, and returns its typed
response; errors the caller can fix come back as tool errors that name the field and the limit,
and the server keeps serving."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedToolError
from mcp.types import CallToolResult, ResourceLink, TextContent, Tool, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from ragate.retrieval.deadline import Allowance, deadline
from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.errors import RagateError
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.indexer import IndexReport
from ragate.retrieval.ingest import shown
from ragate.retrieval.inline import InlineDocument
from ragate.retrieval.progress import Reporter, reporting_to
from ragate.retrieval.store import CollectionName
from ragate.server.mcp.lean_schema import lean_input, lean_output, one_line
from ragate.server.recent_calls import calling_as
from ragate.server.requests import (
    AddDocumentsRequest,
    AnswerRequest,
    BlendOverrides,
    Collections,
    DeleteRequest,
    FeedbackRequest,
    IndexRequest,
    RerankDocument,
    RerankRequest,
    ResourceRequest,
    SearchRequest,
)
from ragate.server.schemas import AnswerResponse, DeleteResult, FeedbackResult, RerankResponse, SearchResponse
from ragate.server.use_cases import UseCases
from ragate.server.validation import validation_message

T = TypeVar("T")

INSTRUCTIONS = (
    "ragate searches an indexed corpus. Use `search` for ranked passages with scores, "
    "`answer_or_abstain` when you need grounded context or an explicit 'I don't know', and `rerank` to "
    "order documents you already have. Cite passages by chunk id. After using or discarding a passage, "
    "`feedback` says whether it was useful; the verdicts tune and calibrate the reranker."
)
# Tools that change nothing; every other tool writes (the index, or the feedback beside it). An
# OAuth token needs [oauth] write_scope to call those (server/mcp/http_auth.py).
READ_TOOLS = frozenset({"search", "rerank", "answer_or_abstain", "stats"})
PROGRESS_EVERY_S = 0.25
COLLECTION = Field(description="default [index] collection")
COLLECTIONS = Field(description="several collections read as one pool, instead of collection")
MAX_TOKENS = Field(description="budget of passage tokens in the response; default [server] max_tokens")


class Tools:
    """Holds the use cases (a Pipeline in this process, or the index service's client);
    `register` puts the tools on an MCPServer."""

    def __init__(self, use_cases: UseCases):
        self.p = use_cases
        self.limits = use_cases.settings.server
        # Taken by the thread that does the work, so a call abandoned on cancellation keeps its slot
        # until its work has really stopped.
        self._heavy_slots = threading.BoundedSemaphore(self.limits.max_concurrent_reranks)

    async def _run(self, use_case: Callable[[], T], *, heavy: bool = False, ctx: Context | None = None) -> T:
        """Run a use case in a thread once models are ready, under the tool timeout; the one place
        where errors become tool errors. A cancelled call (the client's `notifications/cancelled`,
        or the timeout) cancels the use case's allowance, so its work stops at the next stage
        boundary rather than running on for nobody; with `ctx`, its progress goes to the client."""
        allowance = Allowance()
        try:
            # Arrived during start-up: wait for the models (or the index service), don't fail; the
            # tool timeout is the call's own time.
            await anyio.to_thread.run_sync(self.p.wait_ready, abandon_on_cancel=True)
            with anyio.fail_after(self.limits.tool_timeout_s):
                bounded = self._bounded(use_case, allowance, _progress_to(ctx, allowance) if ctx is not None else None, heavy=heavy)
                return await anyio.to_thread.run_sync(bounded, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            allowance.cancel("the MCP client cancelled the call")
            raise
        except TimeoutError:
            allowance.cancel("past the tool timeout")
            raise ToolError(f"timed out after {self.limits.tool_timeout_s:g}s ([server] tool_timeout_s)") from None
        except RagateError as e:
            raise ToolError(str(e)) from None

    def _bounded(self, use_case: Callable[[], T], allowance: Allowance, report: Reporter | None, *, heavy: bool) -> Callable[[], T]:
        """The use case under the tool timeout and `allowance`: its loops stop at the deadline or on
        cancellation instead of running on in a thread nobody waits for (the index service gets
        the same deadline with the call, and the cancellation as a closed connection); `heavy` ones
        hold one of the reranker's slots while they run."""

        def run() -> T:
            with deadline(self.limits.tool_timeout_s, cancel=allowance), reporting_to(report) if report else contextlib.nullcontext():
                if not heavy:
                    return use_case()
                while not self._heavy_slots.acquire(timeout=0.2):
                    check_deadline("the queue")
                try:
                    return use_case()
                finally:
                    self._heavy_slots.release()

        return run

    async def search(
        self,
        query: Annotated[str, Field(description="what to look for, in natural language")],
        top_k: Annotated[int, Field(strict=True, description="number of results; at most [server] max_top_k")] = 10,
        filters: Annotated[SearchFilter | None, Field(description="restrict by source glob/prefix, source_type, dates, metadata")] = None,
        rerank: Annotated[bool, Field(description="rerank candidates with the cross-encoder")] = True,
        candidates: Annotated[
            int | None, Field(strict=True, description="fused candidate pool size; default [retrieval] candidates")
        ] = None,
        collection: Annotated[CollectionName | None, COLLECTION] = None,
        collections: Annotated[Collections | None, COLLECTIONS] = None,
        weights: Annotated[BlendOverrides | None, Field(description="per-call blend weights")] = None,
        max_tokens: Annotated[int | None, MAX_TOKENS] = None,
        rerank_budget_ms: Annotated[
            float | None, Field(description="rerank only as many candidates as fit this many ms at the measured speed")
        ] = None,
    ) -> SearchResponse:
        """Hybrid search (dense + BM25, fused, cross-encoder reranked, blended with freshness, authority
        and diversity). Each result has its final and component scores; stage timings too."""
        req = SearchRequest(
            query=query,
            top_k=top_k,
            filters=filters,
            rerank=rerank,
            candidates=candidates,
            collection=collection,
            collections=collections,
            weights=weights,
            max_tokens=max_tokens,
            rerank_budget_ms=rerank_budget_ms,
        )
        return linked(await self._run(lambda: self.p.search(req), heavy=True), "results")  # type: ignore[return-value]

    async def rerank(
        self,
        query: Annotated[str, Field(description="the query to score documents against")],
        documents: Annotated[list[str | RerankDocument], Field(description="strings or {id, text, metadata}")],
        top_n: Annotated[int | None, Field(strict=True, description="return only the best N")] = None,
        return_documents: Annotated[bool, Field(description="include each document's text in the results")] = True,
    ) -> RerankResponse:
        """Score your documents against the query with the cross-encoder, sorted by calibrated
        relevance_score (0..1), each with its request index. Nothing is indexed."""
        req = RerankRequest(query=query, documents=documents, top_n=top_n, return_documents=return_documents)
        return await self._run(lambda: self.p.rerank(req), heavy=True)

    async def answer_or_abstain(
        self,
        query: Annotated[str, Field(description="the question to answer from the corpus")],
        filters: Annotated[SearchFilter | None, Field(description="restrict the evidence")] = None,
        min_score: Annotated[
            float | None,
            Field(
                ge=0,
                le=1,
                description="your floor on each passage's calibrated relevance; "
                "else [gate] min_score, only where no answerability model is fitted",
            ),
        ] = None,
        max_passages: Annotated[
            int | None, Field(ge=1, le=50, description="passages to return at most; default [gate] max_passages")
        ] = None,
        collection: Annotated[CollectionName | None, COLLECTION] = None,
        collections: Annotated[Collections | None, COLLECTIONS] = None,
        max_tokens: Annotated[int | None, MAX_TOKENS] = None,
        explain: Annotated[
            bool, Field(description="also return the pool's features and what each added to p_answerable (to see why it abstained)")
        ] = False,
    ) -> AnswerResponse:
        """Cited passages (and an answer when an LLM is configured) when the pool is judged answerable
        (p_answerable reaches threshold); otherwise an explicit "I don't know" with a reason code
        (OFF_TOPIC, LOW_RELEVANCE, LEXICAL_MISS, ...), a suggestion and the nearest passages. Weak
        context is never passed as an answer."""
        req = AnswerRequest(
            query=query,
            filters=filters,
            min_score=min_score,
            max_passages=max_passages,
            collection=collection,
            collections=collections,
            max_tokens=max_tokens,
            explain=explain,
        )
        return linked(await self._run(lambda: self.p.answer(req), heavy=True), "passages", "nearest")  # type: ignore[return-value]

    async def index_paths(
        self,
        paths: Annotated[list[str], Field(min_length=1, max_length=100, description="files or folders under the allowed roots")],
        collection: Annotated[CollectionName | None, COLLECTION] = None,
        prune: Annotated[bool, Field(description="remove indexed files under these folders that no longer exist")] = False,
        ctx: Context | None = None,
    ) -> IndexReport:
        """Index files and folders under the allowed roots, incrementally; every file not indexed is
        counted by reason. A cancelled call keeps what it wrote."""
        req = IndexRequest(paths=paths, collection=collection, prune=prune)
        return (await self._run(lambda: self.p.index(req, allowed_roots=self.limits.allowed_roots), ctx=ctx)).listed()

    async def add_documents(
        self,
        documents: Annotated[
            list[InlineDocument], Field(min_length=1, description="{id?, text, title?, source?, updated_at?, source_type?, metadata?}")
        ],
        collection: Annotated[CollectionName | None, COLLECTION] = None,
        ctx: Context | None = None,
    ) -> IndexReport:
        """Index documents given as text; the same id replaces the earlier version."""
        req = AddDocumentsRequest(documents=documents, collection=collection)
        return (await self._run(lambda: self.p.add_documents(req), ctx=ctx)).listed()

    async def delete(
        self,
        ids: Annotated[list[str] | None, Field(max_length=10_000, description="chunk ids to delete")] = None,
        filters: Annotated[SearchFilter | None, Field(description="delete every chunk this matches")] = None,
        collection: Annotated[CollectionName | None, COLLECTION] = None,
    ) -> DeleteResult:
        """Delete chunks by id or by filter."""
        req = DeleteRequest(ids=ids, filters=filters, collection=collection)
        return await self._run(lambda: self.p.delete(req))

    async def feedback(
        self,
        query: Annotated[str, Field(description="the query the passage was retrieved for")],
        chunk_id: Annotated[str, Field(description="the passage's chunk_id from a search or answer result")],
        useful: Annotated[bool, Field(strict=True, description="true if the passage helped answer the query, false if it was discarded")],
        note: Annotated[str | None, Field(description=f"why, in a sentence; at most {FeedbackRequest.MAX_NOTE_CHARS} characters")] = None,
        collection: Annotated[CollectionName | None, COLLECTION] = None,
    ) -> FeedbackResult:
        """Whether a passage was useful for a query: kept as a labelled pair that tunes and calibrates
        the reranker."""
        req = FeedbackRequest(query=query, chunk_id=chunk_id, useful=useful, note=note, collection=collection)
        return await self._run(lambda: self.p.feedback(req))

    async def stats(self) -> dict[str, Any]:
        """Collections (chunks, languages), models, devices, readiness."""
        return await anyio.to_thread.run_sync(self.p.stats)

    def register(self, server: LeanServer) -> LeanServer:
        ro = ToolAnnotations(read_only_hint=True, open_world_hint=False)
        server.add_tool(self.search, name="search", annotations=ro)
        server.add_tool(self.rerank, name="rerank", annotations=ro)
        server.add_tool(self.answer_or_abstain, name="answer_or_abstain", annotations=ro)
        server.add_tool(self.index_paths, name="index_paths", annotations=ToolAnnotations(destructive_hint=False))
        server.add_tool(self.add_documents, name="add_documents", annotations=ToolAnnotations(destructive_hint=False))
        server.add_tool(self.delete, name="delete", annotations=ToolAnnotations(destructive_hint=True))
        server.add_tool(self.feedback, name="feedback", annotations=ToolAnnotations(destructive_hint=False, open_world_hint=False))
        server.add_tool(self.stats, name="stats", annotations=ro)

        @server.resource("ragate://stats", name="stats", description="collections, counts and models", mime_type="application/json")
        async def stats_resource() -> str:
            return json.dumps(await self.stats())

        @server.resource(
            "ragate://chunk/{chunk_id}", name="chunk", description="a passage's text and metadata", mime_type="application/json"
        )
        async def chunk_resource(chunk_id: str) -> str:
            req = ResourceRequest(kind="chunk", id=chunk_id)
            return json.dumps(await self._run(lambda: self.p.resource(req)))

        @server.resource("ragate://doc/{doc_id}", name="document", description="a document's chunks in order", mime_type="application/json")
        async def doc_resource(doc_id: str) -> str:
            req = ResourceRequest(kind="doc", id=doc_id)
            return json.dumps(await self._run(lambda: self.p.resource(req)))

        @server.resource(
            "ragate://schema/{tool}",
            name="schema",
            description="a tool's full input and output schemas, with what each field means",
            mime_type="application/json",
        )
        async def schema_resource(tool: str) -> str:
            listed = {t.name: t for t in await server.full_tools()}
            if tool not in listed:
                raise ResourceError(f"no tool {shown(tool, 80)!r}; tools: {', '.join(sorted(listed))}")
            t = listed[tool]
            return json.dumps({"name": t.name, "description": t.description, "input": t.input_schema, "output": t.output_schema})

        return server


def linked(resp: BaseModel, *fields: str) -> CallToolResult:
    """The response as the SDK sends a typed result (its JSON as text and as structured content),
    with a resource link per passage in `fields`: `ragate://chunk/{id}` resolves to the chunk, and
    its `doc_id` to `ragate://doc/{doc_id}`, the whole document in order."""
    links = [
        ResourceLink(
            type="resource_link",
            uri=f"ragate://chunk/{p.chunk_id}",
            name=p.chunk_id,
            title=p.title or None,
            description=p.source,
            mime_type="application/json",
        )
        for f in fields
        for p in getattr(resp, f)
    ]
    text = TextContent(type="text", text=resp.model_dump_json(indent=2, by_alias=True))
    return CallToolResult(content=[text, *links], structured_content=resp.model_dump(mode="json", by_alias=True))


def _progress_to(ctx: Context, allowance: Allowance) -> Reporter:
    """A reporter (retrieval/progress.py) sending MCP progress notifications from the use case's
    thread, at most a few a second (the last always: 100% reaches the client); a no-op for a
    client that sent no progress token, and once the call is cancelled or timed out (its request
    has ended)."""
    token = anyio.lowlevel.current_token()
    last = [0.0]

    def report(desc: str, done: int, total: int | None) -> None:
        if allowance.cancelled.is_set():
            return
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S and done != total:
            return
        last[0] = now
        with contextlib.suppress(Exception):  # a client that went away must not fail the work it left
            anyio.from_thread.run(ctx.report_progress, done, total, desc, token=token)

    return report


def caller_of(context: Context | None) -> str:
    """Whom a call is for, as the recent-calls list names it: the OAuth subject (or client id)
    over HTTP with OAuth, `http` for the static token's holder, `stdio` otherwise."""
    try:
        request = context.request_context.request if context is not None else None
    except ValueError:  # outside a request
        request = None
    if request is None:
        return "stdio"
    token = getattr(request.scope.get("user"), "access_token", None)
    return f"oauth:{token.subject or token.client_id}" if token is not None else "http"


class LeanServer(MCPServer):
    """Lists each tool with lean schemas (server/mcp/lean_schema.py); the full ones, with what each
    field means, are the `ragate://schema/{tool}` resource."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        known = set(tool.parameters.get("properties", {})) if tool is not None else set()
        # The SDK would drop unknown arguments without a word: a mistyped `topk` would silently be
        # 10. A tool without arguments lets them pass (some clients send a placeholder to those).
        unknown = sorted(k[:64] for k in set(arguments) - known) if known else []
        if unknown:
            raise ToolError(f"{name}: unknown argument {', '.join(unknown[:5])}; it takes {', '.join(sorted(known))}")
        try:
            with calling_as(caller_of(context)):
                return await super().call_tool(name, arguments, context)
        except ToolError as e:
            # The SDK's words for rejected arguments quote each value whole; a crash (UnexpectedToolError) keeps its own.
            if isinstance(e.__cause__, ValidationError) and not isinstance(e, UnexpectedToolError):
                raise ToolError(f"{name}: {validation_message(e.__cause__)}") from e.__cause__
            raise

    async def read_resource(self, uri: Any, context: Context | None = None) -> Any:
        with calling_as(caller_of(context)):
            return await super().read_resource(uri, context)

    async def full_tools(self) -> list[Tool]:
        return await super().list_tools()

    async def list_tools(self) -> list[Tool]:
        return [
            t.model_copy(
                update={
                    "description": one_line(t.description or ""),
                    "input_schema": lean_input(t.input_schema),
                    "output_schema": t.output_schema and lean_output(t.output_schema),
                }
            )
            for t in await self.full_tools()
        ]


def build_server(use_cases: UseCases) -> LeanServer:
    return Tools(use_cases).register(LeanServer("ragate", instructions=INSTRUCTIONS))
