"""The page's "log in with" button under [server] auth = "oauth": the authorization code flow with
PKCE (RFC 7636) as a public client ([ui] oauth_client_id), asking for this server as the resource
(RFC 8707). The access token it ends with is checked exactly as the MCP endpoint checks one
(sessions.TokenLogin), so the session gets that token's scopes and expiry.

Each flow is bound to the browser that started it (its login cookie) and its `state` is spent by
the first callback, so a code from someone else's flow cannot log this browser in."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse

import httpx

from ragate.retrieval.remote import BoundedClient, read_bounded
from ragate.server.config import Settings, is_safe_url
from ragate.server.mcp.oauth import MAX_ISSUER_BYTES, InvalidToken, IssuerMetadata

CALLBACK = "/ui/oauth/callback"
FLOW_S = 600.0  # a login not finished within this long starts again
MAX_FLOWS = 1024  # when full, the oldest flow gives way: nobody is refused a new login
FLOWS_PER_BROWSER = 3  # a browser's own flows beyond this give way, oldest first


class CodeFlow:
    def __init__(self, settings: Settings):
        self.s, self.client_id = settings.oauth, settings.ui.oauth_client_id
        audience = urllib.parse.urlsplit(settings.oauth.audience)
        self.redirect_uri = f"{audience.scheme}://{audience.netloc}{CALLBACK}"
        self.scope = f"{settings.oauth.read_scope} {settings.oauth.write_scope}"
        self._flows: dict[str, tuple[str, str, float]] = {}  # state → (code verifier, browser, expiry), oldest first
        self._lock = threading.Lock()
        self.metadata = IssuerMetadata(settings.oauth)

    def _endpoints(self) -> tuple[str, str]:
        try:
            meta = self.metadata.get()
        except (httpx.HTTPError, ValueError, RecursionError) as e:
            raise InvalidToken(f"the issuer's metadata cannot be read now ({type(e).__name__})") from None
        ends = meta.get("authorization_endpoint"), meta.get("token_endpoint")
        if not all(isinstance(u, str) and is_safe_url(u) for u in ends):
            raise InvalidToken("the issuer's metadata names no https authorization and token endpoints")
        return ends  # type: ignore[return-value]

    def start(self, browser: str) -> str:
        """The issuer's authorization URL for a new flow bound to `browser` (its login cookie)."""
        authorize, _ = self._endpoints()
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        now = time.time()
        with self._lock:
            self._flows = {k: v for k, v in self._flows.items() if v[2] > now}
            mine = [k for k, v in self._flows.items() if v[1] == browser]
            for k in mine[: max(0, len(mine) - FLOWS_PER_BROWSER + 1)] + list(self._flows)[: max(0, len(self._flows) - MAX_FLOWS + 1)]:
                self._flows.pop(k, None)
            self._flows[state] = (verifier, browser, now + FLOW_S)
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": self.s.audience,
        }
        return f"{authorize}{'&' if '?' in authorize else '?'}{urllib.parse.urlencode(query)}"

    def finish(self, *, state: str, code: str, browser: str) -> str:
        """The access token for a callback's code; raises InvalidToken when the flow is unknown,
        spent, expired, another browser's, or the issuer refuses the code."""
        with self._lock:
            flow = self._flows.pop(state, None)
        if flow is None or flow[2] < time.time() or not secrets.compare_digest(flow[1], browser):
            raise InvalidToken("this login is unknown, expired or another browser's; start again")
        _, token_url = self._endpoints()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": flow[0],
            "resource": self.s.audience,
        }
        try:
            with BoundedClient(timeout=self.s.timeout_s, follow_redirects=False) as http:
                status, _, data = read_bounded(
                    http,
                    "POST",
                    token_url,
                    timeout=self.s.timeout_s,
                    max_bytes=MAX_ISSUER_BYTES,
                    data=form,
                    headers={"Accept": "application/json"},
                )
            body = json.loads(data) if status == 200 else {}
        except (httpx.HTTPError, ValueError, RecursionError):
            body = {}
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise InvalidToken("the issuer did not exchange the code for an access token")
        return token
