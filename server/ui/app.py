"""The web page as an ASGI app under /ui: `ragate ui` serves it alone on 127.0.0.1, `serve --http`
beside the MCP endpoint. Every request passes the same Host check as the MCP endpoint (DNS
rebinding); every page but the login needs a session (server/ui/sessions.py); every POST needs an
allowed Origin and the session's CSRF token. Responses forbid framing, caching, referrers to other sites and any
script or style not served from here."""

from __future__ import annotations

import html
import logging
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Literal

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ragate.retrieval.errors import RagateError
from ragate.server.mcp.oauth import InvalidToken
from ragate.server.ops import UseCases
from ragate.server.ui.oauth_login import CodeFlow
from ragate.server.ui.pages import Pages, render
from ragate.server.ui.sessions import COOKIE, Session, Sessions, Throttle, TokenLogin

log = logging.getLogger(__name__)
PREFIX = "/ui"
LOGIN_COOKIE = "ragate_ui_login"  # the login form's own CSRF value, before any session exists
# RFC 6749 §4.1.2.1: the error codes an issuer's callback may carry; anything else is not shown.
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
    }
)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    # A one-time code or a query in the URL goes to no other site ("no-referrer" would make the
    # browser send Origin: null on this page's own forms, which the Origin check must refuse).
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
MAX_FORM_BYTES = 64 * 1024
UNAVAILABLE = {"service_unavailable", "settings", "model_unavailable", "timeout", "cancelled", "store"}


def ui_app(
    use_cases: UseCases,
    *,
    sessions: Sessions,
    allowed_hosts: list[str],
    allowed_origins: list[str],
    port: int,
    login: TokenLogin | None,
    code_flow: CodeFlow | None = None,
) -> Starlette:
    """`login`: the token form's check under `serve --http`; None for `ragate ui`, whose only way in
    is the one-time URL it printed. `code_flow`: the OAuth "log in with" button, when configured.
    `port`: where it listens; its cookies carry it, since a browser shares cookies across the ports
    of one host (`ragate ui` and `serve --http` side by side must not log each other out)."""
    session_cookie, login_cookie = f"{COOKIE}_{port}", f"{LOGIN_COOKIE}_{port}"
    pages = Pages(use_cases)
    hosts, origins = [h.lower() for h in allowed_hosts], list(allowed_origins)
    throttle = Throttle()  # refused logins by token, per address
    starts = Throttle(limit=30)  # OAuth flows started, per address: pending flows are a shared table

    def browser_id(request: Request) -> str:
        """This browser's login cookie value (the login form's CSRF value, the OAuth flow's binding), or a new one."""
        return request.cookies.get(login_cookie) or secrets.token_urlsafe(32)

    def cookie(
        request: Request, response: Response, name: str, value: str, max_age: int | None, *, samesite: Literal["strict", "lax"] = "strict"
    ) -> None:
        # Secure where the browser reached us over TLS (directly, or through a proxy that says so).
        tls = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
        response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite=samesite, secure=tls)

    def open_session(request: Request, who: str, can_write: bool, expires_at: float | None, *, after_redirect: bool = False) -> Response:
        """The session's cookie, then the search page. After the issuer's redirect the browser would
        not send a SameSite=Strict cookie on a redirect that began on another site, so that login
        ends on a page of ours that moves on by itself."""
        s = sessions.open(who=who, can_write=can_write, expires_at=expires_at)
        response = render("continue.html", {}, None) if after_redirect else RedirectResponse(f"{PREFIX}/search", status_code=303)
        cookie(request, response, session_cookie, s.id, None)
        response.delete_cookie(login_cookie, path=PREFIX)
        log.info("ui: a session opened for %s", who)
        return response

    def login_page(request: Request, *, status: int = 200, error: str = "") -> Response:
        value = browser_id(request)
        context = {
            "error": error,
            "asks_for": login.asks_for if login else "",
            "login_csrf": value,
            "form": login is not None,
            "issuer": use_cases.settings.oauth.issuer if code_flow else "",
        }
        response = render("login.html", context, None, status=status)
        # Lax: it must come back with the issuer's redirect to the callback (a cross-site GET).
        cookie(request, response, login_cookie, value, 600, samesite="lax")
        return response

    async def login_form(request: Request) -> Response:
        return login_page(request)

    def address(request: Request) -> str:
        return request.client.host if request.client else "?"

    def refused(request: Request, why: str, *, guess: bool = True) -> Response:
        """A refused login, logged; `guess`: a token was tried, which counts toward the throttle (a
        callback is not counted: any page can send a browser to one, and it cannot guess a token)."""
        if guess:
            throttle.count(address(request))
        log.warning("ui: a login from %s was refused: %s", address(request), why)
        return login_page(request, status=401, error=why)

    async def login_form_checked(request: Request) -> tuple[Response | None, dict[str, str]]:
        """The login form's own CSRF value checked (double submit), and the address not throttled."""
        if throttle.over(address(request)):
            return login_page(request, status=429, error="too many refused logins from this address; wait a minute"), {}
        form = await _form(request)
        expected = request.cookies.get(login_cookie)
        if not expected or form.get("login_csrf") != expected:
            return login_page(request, status=403, error="the login form expired; try again"), {}
        return None, form

    async def login_submit(request: Request) -> Response:
        assert login is not None
        stop, form = await login_form_checked(request)
        if stop is not None:
            return stop
        try:
            who, can_write, expires_at = await anyio.to_thread.run_sync(login.check, form.get("token", "").strip())
        except InvalidToken as e:
            return refused(request, str(e))
        return open_session(request, who, can_write, expires_at)

    async def login_once(request: Request) -> Response:
        if not sessions.redeem(request.query_params.get("code", "")):
            return login_page(request, status=401, error="this login URL was used already or has expired; run `ragate ui` again")
        return open_session(request, "ragate ui", True, None)

    async def oauth_start(request: Request) -> Response:
        """A POST from the login page's own form: a GET any page could embed (an image) would start
        flows, and ask the issuer, for nobody; starts are counted per address too. The answer is a
        page that moves on to the issuer by itself, not a redirect: the page's policy lets forms
        lead only to this server (form-action), and browsers apply that to a form's redirect."""
        assert code_flow is not None
        stop, _ = await login_form_checked(request)
        if stop is not None:
            return stop
        if starts.over(address(request)):
            return login_page(request, status=429, error="too many logins started from this address; wait a minute")
        starts.count(address(request))
        browser = browser_id(request)
        try:
            url = await anyio.to_thread.run_sync(code_flow.start, browser)
        except InvalidToken as e:
            return login_page(request, status=503, error=str(e))
        response = render("to_issuer.html", {"url": url, "issuer": use_cases.settings.oauth.issuer}, None)
        cookie(request, response, login_cookie, browser, 600, samesite="lax")
        return response

    async def oauth_callback(request: Request) -> Response:
        assert code_flow is not None and login is not None
        q = request.query_params
        if q.get("error"):  # the user declined, or the issuer refused the client; only a standard code is shown
            code = q.get("error", "")
            return refused(request, "the issuer did not log you in" + (f" ({code})" if code in OAUTH_ERRORS else ""), guess=False)
        try:
            token = await anyio.to_thread.run_sync(
                lambda: code_flow.finish(state=q.get("state", ""), code=q.get("code", ""), browser=request.cookies.get(login_cookie, ""))
            )
            who, can_write, expires_at = await anyio.to_thread.run_sync(login.check, token)
        except InvalidToken as e:
            return refused(request, str(e), guess=False)
        return open_session(request, who, can_write, expires_at, after_redirect=True)

    async def logout(request: Request, session: Session) -> Response:
        sessions.close(session.id)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(session_cookie, path=PREFIX)
        return response

    async def feedback(request: Request, session: Session) -> Response:
        if not session.can_write:
            return render("error.html", {"error": "this session's token has no write scope: feedback is refused"}, session, status=403)
        return await pages.feedback(request, session, await _form(request))

    open_routes: dict[str, Callable[[Request], Awaitable[Response]]] = {"GET /login": login_form}
    if login is None:  # `ragate ui`: the printed one-time URL
        open_routes["GET /login/once"] = login_once
    else:  # `serve --http`: the MCP endpoint's credential, typed in
        open_routes["POST /login"] = login_submit
    if code_flow is not None:  # and the issuer's own login page
        open_routes["POST /oauth/start"] = oauth_start
        open_routes["GET /oauth/callback"] = oauth_callback
    posts: dict[str, Callable[[Request, Session], Awaitable[Response]]] = {"/logout": logout, "/feedback": feedback}
    gets: dict[str, Callable[[Request, Session], Awaitable[Response]]] = {
        "/search": pages.search,
        "/index": pages.index,
        "/document": pages.document,
        "/evaluation": pages.evaluation,
        "/plot": pages.plot,
    }

    async def dispatch(request: Request) -> Response:
        host = request.headers.get("host", "").lower()
        if not _matches(host, hosts):
            return _plain(421, "this Host is not served here")
        path = request.url.path.removeprefix(PREFIX) or "/"
        if path.startswith("/static/") and request.method == "GET":
            return pages.static(path.removeprefix("/static/"))
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin is None or not _matches(origin, origins):  # a browser names the page a POST comes from; another site's is refused
                return _plain(
                    403,
                    "cross-origin POST refused (Origin is missing or not this server's; a proxy's origin goes in [server] allowed_origins)",
                )
        opened = open_routes.get(f"{request.method} {path}")
        if opened is not None:
            return await opened(request)
        session = sessions.get(request.cookies.get(session_cookie))
        if session is None:
            return login_page(request, status=401, error="log in first") if request.method == "GET" else _plain(401, "log in first")
        if request.method == "GET":
            if path == "/":
                return RedirectResponse(f"{PREFIX}/search", status_code=303)
            page = gets.get(path)
            return await page(request, session) if page else render("error.html", {"error": "no such page"}, session, status=404)
        if request.method == "POST" and path in posts:
            form = await _form(request)
            if not session.csrf_ok(form.get("csrf")):
                return _plain(403, "the form's CSRF token is missing or wrong; reload the page")
            return await posts[path](request, session)
        return _plain(405, "GET pages and POST forms only")

    async def secured(request: Request) -> Response:
        try:
            response = await dispatch(request)
        except RagateError as e:  # the index service is down, refused this client's settings, ...
            session = sessions.get(request.cookies.get(session_cookie))
            response = render("error.html", {"error": f"{e.kind}: {e}"}, session, status=503 if e.kind in UNAVAILABLE else 400)
        except Exception as e:  # a bug, or a kept file changed under us: a page that says so, still with the headers
            log.exception("ui: %s %s failed", request.method, request.url.path)
            session = sessions.get(request.cookies.get(session_cookie))
            response = render(
                "error.html", {"error": f"internal error ({type(e).__name__}); the server's log has the details"}, session, status=500
            )
        for name, value in SECURITY_HEADERS.items():  # a page that set its own policy (the login page's) keeps it
            response.headers.setdefault(name, value)
        return response

    methods = ["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]
    return Starlette(routes=[Route(PREFIX, secured, methods=methods), Route(PREFIX + "/{rest:path}", secured, methods=methods)])


def _matches(value: str, allowed: list[str]) -> bool:
    """`value` is allowed as the MCP transport's checks allow it: exactly, or by a `name:*` entry (any port)."""
    return value in allowed or any(a.endswith(":*") and value.startswith(a[:-1]) for a in allowed)


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form (its first value per name), read once per request and at most
    MAX_FORM_BYTES of it: a larger body is no form of this page's, and reads as empty."""
    if not hasattr(request.state, "form"):
        body, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                body = []
                break
            body.append(chunk)
        try:
            pairs = urllib.parse.parse_qsl(b"".join(body).decode("utf-8", "replace"), max_num_fields=50)
        except ValueError:  # more fields than any form here has
            pairs = []
        form: dict[str, str] = {}
        for k, v in pairs:
            form.setdefault(k, v)
        request.state.form = form
    return request.state.form


def _plain(status: int, message: str) -> Response:
    return HTMLResponse(f"<!doctype html><title>ragate</title><p>{html.escape(message)}</p>", status_code=status)
