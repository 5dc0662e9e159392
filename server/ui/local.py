"""`ragate ui`: the web page alone, on 127.0.0.1, as one more client of the index's use cases (its
index service, shared with every MCP server and CLI command on the index). The way in is the
one-time URL printed at start; nothing else opens a session."""

from __future__ import annotations

import logging
import sys
import webbrowser

import uvicorn

from ragate.server.config import Settings
from ragate.server.http_limits import check_port_free, header_deadline_protocol
from ragate.server.mcp.serve import allowed_hosts_and_origins
from ragate.server.service.client import ServiceClient
from ragate.server.ui.app import ui_app
from ragate.server.ui.sessions import ONE_TIME_S, Sessions
from ragate.server.use_cases import open_use_cases

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


def run_ui(settings: Settings, *, port: int | None = None, open_browser: bool = False, config_path: str | None = None) -> None:
    port = port or settings.ui.port
    check_port_free(HOST, port, "[ui] port")
    use_cases = open_use_cases(settings, config_path=config_path, deadline_s=settings.server.tool_timeout_s, background=True)
    if isinstance(use_cases, ServiceClient):
        use_cases.keep_alive()  # the page is a connected client while it runs
    hosts, origins = allowed_hosts_and_origins(settings, HOST, port)
    sessions = Sessions(minutes=settings.ui.session_minutes)
    app = ui_app(use_cases, sessions=sessions, allowed_hosts=hosts, allowed_origins=origins, port=port, login=None)
    url = f"http://{HOST}:{port}/ui/login/once?code={sessions.one_time_code()}"
    # The URL is the credential: it goes to this terminal only (stdout), never to the log.
    print(f"ragate ui: open {url}\n(one use, within {ONE_TIME_S / 60:.0f} minutes; Ctrl-C stops)", flush=True)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(
        app, host=HOST, port=port, http=header_deadline_protocol(settings.server.header_timeout_s), log_level="warning", access_log=False
    )
    try:
        uvicorn.Server(config).run()
    finally:
        use_cases.close()
        sys.stdout.flush()
