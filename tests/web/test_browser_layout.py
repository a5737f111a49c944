"""The page's look at 1280×900 and on a phone (390×844), real model, Debian Chromium:
no request leaves 127.0.0.1 while the page loads (no web font), one card per passage,
the conversation in the page's own scroll on a phone, the whole article as a full-height
view with a way back."""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.browser_helpers import ANSWER_TIMEOUT_MS, PAGE_TIMEOUT_MS, ask, screenshot, start_app

pytestmark = pytest.mark.browser

NEWS = Path(__file__).resolve().parent.parent / "data" / "news"
QUESTIONS = ["What is the latest cost estimate?", "Who won the city marathon?", "How many runners took part?",
             "Why did the bridge estimate go up?", "Which pupils get free school lunches?"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-layout")
    corpus = tmp / "corpus"
    shutil.copytree(NEWS, corpus)
    running = start_app(tmp / "index", corpus, tmp / "app.log")
    try:
        yield running
    finally:
        running.stop()


def _page(browser, app, width, height):
    """A page that records every request it makes while it loads and answers."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(app.url)
    page.wait_for_selector("#question textarea", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector("#chat .chat", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_load_state("load")
    return page


def _outside(urls) -> list[str]:
    return [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname not in ("127.0.0.1", "localhost")]


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_no_request_leaves_the_machine_and_the_font_is_the_systems(browser, app, width, height):
    page = _page(browser, app, width, height)
    try:
        turn, _ = ask(page, QUESTIONS[0])
        assert _outside(page.requests) == [], _outside(page.requests)
        fonts = page.evaluate("""() => [...document.fonts].map(f => f.family + ' ' + f.status)""")
        assert not [f for f in fonts if f.endswith("loaded") or f.endswith("loading")], fonts
        family = page.evaluate("getComputedStyle(document.querySelector('#chat .answer-text')).fontFamily")
        assert "system-ui" in family and "Source Sans" not in family, family
        # a bold capital is drawn in the same face as its word
        strong = page.evaluate("getComputedStyle(document.querySelector('#chat .src-title')).fontFamily")
        assert strong == family
        screenshot(page, f"layout-font-{width}")
    finally:
        page.close()


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_one_card_per_passage(browser, app, width, height):
    page = _page(browser, app, width, height)
    try:
        for q in QUESTIONS:
            turn, _ = ask(page, q)
            passages = turn.locator(".src-card > .passage").all_inner_texts()
            assert len(passages) == len(set(passages)), f"{q}: two cards show the same passage: {passages}"
            cited = sorted(set(int(n) for n in turn.locator("a.cite").evaluate_all("as => as.map(a => a.dataset.n)")))
            shown = turn.locator(".src-card .src-n").all_inner_texts()
            assert sorted(int(s.strip("[]")) for s in shown) == cited  # every [n] is on a card
            for href in turn.locator("a.cite").evaluate_all("as => as.map(a => a.getAttribute('href'))"):
                assert page.locator(href).count() == 1  # each [n] leads to a card
        screenshot(page, f"layout-cards-{width}")
    finally:
        page.close()


def test_phone_uses_the_page_scroll_and_a_full_height_article_view(browser, app):
    page = _page(browser, app, 390, 844)
    try:
        for q in QUESTIONS[:3]:
            turn, _ = ask(page, q)
        chat = page.locator("#chat .chat")
        inner = page.evaluate("(() => { const c = document.querySelector('#chat .chat');"
                              " return [getComputedStyle(c).overflowY, c.scrollHeight - c.clientHeight]; })()")
        assert inner[0] == "visible" and inner[1] <= 1, f"the chat scrolls inside the page: {inner}"
        assert page.evaluate("document.documentElement.scrollHeight") > 844  # the page scrolls instead
        assert chat.bounding_box()["height"] > 844
        card = turn.locator(".src-card").first
        card.locator("summary").click()
        view = card.locator(".article-text")
        view.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
        page.wait_for_timeout(300)
        box = view.bounding_box()
        assert box["height"] >= 0.85 * 844 and box["width"] >= 380, box
        assert "<mark>" in view.inner_html()
        back = card.locator("summary")
        assert "Back to the answer" in back.inner_text() and back.bounding_box()["y"] <= 1
        screenshot(page, "layout-phone-article")
        back.click()
        view.wait_for(state="hidden", timeout=10_000)
        assert "Open the whole article" in card.locator("summary").inner_text()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        screenshot(page, "layout-phone-chat")
    finally:
        page.close()
