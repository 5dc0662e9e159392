"""Who may call `serve --http`: ASGI middleware in front of the MCP endpoint and /metrics.

`StaticTokenAuth` ([server] auth = "token") wants one shared bearer token, compared in constant
time. `OAuthResourceServer` ([server] auth = "oauth") is an OAuth 2.1 resource server as the MCP
authorization spec describes it: it serves its protected-resource metadata (RFC 9728) at the
well-known path, answers 401 with a `WWW-Authenticate` challenge naming that metadata, and 403
`insufficient_scope` when the token lacks the scope a call needs: every request needs the read
scope, and a `tools/call` of a tool outside ops.READ_TOOLS needs the write scope as well. The
SDK's own RequireAuthMiddleware checks one scope set for the whole endpoint, which cannot split
read tools from write tools, hence this one."""

from __future__ import annotations

import hmac
import json
import logging

import anyio.to_thread
import pydantic_core
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url
from pydantic import AnyHttpUrl

from ragate.server.config import OAuthSettings
from ragate.server.mcp.message_guard import read_body, replay
from ragate.server.mcp.oauth import InvalidToken, TokenVerifier
from ragate.server.ops import READ_TOOLS

log = logging.getLogger(__name__)
MCP_PATH = "/mcp"


async def _refuse(send, status: int, error: str, description: str, challenge: str) -> None:
    body = json.dumps({"error": error, "error_description": description}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if challenge:
        headers.append((b"www-authenticate", challenge.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bearer(scope) -> bytes | None:
    """The credentials of an `Authorization: Bearer` header (scheme case-insensitive, RFC 9110 §11.1)."""
    scheme, _, given = dict(scope.get("headers") or []).get(b"authorization", b"").strip().partition(b" ")
    return given.strip() if scheme.lower() == b"bearer" and given.strip() else None


class StaticTokenAuth:
    """Every HTTP request needs `Authorization: Bearer <token>`, else 401."""

    def __init__(self, app, token: str):
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = _bearer(scope)
        if given is None or not hmac.compare_digest(given, self._expected):
            return await _refuse(send, 401, "unauthorized", "send Authorization: Bearer <token>", 'Bearer realm="ragate"')
        return await self.app(scope, receive, send)


class OAuthResourceServer:
    def __init__(self, app, settings: OAuthSettings, *, max_body_bytes: int):
        self.app, self.s, self.max_body = app, settings, max_body_bytes
        self.verifier = TokenVerifier(settings)
        # Its own threads: a slow issuer cannot take the worker threads tool calls run in.
        self._verifying = anyio.CapacityLimiter(8)
        resource = AnyHttpUrl(settings.audience)
        self.metadata_url = str(build_resource_metadata_url(resource))
        self.metadata_paths = {"/.well-known/oauth-protected-resource", AnyHttpUrl(self.metadata_url).path}
        # RFC 9728 §2, with the issuer spelled exactly as its tokens' `iss` (URL models would add a slash).
        self.metadata = json.dumps(
            {
                "resource": settings.audience,
                "authorization_servers": [settings.issuer],
                "scopes_supported": [settings.read_scope, settings.write_scope],
                "bearer_methods_supported": ["header"],
                "resource_name": "ragate",
            }
        ).encode()

    def _challenge(self, error: str = "", description: str = "", scope: str = "") -> str:
        parts = [f'{k}="{_quotable(v)}"' for k, v in (("error", error), ("error_description", description), ("scope", scope)) if v]
        return "Bearer " + ", ".join([*parts, f'resource_metadata="{self.metadata_url}"'])

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # no websocket route exists; none may bypass the check either
            raise RuntimeError(f"refusing an ASGI {scope['type']!r} connection")
        if scope["path"] in self.metadata_paths:
            return await self._serve_metadata(scope, send)
        token = _bearer(scope)
        if token is None:  # RFC 6750 §3.1: no error code when the request carried no credentials
            return await _refuse(send, 401, "unauthorized", "an OAuth access token is required", self._challenge())
        try:
            who = await anyio.to_thread.run_sync(self.verifier.verify, token.decode("latin-1"), limiter=self._verifying)
        except InvalidToken as e:
            log.info("oauth: refused a token: %s", e)
            return await _refuse(send, 401, "invalid_token", str(e), self._challenge("invalid_token", str(e)))
        need = self.s.read_scope
        if scope["path"] == MCP_PATH and scope["method"] == "POST" and self.s.read_scope in who.scopes:
            body = await read_body(receive, self.max_body)
            if body is None:
                return await _refuse(send, 413, "request_too_large", f"the request body exceeds {self.max_body} bytes", "")
            if _calls_a_write_tool(body):
                need = self.s.write_scope
            receive = replay(body, receive)
        if need not in who.scopes:
            log.info("oauth: %s lacks scope %s", who.client_id or who.subject, need)
            description = f"this call needs the {need} scope"
            return await _refuse(send, 403, "insufficient_scope", description, self._challenge("insufficient_scope", description, need))
        # The SDK's transport binds each MCP session to the principal that opened it.
        scope["user"] = AuthenticatedUser(
            AccessToken(
                token=token.decode("latin-1"),
                client_id=who.client_id,
                scopes=sorted(who.scopes),
                subject=who.subject,
                claims={"iss": self.s.issuer},
            )
        )
        return await self.app(scope, receive, send)

    async def _serve_metadata(self, scope, send) -> None:
        ok = scope["method"] in ("GET", "HEAD")
        headers = [(b"content-type", b"application/json" if ok else b"text/plain"), (b"access-control-allow-origin", b"*")]
        await send({"type": "http.response.start", "status": 200 if ok else 405, "headers": headers})
        await send({"type": "http.response.body", "body": self.metadata if scope["method"] == "GET" else b"" if ok else b"GET only"})


def _calls_a_write_tool(body: bytes) -> bool:
    """Whether a JSON-RPC message (or batch) calls a tool outside READ_TOOLS. Read with both parsers
    the SDK's transports use (the handshake-era one and the stateless one), so no spelling of the
    body can name one tool here and another there; what parses with neither is left to the
    transport, which refuses it without running anything."""
    messages: list = []
    for parse in (pydantic_core.from_json, json.loads):
        try:
            message = parse(body)
        except (ValueError, RecursionError):
            continue
        messages.extend(message if isinstance(message, list) else [message])
    for m in messages:
        if isinstance(m, dict) and m.get("method") == "tools/call":
            params = m.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if not (isinstance(name, str) and name in READ_TOOLS):
                return True
    return False


def _quotable(text: str) -> str:
    """`text` safe inside a quoted auth-param (RFC 6750 §3: printable ASCII without `"` and `\\`)."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "'" for c in text)[:300]
