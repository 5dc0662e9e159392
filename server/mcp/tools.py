"""MCP tools, made from the operations table (server/ops.py): each tool takes its request model's
agent fields as arguments, builds the same request the CLI builds, runs the operation off the event
loop under the tool timeout, and returns its typed response; errors the caller can fix come back
as tool errors that name the field and the limit, and the server keeps serving."""

from __future__ import annotations

import contextlib
import inspect
import json
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
from ragate.retrieval.errors import RagateError
from ragate.retrieval.ingest import shown
from ragate.retrieval.progress import Reporter, reporting_to
from ragate.server.mcp.lean_schema import lean_input, lean_output, one_line
from ragate.server.ops import RESOURCE, STATS, TOOLS, Op, Q, R, UseCases
from ragate.server.recent_calls import calling_as
from ragate.server.requests import ResourceRequest
from ragate.server.validation import validation_message

T = TypeVar("T")

INSTRUCTIONS = (
    "ragate searches an indexed corpus. Use `search` for ranked passages with scores, "
    "`answer_or_abstain` when you need grounded context or an explicit 'I don't know', and `rerank` to "
    "order documents you already have. Cite passages by chunk id. After using or discarding a passage, "
    "`feedback` says whether it was useful; the verdicts tune and calibrate the reranker."
)
PROGRESS_EVERY_S = 0.25
# What an agent reads for an error, by its kind ("{}" is the error's own message); any other kind
# is its message alone, which names the field, limit or collection to fix.
TOOL_ERROR_WORDS = {"internal": "internal error in ragate, not in your request (the index service's log has it): {}"}


class Tools:
    """Holds the use cases (a Pipeline in this process, or the index service's client);
    `register` puts the tools on an MCPServer."""

    def __init__(self, use_cases: UseCases):
        self.p = use_cases
        self.limits = use_cases.settings.server

    async def _run(self, op: Op[Q, R], req: Q | None = None, *, ctx: Context | None = None) -> R:
        """Run an operation in a thread once models are ready, under the tool timeout; the one place
        where errors become tool errors. A cancelled call (the client's `notifications/cancelled`,
        or the timeout) cancels the use case's allowance, so its work stops at the next stage
        boundary rather than running on for nobody; with `ctx`, its progress goes to the client."""
        allowance = Allowance()
        try:
            # Arrived during start-up: wait for the models (or the index service), don't fail; the
            # tool timeout is the call's own time.
            if op.needs_models:
                await anyio.to_thread.run_sync(self.p.wait_ready, abandon_on_cancel=True)
            with anyio.fail_after(self.limits.tool_timeout_s):
                report = _progress_to(ctx, allowance) if ctx is not None else None
                bounded = self._bounded(lambda: self.p.run(op, req), allowance, report)
                return await anyio.to_thread.run_sync(bounded, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            allowance.cancel("the MCP client cancelled the call")
            raise
        except RagateError as e:  # before TimeoutError: a DeadlineExceeded says where the call stopped
            raise ToolError(TOOL_ERROR_WORDS.get(e.kind, "{}").format(e)) from None
        except TimeoutError:
            allowance.cancel("past the tool timeout")
            raise ToolError(f"timed out after {self.limits.tool_timeout_s:g}s ([server] tool_timeout_s)") from None

    def _bounded(self, use_case: Callable[[], T], allowance: Allowance, report: Reporter | None) -> Callable[[], T]:
        """The use case under the tool timeout and `allowance`: its loops stop at the deadline or on
        cancellation instead of running on in a thread nobody waits for (the index service gets
        the same deadline with the call, and the cancellation as a closed connection). Its place
        in line (a reranker slot, the write lock) is taken where the models are: `Pipeline.run`,
        in this process or in the index service."""

        def run() -> T:
            with deadline(self.limits.tool_timeout_s, cancel=allowance), reporting_to(report) if report else contextlib.nullcontext():
                return use_case()

        return run

    def tool(self, op: Op[Any, Any]) -> Callable[..., Any]:
        """The MCP tool of an operation: its arguments are the request model's agent fields (with
        their types, ranges and descriptions), its output schema the response model's; the
        request is made as an agent may make it (`for_agent`), run like every tool, and trimmed
        and linked as the operation says."""
        fields = op.request.agent_fields() if op.request is not None else {}
        params = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if f.is_required() else f.get_default(),
                annotation=Annotated[(f.annotation, *f.metadata, Field(description=f.description))],
            )
            for name, f in fields.items()
        ]
        params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Context | None))

        async def call(ctx: Context | None = None, **arguments: Any) -> Any:
            req = op.request(**arguments).for_agent(self.limits) if op.request is not None else None
            result = await self._run(op, req, ctx=ctx if op.progress else None)
            if op.agent_view is not None:
                result = op.agent_view(result)
            return linked(result, *op.links) if op.links else result

        call.__signature__ = inspect.Signature(params, return_annotation=op.response)  # type: ignore[attr-defined]
        call.__annotations__ = {p.name: p.annotation for p in params} | {"return": op.response}
        call.__name__ = call.__qualname__ = op.tool or op.name
        return call

    def register(self, server: LeanServer) -> LeanServer:
        for name, op in TOOLS.items():
            annotations = (
                ToolAnnotations(read_only_hint=True, open_world_hint=False)
                if not op.writes
                else ToolAnnotations(destructive_hint=op.destructive)
            )
            server.add_tool(self.tool(op), name=name, description=op.description, annotations=annotations)

        @server.resource("ragate://stats", name="stats", description="collections, counts and models", mime_type="application/json")
        async def stats_resource() -> str:
            return json.dumps(await self._run(STATS))

        @server.resource(
            "ragate://chunk/{chunk_id}", name="chunk", description="a passage's text and metadata", mime_type="application/json"
        )
        async def chunk_resource(chunk_id: str) -> str:
            req = ResourceRequest(kind="chunk", id=chunk_id)
            return json.dumps(await self._run(RESOURCE, req))

        @server.resource("ragate://doc/{doc_id}", name="document", description="a document's chunks in order", mime_type="application/json")
        async def doc_resource(doc_id: str) -> str:
            req = ResourceRequest(kind="doc", id=doc_id)
            return json.dumps(await self._run(RESOURCE, req))

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
        tools: list[Tool] = await super().list_tools()
        return tools

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
