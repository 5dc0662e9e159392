"""OAuth 2.1 access tokens for `serve --http` with [server] auth = "oauth": JWTs the issuer signs
with a key from its JWKS, checked for signature, issuer, audience (this server's URL), expiry and
scopes. Keys are cached and refetched when a token names one the cache lacks (the issuer rotated),
at most once per [oauth] jwks_refresh_min_s, so a flood of made-up key ids cannot flood the issuer.
Every fetch from the issuer is bounded in wall-clock time ([oauth] timeout_s for the whole answer)
and size (MAX_ISSUER_BYTES)."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from ragate.retrieval.remote import BoundedClient, read_bounded
from ragate.server.config import OAuthSettings

log = logging.getLogger(__name__)


class InvalidToken(Exception):
    """Why a token was refused, in words safe to send back (nothing of the token itself)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float = 0.0  # the token's exp (Unix time)


class IssuerKeys:
    """The issuer's signing keys by key id, from [oauth] jwks_url or its metadata's jwks_uri."""

    def __init__(self, settings: OAuthSettings):
        self.s = settings
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = self._tried_at = -math.inf
        self._jwks_url = settings.jwks_url
        self._lock = threading.Lock()
        self.metadata = IssuerMetadata(settings)

    def key(self, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            now = time.monotonic()
            stale = now - self._fetched_at > self.s.jwks_cache_s
            unknown = kid not in self._keys if kid else len(self._keys) != 1
            fetch = (stale or unknown) and now - self._tried_at >= self.s.jwks_refresh_min_s
            if fetch:
                self._tried_at = now  # one fetcher; the others verify with the keys cached meanwhile
        if fetch:
            self._fetch()
        with self._lock:
            if not self._keys:
                raise InvalidToken("the issuer's signing keys cannot be fetched now")
            if kid is None:
                if len(self._keys) != 1:
                    raise InvalidToken("the token names no signing key (kid) and the issuer has several")
                return next(iter(self._keys.values()))
            if kid not in self._keys:
                raise InvalidToken("the token is signed with a key the issuer does not publish")
            return self._keys[kid]

    def _fetch(self) -> None:
        """Read the keys (outside the lock: a slow issuer holds up no token whose key is cached)."""
        try:
            with BoundedClient(timeout=self.s.timeout_s, follow_redirects=False) as http:
                url = self._jwks_url or self._discover()
                status, body = get_json(http, url, self.s)
                if status != 200:
                    raise ValueError(f"{url} answered HTTP {status}")
                if not isinstance(body, dict):
                    raise ValueError(f"{url} is not a JWKS object")
                # Signing keys only: a key published for encryption (`use: enc`) signs nothing here.
                body = {**body, "keys": [k for k in body.get("keys") or [] if isinstance(k, dict) and k.get("use", "sig") == "sig"]}
                keys = jwt.PyJWKSet.from_dict(body).keys
        except (httpx.HTTPError, ValueError, RecursionError, jwt.PyJWKSetError) as e:  # ValueError: JSON and metadata errors
            log.error("oauth: cannot read the issuer's keys: %s", e)
            return  # keep verifying with the keys we have, if any
        with self._lock:
            self._keys = {k.key_id or f"#{n}": k for n, k in enumerate(keys)}  # keys without an id stay apart
            self._jwks_url = url
            self._fetched_at = time.monotonic()
        log.info("oauth: %d signing key(s) from %s", len(keys), url)

    def _discover(self) -> str:
        url = self.metadata.get().get("jwks_uri")
        if not isinstance(url, str):
            raise ValueError("the issuer's metadata names no jwks_uri")
        return url


# The issuer's metadata and keys are a few kilobytes; a larger answer is not theirs to send.
MAX_ISSUER_BYTES = 1024 * 1024


def get_json(http: BoundedClient, url: str, settings: OAuthSettings) -> tuple[int, Any]:
    """(status, JSON body) of a GET to the issuer, within [oauth] timeout_s of wall-clock time for
    the whole answer and MAX_ISSUER_BYTES (retrieval.remote.read_bounded)."""
    status, _, data = read_bounded(http, "GET", url, timeout=settings.timeout_s, max_bytes=MAX_ISSUER_BYTES)
    return status, json.loads(data) if status == 200 else None


class IssuerMetadata:
    """The issuer's metadata: RFC 8414 (well-known inserted before the issuer's path), then OpenID
    Connect discovery; it must name the same issuer (RFC 8414 §3.3). Kept for [oauth] jwks_cache_s;
    after a failure it is not asked again for jwks_refresh_min_s, so no caller (the page's login
    button included) can make this server hammer the issuer."""

    def __init__(self, settings: OAuthSettings):
        self.s = settings
        self._meta: dict | None = None
        self._fetched_at = self._tried_at = -math.inf
        self._lock = threading.Lock()
        self._fetching = threading.Lock()  # one fetch at a time; callers meanwhile wait for its result

    def _fresh(self) -> dict | None:
        with self._lock:
            fresh = self._meta is not None and time.monotonic() - self._fetched_at <= self.s.jwks_cache_s
            return self._meta if fresh else None

    def get(self) -> dict:
        if (meta := self._fresh()) is not None:
            return meta
        # Two URLs may be tried, each within timeout_s.
        if not self._fetching.acquire(timeout=2 * self.s.timeout_s + 1):
            raise ValueError("the issuer's metadata is being read and has not come yet")
        try:
            if (meta := self._fresh()) is not None:  # read by the caller this one waited for
                return meta
            with self._lock:
                if time.monotonic() - self._tried_at < self.s.jwks_refresh_min_s:
                    if self._meta is not None:
                        return self._meta
                    raise ValueError("the issuer's metadata could not be read a moment ago")
                self._tried_at = time.monotonic()
            meta = self._fetch()
            with self._lock:
                self._meta, self._fetched_at = meta, time.monotonic()
            return meta
        finally:
            self._fetching.release()

    def _fetch(self) -> dict:
        scheme, _, rest = self.s.issuer.partition("://")
        host, _, path = rest.partition("/")
        path = f"/{path}" if path else ""
        with BoundedClient(timeout=self.s.timeout_s, follow_redirects=False) as http:
            for url in (
                f"{scheme}://{host}/.well-known/oauth-authorization-server{path}",
                f"{self.s.issuer}/.well-known/openid-configuration",
            ):
                status, meta = get_json(http, url, self.s)
                if status == 200:
                    if not isinstance(meta, dict) or meta.get("issuer") != self.s.issuer:
                        raise ValueError(f"{url} names another issuer")
                    return meta
        raise ValueError(f"no authorization server metadata under {self.s.issuer}")


class TokenVerifier:
    def __init__(self, settings: OAuthSettings):
        self.s = settings
        self.keys = IssuerKeys(settings)

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidToken("not a JWT") from None
        if header.get("alg") not in self.s.algorithms:  # the token's own value is not echoed
            raise InvalidToken(f"the signature algorithm is not one of {', '.join(self.s.algorithms)}")
        if header.get("typ") not in (None, "JWT", "at+jwt", "application/at+jwt"):  # RFC 9068 §2.1: an access token, not an ID token
            raise InvalidToken("the token is not an access token (typ)")
        key = self.keys.key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(self.s.algorithms),
                audience=[self.s.audience, self.s.audience.rstrip("/") + "/"],
                issuer=self.s.issuer,
                leeway=self.s.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"the token is not for this server (aud must be {self.s.audience})") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(f"the token is not from the configured issuer ({self.s.issuer})") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet (nbf/iat)") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.InvalidTokenError as e:
            raise InvalidToken(f"the token is invalid: {e}") from None
        return Principal(
            subject=str(claims.get("sub", "")),
            client_id=str(claims.get("client_id") or claims.get("azp") or claims.get("sub", "")),
            scopes=_scopes(claims),
            expires_at=float(claims["exp"]),
        )


def _scopes(claims: dict) -> frozenset[str]:
    """RFC 9068 `scope` (space-separated), or the `scp` list some issuers send instead."""
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, str):
        return frozenset(raw.split())
    return frozenset(str(s) for s in raw) if isinstance(raw, list) else frozenset()
