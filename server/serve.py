"""`ragate serve`: the MCP server over stdio (what Claude Desktop launches) or streamable HTTP.

The handshake is answered at once; models load in a background thread and tool calls that arrive
early wait for them. HTTP always requires a bearer token (compared in constant time, never logged)
and checks Host/Origin against DNS rebinding."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os

from ragate.server.config import Settings

log = logging.getLogger(__name__)


class ServeError(RuntimeError):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerAuth:
    """ASGI middleware: every HTTP request needs `Authorization: Bearer <token>`, else 401."""

    def __init__(self, app, token: str):
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if not hmac.compare_digest(given, self._expected):
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="ragate"')],
                }
            )
            await send({"type": "http.response.body", "body": b'{"error":"unauthorized: send Authorization: Bearer <token>"}'})
            return
        return await self.app(scope, receive, send)


def http_app(settings: Settings, server, host: str, port: int):
    from mcp.server.transport_security import TransportSecuritySettings

    token = os.environ.get(settings.server.token_env, "")
    if not token:
        where = "on a loopback address" if is_loopback(host) else f"on {host}"
        raise ServeError(
            f"refusing to serve HTTP {where} without a bearer token: set {settings.server.token_env} "
            "([server] token_env), e.g. export RAGATE_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    hosts = [f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")] + ([f"{host}:{port}"] if not is_loopback(host) else [])
    origins = [f"http://{h}" for h in hosts] + list(settings.server.allowed_origins)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)
    app = server.streamable_http_app(host=host, transport_security=security)
    return BearerAuth(app, token)


def serve(settings: Settings, http: bool = False, host: str | None = None, port: int | None = None) -> None:
    import anyio

    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline
    from ragate.server.tools import build_server

    host = host or settings.server.host
    port = port or settings.server.port
    models = Models(settings)
    pipeline = Pipeline(settings, models)
    server = build_server(pipeline)
    app = http_app(settings, server, host, port) if http else None  # fail before loading anything
    models.load_in_background()
    try:
        if app is None:
            log.info("serving MCP over stdio")
            anyio.run(server.run_stdio_async)
        else:
            import uvicorn

            log.warning("serving MCP over streamable HTTP at http://%s:%d/mcp", host, port)
            uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)).run()
    finally:
        pipeline.close()
