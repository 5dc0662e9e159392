"""`ragate serve`: the MCP server over stdio (what Claude Desktop launches) or streamable HTTP.

The handshake is answered at once; models load in a background thread and tool calls that arrive
early wait for them. HTTP always requires a bearer token, the static one or an OAuth access token
(server/mcp/http_auth.py), and checks Host/Origin against DNS rebinding. Both transports cap a request at [server]
max_request_mb; stdio answers every bad line (server/mcp/stdio.py), HTTP closes connections slow to
send their headers (server/http_limits.py)."""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import threading
import urllib.parse
from collections.abc import Callable

import anyio
import anyio.to_thread
import uvicorn

from ragate.retrieval.errors import RagateError, ServeError
from ragate.server.config import Settings
from ragate.server.http_limits import check_port_free, header_deadline_protocol
from ragate.server.mcp.http_auth import OAuthResourceServer, StaticTokenAuth
from ragate.server.mcp.message_guard import MessageGuard
from ragate.server.mcp.stdio import run_stdio
from ragate.server.mcp.tools import build_server
from ragate.server.ops import METRICS, WATCH, UseCases
from ragate.server.requests import WatchRequest
from ragate.server.service.client import ServiceClient
from ragate.server.ui.app import PREFIX, ui_app
from ragate.server.ui.oauth_login import CodeFlow
from ragate.server.ui.sessions import Sessions, TokenLogin
from ragate.server.use_cases import open_use_cases

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class MetricsRoute:
    """GET /metrics: the use cases' metrics in the Prometheus text format, behind the same token as
    the MCP endpoint (the caller wraps it in the authentication); every other path goes to the MCP app."""

    def __init__(self, app, metrics: Callable[[], str]):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/metrics":
            return await self.app(scope, receive, send)
        from prometheus_client import CONTENT_TYPE_LATEST

        status, kind, body = 200, CONTENT_TYPE_LATEST, b""
        if scope["method"] not in ("GET", "HEAD"):
            status, kind, body = 405, "text/plain", b"GET only"
        else:
            try:
                body = (await anyio.to_thread.run_sync(self.metrics)).encode()
            except RagateError as e:  # the index service is starting or gone
                status, kind, body = 503, "text/plain", str(e).encode()
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind.encode())]})
        await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""})


def allowed_hosts_and_origins(settings: Settings, host: str, port: int) -> tuple[list[str], list[str]]:
    """The Host and Origin values an HTTP request may carry (DNS rebinding protection): this
    server's own addresses, [server] allowed_hosts and the OAuth audience's host, and their origins
    with [server] allowed_origins."""
    hosts = [f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")] + ([f"{host}:{port}"] if not is_loopback(host) else [])
    hosts += list(settings.server.allowed_hosts)
    if settings.server.auth == "oauth":
        hosts.append(urllib.parse.urlsplit(settings.oauth.audience).netloc)  # where clients reach this server
    # A proxy's name is reached over TLS as often as not; loopback names over plain HTTP.
    origins = (
        [f"http://{h}" for h in hosts] + [f"https://{h}" for h in settings.server.allowed_hosts] + list(settings.server.allowed_origins)
    )
    if settings.server.auth == "oauth" and settings.oauth.audience.startswith("https://"):
        origins.append("https://" + urllib.parse.urlsplit(settings.oauth.audience).netloc)
    return hosts, origins


class UiRoute:
    """/ui and below go to the web page, which has its own login (a browser sends no bearer header);
    every other path goes to the authenticated MCP endpoint and /metrics."""

    def __init__(self, ui, app):
        self.ui, self.app = ui, app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        target = self.ui if path == PREFIX or path.startswith(PREFIX + "/") else self.app
        return await target(scope, receive, send)


def http_app(settings: Settings, server, host: str, port: int, use_cases: UseCases):
    from mcp.server.transport_security import TransportSecuritySettings

    token = os.environ.get(settings.server.token_env, "")
    if settings.server.auth == "token" and not token:
        where = "on a loopback address" if is_loopback(host) else f"on {host}"
        raise ServeError(
            f"refusing to serve HTTP {where} without a bearer token: set {settings.server.token_env} "
            "([server] token_env), e.g. export RAGATE_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    hosts, origins = allowed_hosts_and_origins(settings, host, port)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)
    app = server.streamable_http_app(host=host, transport_security=security, max_request_body_size=settings.server.max_request_bytes)
    app = MetricsRoute(MessageGuard(app, settings.server.max_request_bytes), lambda: use_cases.run(METRICS))
    if settings.server.auth == "oauth":
        app = OAuthResourceServer(app, settings.oauth, max_body_bytes=settings.server.max_request_bytes)
    else:
        app = StaticTokenAuth(app, token)
    page = ui_app(
        use_cases,
        sessions=Sessions(minutes=settings.ui.session_minutes),
        allowed_hosts=hosts,
        allowed_origins=origins,
        port=port,
        login=TokenLogin(settings, token),
        code_flow=CodeFlow(settings) if settings.server.auth == "oauth" and settings.ui.oauth_client_id else None,
    )
    return UiRoute(page, app)


def serve(
    settings: Settings,
    *,
    http: bool = False,
    host: str | None = None,
    port: int | None = None,
    watch: list[str] | None = None,
    config_path: str | None = None,
) -> None:
    host = host or settings.server.host
    port = port or settings.server.port
    if http:
        check_port_free(host, port, "[server] port")
    use_cases = open_use_cases(settings, config_path=config_path, deadline_s=settings.server.tool_timeout_s, background=True)
    server = build_server(use_cases)
    app = http_app(settings, server, host, port, use_cases) if http else None  # fail before starting anything
    if isinstance(use_cases, ServiceClient):
        threading.Thread(target=_connect, args=(use_cases, watch or []), name="ragate-connect", daemon=True).start()
        use_cases.keep_alive()
    elif watch:
        log.warning("--watch needs the index service, which is not used with [qdrant] url; not watching")
    try:
        if app is None:
            log.info("serving MCP over stdio")
            anyio.run(functools.partial(run_stdio, server, max_line_bytes=settings.server.max_request_bytes))
        else:
            log.warning("serving MCP over streamable HTTP at http://%s:%d/mcp, and the web page at /ui", host, port)
            protocol = header_deadline_protocol(settings.server.header_timeout_s)
            uvicorn.Server(uvicorn.Config(app, host=host, port=port, http=protocol, log_level="warning", access_log=False)).run()
    finally:
        use_cases.close()


def _connect(client, watch: list[str]) -> None:
    """Start (or join) the index service while the handshake is answered, then add the watches."""
    try:
        client.ensure_started()
        if watch:
            client.run(WATCH, WatchRequest(paths=watch, allowed_roots=client.settings.server.allowed_roots))
    except Exception as e:  # tool calls report it too; the server keeps answering
        log.error("index service: %s", e)
