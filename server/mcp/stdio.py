"""MCP over stdio where every request line gets a reply.

The SDK's stdio transport hands a line it cannot parse or validate to the session as an exception,
and the session drops it: a client that sent a lone surrogate ("a\\ud800b"), JSON nested 250 deep
or an invalid request waits forever. Here each line is checked first; what fails is answered with
a JSON-RPC error (-32700 parse error, -32600 invalid request) and only good lines reach the SDK's
own transport, after the bounds on names and tokens (server/mcp/message_guard.py). Lines are read
with a size cap, so one request cannot exhaust memory."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import Any, BinaryIO

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server
from pydantic import ValidationError

from ragate.retrieval.errors import BadInput
from ragate.server.mcp.message_guard import UnsafeMessage, check_message, error_reply, request_id

log = logging.getLogger(__name__)

MAX_DEPTH = 64  # far beyond any MCP message; pydantic's own JSON parser gives up near 200
PARSE_ERROR, INVALID_REQUEST = -32700, -32600


class BadLine(BadInput):
    def __init__(self, code: int, message: str, request_id: Any = None):
        super().__init__(message)
        self.code, self.request_id = code, request_id

    def reply(self) -> str:
        return error_reply(self.code, str(self), self.request_id)


def _check_tree(obj: object) -> None:
    """Nesting depth and lone surrogates ("\\ud800" escapes decode to text no encoder accepts)."""
    todo: list[tuple[object, int]] = [(obj, 1)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise BadLine(PARSE_ERROR, f"Parse error: JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            todo.extend((k, depth) for k in node)
            todo.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            todo.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as e:
                raise BadLine(PARSE_ERROR, f"Parse error: lone surrogate at character {e.start} of a string") from None


def check_line(line: bytes) -> str | None:
    """The line as text if it is one valid JSON-RPC message, None if blank; else BadLine."""
    if not line.strip():
        return None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadLine(PARSE_ERROR, f"Parse error: not UTF-8 (byte {e.start})") from None
    try:
        obj = json.loads(text)
    except RecursionError:
        raise BadLine(PARSE_ERROR, "Parse error: JSON nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, or an integer past Python's digit limit: not a message either way
        raise BadLine(PARSE_ERROR, f"Parse error: {str(e)[:200]}") from None
    try:
        _check_tree(obj)
    except BadLine as e:
        e.request_id = request_id(obj)
        raise
    if not isinstance(obj, dict):
        raise BadLine(INVALID_REQUEST, "Invalid Request: a message must be a JSON object")
    try:
        types.jsonrpc_message_adapter.validate_python(obj, by_name=False)
    except ValidationError as e:
        first = str(e).splitlines()[0][:200]
        raise BadLine(INVALID_REQUEST, f"Invalid Request: not a JSON-RPC 2.0 message ({first})", request_id(obj)) from None
    try:
        check_message(obj)
    except UnsafeMessage as e:
        raise BadLine(e.code, str(e), request_id(obj)) from None
    return text


class _Wire:
    """The client's end: whole lines in, whole lines out, one writer at a time."""

    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, max_line_bytes: int):
        self._in, self._out, self._max = stdin, stdout, max_line_bytes
        self._write_lock = threading.Lock()

    def _read_line(self) -> bytes:
        line = self._in.readline(self._max + 1)
        if len(line) > self._max and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # drop the rest of the oversized line
                line = self._in.readline(1 << 20)
            raise BadLine(INVALID_REQUEST, f"Invalid Request: message over {self._max} bytes ([server] max_request_mb)")
        return line

    def _write(self, text: str) -> None:
        with self._write_lock:
            self._out.write(text.encode("utf-8") + b"\n")
            self._out.flush()

    # The two ends stdio_server() takes: an async iterator of lines and an async writer.
    def __aiter__(self):
        return self

    async def __anext__(self) -> str:
        while True:
            try:
                line = await anyio.to_thread.run_sync(self._read_line)
                if not line:
                    raise StopAsyncIteration
                text = check_line(line)
            except BadLine as e:
                log.warning("answered a bad stdio line with %d: %s", e.code, e)
                await anyio.to_thread.run_sync(self._write, e.reply())
                continue
            if text is not None:
                return text

    async def write(self, text: str) -> None:
        await anyio.to_thread.run_sync(self._write, text.rstrip("\n"))

    async def flush(self) -> None:
        pass


def _claim_std_streams() -> tuple[BinaryIO, BinaryIO]:
    """Private handles on the wire; fd 0 and 1 then point at /dev/null and stderr, so a library's
    stray print cannot corrupt the protocol stream."""
    wire_in = os.fdopen(os.dup(0), "rb")
    wire_out = os.fdopen(os.dup(1), "wb")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return wire_in, wire_out


async def run_stdio(server, *, max_line_bytes: int) -> None:
    """Serve an MCPServer over this process's stdin/stdout until the client closes stdin."""
    wire_in, wire_out = _claim_std_streams()
    wire = _Wire(wire_in, wire_out, max_line_bytes)
    lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs, given our streams instead
    async with stdio_server(stdin=wire, stdout=wire) as (read_stream, write_stream):
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
