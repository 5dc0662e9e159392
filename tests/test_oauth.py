"""`serve --http` as an OAuth 2.1 resource server, over raw HTTP, against a local authorization
server that generates its keys, signs the tokens and can rotate its key."""

import json
import re
import threading
import time

import httpx2
import pytest

from ragate.server.mcp.tools import build_server
from ragate.server.ops import READ_TOOLS
from tests.helpers import RAW_HEADERS, RAW_INITIALIZE, AuthorizationServer, login_raw, oauth_site, raw
from tests.launcher import http_server, http_session

pytestmark = [pytest.mark.anyio]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _challenge(r) -> dict[str, str]:
    value = r.headers["www-authenticate"]
    assert value.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', value))


def _call(tool: str, args: dict) -> dict:
    return {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": args}}


async def test_every_registered_tool_is_classed_read_or_write(pipeline):
    tools = {t.name: t for t in await build_server(pipeline).list_tools()}
    assert READ_TOOLS < set(tools)
    assert {n for n, t in tools.items() if t.annotations and t.annotations.read_only_hint} == READ_TOOLS


async def test_oauth_resource_server_over_raw_http(tmp_path, server_env):
    auth, port, audience, env = oauth_site(tmp_path, server_env, RAGATE_OAUTH_JWKS_REFRESH_MIN_S="0", RAGATE_UI_RECENT_CALLS="2")
    base = f"http://127.0.0.1:{port}"
    try:
        with http_server(env, port, "unused-static-token") as proc:
            async with httpx2.AsyncClient(timeout=30) as c:

                async def post(token: str | None, body: dict, path: str = "/mcp"):
                    headers = {**RAW_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
                    return await c.post(base + path, json=body, headers=headers)

                meta = await c.get(f"{base}/.well-known/oauth-protected-resource/mcp")
                assert meta.status_code == 200
                assert meta.json()["resource"] == audience and meta.json()["authorization_servers"] == [auth.issuer]
                assert set(meta.json()["scopes_supported"]) == {"ragate:read", "ragate:write"}

                r = await post(None, RAW_INITIALIZE)
                assert r.status_code == 401
                assert _challenge(r) == {"resource_metadata": f"{base}/.well-known/oauth-protected-resource/mcp"}

                rotated_out = AuthorizationServer()  # a key the issuer never published
                refused = {
                    "expired": auth.token(audience, exp=int(time.time()) - 120),
                    "wrong audience": auth.token("http://127.0.0.1:1/mcp"),
                    "wrong issuer": auth.token(audience, iss="http://127.0.0.1:2"),
                    "alg none": auth.unsigned(audience),
                    "HS256 keyed with the public key": auth.hmac_with_public_key(audience),
                    "unpublished key": rotated_out.token(audience, iss=auth.issuer),
                    "not a JWT": "abc.def",
                    "no expiry": auth.token(audience, drop=("exp",)),
                    "a kid that is not a string": auth.forged_header(audience, {"alg": "RS256", "kid": 5}),
                    "a kid with quotes": auth.token(audience, kid='x", resource_metadata="http://evil'),
                }
                rotated_out.close()
                for case, token in refused.items():
                    r = await post(token, RAW_INITIALIZE)
                    assert r.status_code == 401, case
                    ch = _challenge(r)
                    assert ch["error"] == "invalid_token" and ch["resource_metadata"].endswith("/oauth-protected-resource/mcp"), case
                    assert token not in r.text and "evil" not in r.headers["www-authenticate"], case

                reads = auth.jwks_reads
                reader = auth.token(audience, scope="ragate:read")
                r = await post(reader, RAW_INITIALIZE)
                assert r.status_code == 200, r.text
                session = {"mcp-session-id": r.headers["mcp-session-id"]}
                r = await c.post(
                    f"{base}/mcp",
                    json=_call("delete", {"ids": ["x"]}),
                    headers={**RAW_HEADERS, **session, "Authorization": f"Bearer {reader}"},
                )
                assert r.status_code == 403
                ch = _challenge(r)
                assert ch["error"] == "insufficient_scope" and ch["scope"] == "ragate:write"
                # The same refusal however the call is spelled: a batch, an escaped name, a duplicate key.
                spelled = [
                    json.dumps([_call("search", {"query": "q"}), _call("add_documents", {"documents": [{"text": "t"}]})]),
                    json.dumps(_call("delete", {"ids": ["x"]})).replace('"delete"', '"\\u0064elete"'),
                    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search","name":"index_paths","arguments":{}}}',
                ]
                for body in spelled:
                    r = await c.post(f"{base}/mcp", content=body, headers={**RAW_HEADERS, **session, "Authorization": f"Bearer {reader}"})
                    assert r.status_code == 403, body

                no_read = auth.token(audience, scope="profile")
                r = await post(no_read, RAW_INITIALIZE)
                assert r.status_code == 403 and _challenge(r)["scope"] == "ragate:read"
                assert auth.jwks_reads == reads  # the cached keys served every token signed with the same key

                auth.rotate()
                r = await post(auth.token(audience), RAW_INITIALIZE)
                assert r.status_code == 200, r.text
                assert auth.jwks_reads == reads + 1

            writer = auth.token(audience)
            async with http_session(port, writer) as s:
                tools = {t.name for t in (await s.list_tools()).tools}
                assert "delete" in tools
                added = await s.call_tool("add_documents", {"documents": [{"id": "d1", "text": "Tides follow the moon."}]})
                assert not added.is_error, added.content[0].text
                done = await s.call_tool("delete", {"ids": ["6f1d2a3e-52b0-4c55-9a0e-7d0f3c6b9e11"]})
                assert not done.is_error, done.content[0].text
            # Another reader's flood of calls leaves agent-1's two in the recent calls: each caller has its own slots.
            async with http_session(port, auth.token(audience, scope="ragate:read", sub="flooder", client_id="")) as s:
                for _ in range(6):
                    assert (await s.call_tool("search", {"query": "tides", "collection": "nowhere"})).is_error
            status, cookie, _ = login_raw(port, auth.token(audience, scope="ragate:read", sub="viewer", client_id=""))
            assert status == 303
            _, _, page = raw(port, "GET", "/ui/index", headers={"Cookie": cookie})
            callers = re.findall(r"<td>(oauth:[^<]+)</td>", page)
            assert callers.count("oauth:agent-1") == 2 and callers.count("oauth:flooder") == 2, callers
            async with httpx2.AsyncClient(timeout=60) as c:
                assert (
                    await c.get(f"{base}/metrics", headers={"Authorization": f"Bearer {reader}"})
                ).status_code == 401  # its key was rotated out
                reader = auth.token(audience, scope="ragate:read")
                assert (await c.get(f"{base}/metrics", headers={"Authorization": f"Bearer {reader}"})).status_code == 200
                assert (await c.get(f"{base}/metrics")).status_code == 401
            assert proc.poll() is None
    finally:
        auth.close()


def test_forged_key_ids_and_a_dripping_jwks_cannot_hold_valid_callers(tmp_path, server_env):
    """Tokens naming unknown keys make the server refetch the issuer's keys: at most once per
    jwks_refresh_min_s, each fetch bounded by timeout_s, off the threads that serve valid callers."""
    auth, port, audience, env = oauth_site(tmp_path, server_env, RAGATE_OAUTH_TIMEOUT_S="2", RAGATE_OAUTH_JWKS_REFRESH_MIN_S="1")
    try:
        with http_server(env, port, "unused-static-token"):
            valid = auth.token(audience)

            def post(token: str) -> tuple[int, float]:
                started = time.monotonic()
                r = httpx2.post(audience, json=RAW_INITIALIZE, headers={**RAW_HEADERS, "Authorization": f"Bearer {token}"}, timeout=60)
                return r.status_code, time.monotonic() - started

            assert post(valid)[0] == 200 and auth.jwks_reads == 1
            auth.jwks_drip = True
            time.sleep(1.1)  # past jwks_refresh_min_s: the first unknown key id refetches
            forgers = [AuthorizationServer() for _ in range(9)]  # keys the issuer never published
            forged = [f.token(audience, iss=auth.issuer) for f in forgers]
            for f in forgers:
                f.close()
            answers: list[tuple[int, float]] = []
            threads = [threading.Thread(target=lambda t=t: answers.append(post(t))) for t in forged]
            for t in threads:
                t.start()
            time.sleep(0.3)
            status, took = post(valid)  # while the refetch drips
            assert status == 200 and took < 2, took
            for t in threads:
                t.join()
            assert sorted(s for s, _ in answers) == [401] * 9 and max(took for _, took in answers) < 2 + 1, answers
            assert auth.jwks_reads == 2, (answers, took)  # one refetch for nine unknown key ids
    finally:
        auth.close()
