"""The web page in a real headless browser (Debian's chromium driven by Playwright), against a real
`serve --http` and `ragate ui` on one index service; the refusals over raw HTTP, as a browser or an
attacker's page would send them. Screenshots of each page land in bench/results/ui/."""

from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import anyio
import pytest

from tests.helpers import TINY_DOCS, login_raw, oauth_site, raw
from tests.launcher import free_port, http_server, http_session

pytestmark = pytest.mark.slow

SHOTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "ui"
CHROMIUM = os.environ.get("RAGATE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As the probe of this kind of machine runs it: no first-run work, no calls home (the network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
CHROMIUM_ARGS += ["--disable-component-update", "--disable-sync"]
TINY_QUERIES = {"q1": "The moon causes ocean tides.", "q2": "Insulin reduces blood sugar."}
OFF_TOPIC = "How do I bake sourdough bread at home?"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM} (the README's test command installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, server_env, write_beir, examples):
    """One index with the sample corpus and an evaluation, served by `serve --http` (token auth)."""
    tmp = tmp_path_factory.mktemp("ui")
    env = server_env(str(tmp / "q"))
    run = [sys.executable, "-m", "ragate.server.cli.main"]
    done = subprocess.run([*run, "index", str(examples), "--no-progress"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    qrels = {"q1": "d1", "q2": "d3"}
    ds = write_beir(tmp / "tiny", TINY_DOCS, TINY_QUERIES, {"test": qrels, "train": qrels})
    ev = [*run, "eval", "--dataset", str(ds), "--variants", "bm25,hybrid,hybrid+rerank", "--out", str(tmp / "out"), "--no-progress"]
    done = subprocess.run(ev, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    port, token = free_port(), secrets.token_urlsafe(24)
    with http_server(env, port, token):
        yield {"env": env, "port": port, "token": token, "base": f"http://127.0.0.1:{port}/ui"}


def logged_in(browser, site):
    """A new browser page, logged in through the login form with the server's token."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(site["base"] + "/login")
    page.fill("#token", site["token"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/search"))
    return page


def feedback_entries(site) -> int:
    from ragate.server.ops import STATS
    from ragate.server.service.client import ServiceClient
    from ragate.server.settings_loader import load_settings

    client = ServiceClient(load_settings(None, environ=site["env"]))
    try:
        return client.run(STATS)["feedback"]["entries"]
    finally:
        client.close()


def test_every_page_and_form_is_refused_without_a_login_and_a_csrf_token(site):
    port, origin = site["port"], f"http://127.0.0.1:{site['port']}"
    for path in ("/ui/search?q=tides", "/ui/index", "/ui/evaluation", "/ui/document?id=x", "/ui/plot?collection=x&name=y.png"):
        status, headers, page = raw(port, "GET", path)
        assert status == 401 and "Log in" in page and "results" not in page, path
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    # The MCP endpoint's token is no session for the page, and the page's one-time URLs are `ragate ui`'s alone.
    assert raw(port, "GET", "/ui/index", headers={"Authorization": f"Bearer {site['token']}"})[0] == 401
    assert raw(port, "GET", "/ui/login/once?code=anything")[0] == 401
    # DNS rebinding: a page served under another name is refused before anything else.
    assert raw(port, "GET", "/ui/login", headers={"Host": "evil.example:80"})[0] == 421

    _, headers, page = raw(port, "GET", "/ui/login")
    pre = re.search(r"(ragate_ui_login_\d+=[^;]+)", headers["set-cookie"]).group(1)
    form = re.search(r'name="login_csrf" value="([^"]+)"', page).group(1)
    wrong = urllib.parse.urlencode({"login_csrf": form, "token": "not-the-token"})
    status, headers, page = raw(port, "POST", "/ui/login", headers={"Origin": origin, "Cookie": pre}, body=wrong)
    assert (
        status == 401
        and "not the server's token" in html.unescape(page)
        and not re.search(r"ragate_ui_\d+=", headers.get("set-cookie", ""))
    )

    _, cookie, csrf = login_raw(port, site["token"])
    before = feedback_entries(site)
    as_user = {"Cookie": cookie}
    _, _, results = raw(port, "GET", "/ui/search?q=tides", headers=as_user)
    chunk_id = re.search(r'name="chunk_id" value="([^"]+)"', results).group(1)
    verdict = {"q": "tides", "chunk_id": chunk_id, "useful": "true", "collection": "default"}
    # Forged from another site: its Origin, or none, is refused even with the right token in the form.
    for origin_header in ({"Origin": "http://evil.example"}, {}):
        status, _, _ = raw(
            port, "POST", "/ui/feedback", headers={**as_user, **origin_header}, body=urllib.parse.urlencode({**verdict, "csrf": csrf})
        )
        assert status == 403
    # Same origin, but no CSRF token or another one.
    for given in ({}, {"csrf": "x" * len(csrf)}):
        status, _, page = raw(
            port, "POST", "/ui/feedback", headers={**as_user, "Origin": origin}, body=urllib.parse.urlencode({**verdict, **given})
        )
        assert status == 403 and "CSRF" in page
    assert feedback_entries(site) == before  # nothing was recorded
    status, _, page = raw(
        port, "POST", "/ui/feedback", headers={**as_user, "Origin": origin}, body=urllib.parse.urlencode({**verdict, "csrf": csrf})
    )
    assert status == 200 and "Feedback recorded" in page
    assert feedback_entries(site) == before + 1
    # Logging out ends the session.
    assert raw(port, "POST", "/ui/logout", headers={**as_user, "Origin": origin}, body=urllib.parse.urlencode({"csrf": csrf}))[0] == 303
    assert raw(port, "GET", "/ui/index", headers=as_user)[0] == 401


def fits(page) -> bool:
    """Nothing runs past the window's right edge (no sideways scrolling), and no table past its panel's."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth && [...document.querySelectorAll('main table')]"
        ".every(t => t.getBoundingClientRect().right <= t.parentElement.getBoundingClientRect().right + 1)"
    )


def test_search_shows_score_bars_stage_and_timings_and_the_gate_side_by_side(site, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(site["base"] + "/search")
    assert page.locator("h1").inner_text() == "Log in"
    page.fill("#token", site["token"])
    page.click("button[type=submit]")
    page.fill("#q", "What causes the tides in the ocean?")
    page.press("#q", "Enter")
    page.wait_for_selector(".gate")
    rows = page.locator("table.scores tbody tr")
    assert rows.count() >= 3
    first = rows.nth(0)
    assert "tides" in first.inner_text().lower()
    bars = first.locator(".bars li")
    names = [bars.nth(i).locator(".label").inner_text() for i in range(bars.count())]
    assert {"score", "relevance", "rerank logit", "dense", "fused", "freshness"} <= set(names)
    # A logit is named so, and drawn hollow: its length is a place among these results, not a value.
    rerank = bars.nth(names.index("rerank logit"))
    assert "relative" in rerank.locator(".fill").get_attribute("class") and "not a probability" in rerank.get_attribute("data-tip")
    assert "relative" not in bars.nth(names.index("relevance")).locator(".fill").get_attribute("class")
    relevance = bars.nth(names.index("relevance"))
    assert "calibrated probability" in relevance.get_attribute("data-tip")
    width = relevance.locator(".fill").evaluate("e => e.getBoundingClientRect().width")
    assert width > 0  # drawn, not only listed
    relevance.focus()  # the explanation shows for the keyboard too
    assert "calibrated probability" in relevance.evaluate("e => getComputedStyle(e, '::after').content")
    stage = page.locator("p.stage").inner_text()
    assert "engine" in stage and re.search(r"read \d+ of \d+ pairs", stage)
    assert page.locator(".stack .seg").count() >= 3 and "ms in all" in page.locator(".timings figcaption").inner_text()
    gate = page.locator(".gate")
    assert "is-answer" in gate.get_attribute("class") and gate.locator(".status").text_content() == "answer"
    assert "ANSWERABLE" in gate.inner_text()
    assert re.search(r"p_answerable \d\.\d+", gate.inner_text()) and "threshold" in gate.inner_text()
    assert page.locator("table.features tbody tr").count() >= 5
    top = page.locator("table.features tbody tr", has_text="top_relevance").first.inner_text()
    assert "(logit)" in top and "= p 0." in top  # the gate's logit beside its probability
    assert fits(page)  # the side-by-side layout fits a 1280-pixel window
    # Every control is named for a screen reader; "/" reaches the query box from anywhere.
    unnamed = page.evaluate(
        "() => [...document.querySelectorAll('input:not([type=hidden]), select, button')]"
        ".filter(e => !e.labels?.length && !e.getAttribute('aria-label') && !e.textContent.trim()).map(e => e.outerHTML)"
    )
    assert unnamed == []
    page.screenshot(path=str(SHOTS / "search.png"))
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "q"
    # A verdict from the page goes through its CSRF-protected form.
    first.get_by_role("button", name="Useful: result 1", exact=True).click()
    assert "Feedback recorded" in page.locator("main").inner_text()
    page.close()


def test_an_off_topic_question_shows_the_abstention_and_its_evidence(site, browser):
    page = logged_in(browser, site)
    page.fill("#q", OFF_TOPIC)
    page.press("#q", "Enter")
    gate = page.locator(".gate")
    gate.wait_for()
    text = gate.inner_text()
    assert "is-abstain" in gate.get_attribute("class") and gate.locator(".status").text_content() == "abstain"
    assert "I don't know" in text and re.search(r"OFF_TOPIC|LOW_RELEVANCE|LEXICAL_MISS", text)
    assert "Nearest passages" in text and gate.locator(".passage").count() >= 1
    assert "sourdough" in gate.locator("mark").all_inner_texts()
    page.screenshot(path=str(SHOTS / "abstain.png"))
    page.close()


def test_index_and_evaluation_pages_list_the_collection_documents_engines_and_results(site, browser):
    page = logged_in(browser, site)
    page.goto(site["base"] + "/search?q=" + urllib.parse.quote("Why do most leaves look green?"))
    page.goto(site["base"] + "/index")
    collections = page.locator("#collections-h + table").inner_text()
    assert "default" in collections and "beir_tiny" in collections
    docs = page.locator("#docs-h + table")
    assert "tides.md" in docs.inner_text()
    assert "reranker" in page.locator("#engines-h + table").inner_text()
    recent = page.locator("#recent-h ~ table").inner_text()
    assert "search" in recent and "answer" in recent and "leaves" not in recent  # no query text by default
    assert fits(page)
    page.screenshot(path=str(SHOTS / "index.png"), full_page=True)
    docs.get_by_role("link", name=re.compile("tides.md")).click()
    assert "Ocean tides" in page.locator("h1").inner_text() and page.locator(".chunk").count() >= 2
    assert fits(page)

    page.goto(site["base"] + "/evaluation")
    section = page.locator("section", has=page.locator("#eval-beir_tiny"))
    assert "hybrid+rerank" in section.inner_text() and "nDCG@10" in section.inner_text()
    plots = section.locator(".plots img")
    assert plots.count() >= 1
    assert all(plots.nth(i).evaluate("i => i.complete && i.naturalWidth > 0 && i.alt.length > 0") for i in range(plots.count()))
    assert fits(page)
    page.screenshot(path=str(SHOTS / "evaluation.png"), full_page=True)
    page.close()


def mcp_search(site, query: str) -> None:
    """One search by an MCP client over streamable HTTP, in a thread of its own (Playwright's sync
    API holds this thread's event loop)."""

    async def call() -> None:
        async with http_session(site["port"], site["token"]) as mcp:
            r = await mcp.call_tool("search", {"query": query})
            assert not r.is_error

    failed: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(failed, lambda: anyio.run(call)))
    worker.start()
    worker.join(120)
    assert not worker.is_alive() and not failed, failed


def _capture(failed: list[BaseException], work) -> None:
    try:
        work()
    except BaseException as e:
        failed.append(e)


def test_ragate_ui_is_one_more_client_of_the_shared_index_service(site, browser):
    """`ragate ui`'s one-time URL opens one session, on the same index service that `serve --http`
    and its MCP clients use: a call made over MCP shows in its recent calls."""
    mcp_search(site, "Which enzyme fixes carbon dioxide?")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragate.server.cli.main", "ui", "--port", str(port)],
        env=site["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/ui/login/once\?code=\S+", line).group(0)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(url)
        assert page.url.endswith("/ui/search")
        page.goto(f"http://127.0.0.1:{port}/ui/index")
        mine = re.search(r"index service pid (\d+)", page.locator("main").inner_text()).group(1)
        recent = page.locator("#recent-h ~ table").inner_text()
        assert "search" in recent
        page.close()
        # The same pid behind serve --http's page: one service, one index.
        _, cookie, _ = login_raw(site["port"], site["token"])
        _, _, theirs = raw(site["port"], "GET", "/ui/index", headers={"Cookie": cookie})
        assert f"index service pid {mine}" in theirs
        # The URL was spent; another browser opening it gets the login page.
        again = browser.new_page()
        response = again.goto(url)
        assert response.status == 401 and "used already" in again.locator("main").inner_text()
        again.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_an_oauth_token_opens_a_session_with_its_scopes_and_its_expiry(tmp_path, server_env):
    """Under [server] auth = "oauth" the login form takes an access token, checked as the MCP
    endpoint checks it; its scopes decide what the session may do and its expiry ends the session."""
    auth, port, audience, env = oauth_site(tmp_path, server_env, RAGATE_OAUTH_LEEWAY_S="0")
    origin = f"http://127.0.0.1:{port}"
    try:
        with http_server(env, port, "unused-static-token"):
            status, _, page = login_raw(port, auth.token(audience, exp=int(time.time()) - 60))
            assert status == 401 and "expired" in page
            status, _, page = login_raw(port, auth.token(audience, scope="ragate:write"))
            assert status == 401 and "lacks the ragate:read scope" in page
            status, _, page = login_raw(port, auth.token(f"http://127.0.0.1:{port + 1}/mcp"))
            assert status == 401 and "not for this server" in page

            status, cookie, csrf = login_raw(port, auth.token(audience, scope="ragate:read", client_id="viewer"))
            assert status == 303
            as_viewer = {"Cookie": cookie, "Origin": origin}
            status, _, page = raw(port, "GET", "/ui/evaluation", headers=as_viewer)
            assert status == 200 and "viewer" in page
            verdict = urllib.parse.urlencode({"csrf": csrf, "q": "tides", "chunk_id": "c", "useful": "true"})
            status, _, page = raw(port, "POST", "/ui/feedback", headers=as_viewer, body=verdict)
            assert status == 403 and "no write scope" in page

            status, cookie, _ = login_raw(port, auth.token(audience, exp=int(time.time()) + 3))
            assert status == 303 and raw(port, "GET", "/ui/evaluation", headers={"Cookie": cookie})[0] == 200
            time.sleep(4)
            assert raw(port, "GET", "/ui/evaluation", headers={"Cookie": cookie})[0] == 401
    finally:
        auth.close()


def test_log_in_with_the_issuer_by_authorization_code_and_pkce(tmp_path, server_env, browser):
    """[ui] oauth_client_id adds a "log in with" button: the browser goes to the issuer and comes
    back with a code, which only the flow this browser started can exchange."""
    auth, port, audience, env = oauth_site(tmp_path, server_env, RAGATE_UI_OAUTH_CLIENT_ID="ragate-page")
    try:
        with http_server(env, port, "unused-static-token"):
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/ui/evaluation")
            page.screenshot(path=str(SHOTS / "login.png"))
            page.get_by_role("button", name=f"Log in with {auth.issuer}").click()
            # The search page waits for the index service, which loads its models on this new index.
            page.wait_for_url(re.compile(r"/ui/search"), timeout=180_000)
            assert page.locator("h1").inner_text() == "Search" and "agent-1" in page.locator("header").inner_text()
            assert auth.codes == {}  # the code was exchanged, with its PKCE verifier
            page.close()
            # The same callback again (its state is spent), or a state this browser never started, logs nobody in.
            replay = urllib.parse.urlsplit(auth.last_redirect)
            for path in (f"{replay.path}?{replay.query}", "/ui/oauth/callback?state=made-up&code=x"):
                status, headers, body = raw(port, "GET", path)
                assert (
                    status == 401
                    and "start again" in html.unescape(body)
                    and not re.search(r"ragate_ui_\d+=", headers.get("set-cookie", ""))
                )
            # Only the login page's own form starts a flow: a bare GET (an image on any page) starts none.
            assert raw(port, "GET", "/ui/oauth/start")[0] == 401
            # The issuer's error text is not shown back; only a standard error code would be named.
            status, _, body = raw(port, "GET", "/ui/oauth/callback?error=%3Cb%3Eowned%3C%2Fb%3E")
            assert status == 401 and "owned" not in body and "did not log you in" in html.unescape(body)
            # Refused logins are throttled per address.
            statuses = [login_raw(port, "not-a-token")[0] for _ in range(22)]
            assert statuses[0] == 401 and statuses[-1] == 429
    finally:
        auth.close()
