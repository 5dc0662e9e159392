"""Bounds on what a JSON-RPC message names, checked before the SDK sees it, on stdio and HTTP alike.

The SDK echoes what a caller names when it cannot serve it ("Unknown tool: <name>", "Unknown
resource: <uri>", "Method not found" with the method as data) and repeats a request's progress
token in every progress notification. A caller that names a 300 KB tool or sends a megabyte token
gets twice that back, once per notification. Names and tokens past these bounds are refused here
with an error that says which bound, and echoes nothing."""

from __future__ import annotations

import json
from typing import Any

from ragate.retrieval.errors import BadInput

MAX_METHOD_CHARS = 64  # the longest MCP method is under 40
MAX_NAME_CHARS = 128  # tool and prompt names (MCP: 1 to 128 characters)
MAX_URI_CHARS = 2048  # resource URIs: a document id is far shorter
MAX_TOKEN_CHARS = 256  # a progress token, as for request ids
MAX_INTEGER = 2**53  # an integer token or id JSON peers agree on (beyond it, a 4,000-digit one would be echoed)
METHOD_NOT_FOUND, INVALID_PARAMS = -32601, -32602

# The params field that names something, and its bound, per method.
NAMED = {
    "tools/call": ("name", MAX_NAME_CHARS),
    "prompts/get": ("name", MAX_NAME_CHARS),
    "resources/read": ("uri", MAX_URI_CHARS),
    "resources/subscribe": ("uri", MAX_URI_CHARS),
    "resources/unsubscribe": ("uri", MAX_URI_CHARS),
}


class UnsafeMessage(BadInput):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def _progress_token_ok(token: Any) -> bool:
    if isinstance(token, bool):  # JSON true is not an integer, whatever a lax parser makes of it
        return False
    return (isinstance(token, int) and abs(token) < MAX_INTEGER) or (isinstance(token, str) and len(token) <= MAX_TOKEN_CHARS)


def check_message(message: Any) -> None:
    """Raise UnsafeMessage when a message names a method, tool, prompt or URI past its bound, or
    carries a progress token that is not an integer or a string of at most MAX_TOKEN_CHARS."""
    if not isinstance(message, dict):
        return
    method = message.get("method")
    if isinstance(method, str) and len(method) > MAX_METHOD_CHARS:
        raise UnsafeMessage(METHOD_NOT_FOUND, f"Method not found (a method name of {len(method)} characters; at most {MAX_METHOD_CHARS})")
    params = message.get("params")
    if not isinstance(params, dict):
        return
    meta = params.get("_meta")
    if isinstance(meta, dict) and "progressToken" in meta and not _progress_token_ok(meta["progressToken"]):
        raise UnsafeMessage(
            INVALID_PARAMS, f"Invalid params: _meta.progressToken must be an integer or a string of at most {MAX_TOKEN_CHARS} characters"
        )
    field, bound = NAMED.get(method, (None, 0)) if isinstance(method, str) else (None, 0)
    value = params.get(field) if field else None
    if isinstance(value, str) and len(value) > bound:
        raise UnsafeMessage(INVALID_PARAMS, f"Invalid params: {field} of {len(value)} characters; at most {bound}")


def request_id(message: Any) -> str | int | None:
    """The id to answer under, when the message carries a usable one."""
    rid = message.get("id") if isinstance(message, dict) else None
    if isinstance(rid, int) and not isinstance(rid, bool) and abs(rid) < MAX_INTEGER:
        return rid
    if isinstance(rid, str) and len(rid) <= MAX_TOKEN_CHARS and rid.encode("utf-8", "replace").decode("utf-8") == rid:
        return rid
    return None


def error_reply(code: int, message: str, rid: str | int | None) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}})


async def read_body(receive, limit: int) -> bytes | None:
    """An HTTP request's body, or None when it is over `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away; the transport sees an empty body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive):
    """A `receive` that gives the already-read body first."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class MessageGuard:
    """ASGI: POSTed JSON-RPC messages (one, or a batch) pass `check_message` before the MCP app
    reads them; one that fails is answered 400 with a JSON-RPC error. What is not JSON goes on to
    the transport, which refuses it itself."""

    def __init__(self, app, max_body_bytes: int):
        self.app, self.max_body = app, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        body = await read_body(receive, self.max_body)
        if body is None:
            return await self._answer(send, 413, error_reply(-32600, f"Invalid Request: the body exceeds {self.max_body} bytes", None))
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        for message in parsed if isinstance(parsed, list) else [parsed]:
            try:
                check_message(message)
            except UnsafeMessage as e:
                return await self._answer(send, 400, error_reply(e.code, str(e), request_id(message)))
        return await self.app(scope, replay(body, receive), send)

    @staticmethod
    async def _answer(send, status: int, text: str) -> None:
        body = text.encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
