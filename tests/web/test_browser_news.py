"""The page as a news reader or editor uses it (real model, Debian Chromium): upload an
article and see it listed and quoted with its date and source; remove it; a refused
upload; time words and the as-of date in the settings; the phone layout and contrast."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser_helpers import ask, open_page, screenshot, start_app

pytestmark = pytest.mark.browser

NEWS = Path(__file__).resolve().parent.parent / "data" / "news"
FERRY = """---
title: Ferry runs aground off Sand Island
date: 2026-03-10
source: Island Herald
author: Jon Park
url: https://islandherald.example/ferry-aground
---
The ferry Morning Star ran aground off Sand Island on Tuesday with 214 passengers on board, the coast guard said.

All passengers were taken off by lifeboats within three hours and nobody was hurt.
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-news")
    corpus = tmp / "corpus"
    shutil.copytree(NEWS, corpus)
    running = start_app(tmp / "index", corpus, tmp / "app.log")
    running.corpus = corpus
    running.tmp = tmp
    try:
        yield running
    finally:
        running.stop()


def _open_articles(page):
    page.locator("#articles").get_by_text("Articles").first.click()
    page.locator("#article-list").wait_for(state="visible", timeout=15_000)


def _list_text(page) -> str:
    return page.locator("#article-list").inner_text()


def _status(page, text: str, timeout: int = 180_000):
    page.wait_for_function(
        "t => (document.querySelector('#library-status')?.innerText || '').includes(t)", arg=text, timeout=timeout)
    return page.locator("#library-status").inner_text()


def test_upload_list_ask_then_remove(page, app):
    ferry = app.tmp / "ferry-aground.md"
    ferry.write_text(FERRY, encoding="utf-8")
    _open_articles(page)
    assert "Harbour bridge to cost $412 million" in _list_text(page)
    page.locator("#upload input[type=file]").set_input_files(str(ferry))
    status = _status(page, "Added and indexed")
    assert "Ferry runs aground off Sand Island" in status
    listed = _list_text(page)
    assert "Ferry runs aground off Sand Island" in listed and "2026-03-10" in listed and "Island Herald" in listed
    assert (app.corpus / "ferry-aground.md").read_text(encoding="utf-8") == FERRY  # it landed in the corpus folder
    screenshot(page, "news-01-uploaded")

    turn, _ = ask(page, "How many passengers were on the ferry that ran aground?")
    assert "214 passengers" in turn.locator(".answer-text").inner_text()
    card = turn.locator(".src-card").first
    assert card.locator(".src-title").inner_text().strip() == "Ferry runs aground off Sand Island"
    meta = card.locator(".src-meta").inner_text()
    assert "Island Herald" in meta and "2026-03-10" in meta and "Jon Park" in meta
    assert card.locator("a.src-url").get_attribute("href") == "https://islandherald.example/ferry-aground"
    screenshot(page, "news-02-ferry-answer")

    # remove it: gone from the list, the folder and the answers
    page.locator("#remove-choice input").click()
    page.locator("#remove-choice input").fill("Ferry runs")
    page.locator("[role=option]", has_text="Ferry runs aground off Sand Island (ferry-aground)").first.click()
    page.click("#remove")
    page.locator("#confirm-yes").click()  # asked first
    assert "Removed “Ferry runs aground off Sand Island”" in _status(page, "Removed")
    assert "Ferry runs aground" not in _list_text(page)
    assert not (app.corpus / "ferry-aground.md").exists()
    turn, _ = ask(page, "How many passengers were on the ferry that ran aground?")
    assert "214" not in turn.inner_text()
    screenshot(page, "news-03-removed")


def test_refused_upload_says_why(page, app):
    bad = app.tmp / "report.pdf"
    bad.write_bytes(b"%PDF-1.4 not an article")
    _open_articles(page)
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    status = _status(page, "Refused", timeout=60_000)
    assert ".pdf files are not accepted: upload .txt, .md, .html or .jsonl" in status
    assert not (app.corpus / "report.pdf").exists()


def test_as_of_in_settings_and_range_shown(page):
    page.locator("#settings").get_by_text("Settings").first.click()
    page.locator("#as-of textarea, #as-of input").first.fill("2026-03-11")
    turn, _ = ask(page, "What is the latest cost estimate?")
    text = turn.locator(".answer-text").inner_text()
    assert text.index("$468 million") < text.index("$412 million")
    assert "earlier report (2026-03-02)" in turn.locator(".src-card").nth(1).inner_text()
    assert "Also reported by" in turn.locator(".src-card").nth(1).inner_text()
    turn, _ = ask(page, "What happened last week?")
    assert "Articles dated 2026-03-02 to 2026-03-08 (“last week”, as of 2026-03-11)" in turn.locator(".range").inner_text()
    screenshot(page, "news-04-last-week")


def _contrast(page, selector: str) -> float:
    return page.evaluate("""sel => {
      const el = document.querySelector(sel);
      const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
      const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                                   return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
      let bg = null, n = el;
      while (n) { const c = rgb(getComputedStyle(n).backgroundColor); if (c.length < 4 || c[3] > 0.5) { bg = c; break; } n = n.parentElement; }
      bg = bg || [255, 255, 255];
      const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""", selector)


def test_phone_layout_contrast_and_examples_from_the_corpus(browser, app):
    page = open_page(browser, app.url, width=390, height=844)
    try:
        box = page.locator("#question").bounding_box()
        assert box["width"] >= 0.8 * 390, f"question box is {box['width']}px wide at 390px"
        # examples come from the current articles, not a fixed list
        examples = page.locator("#examples").inner_text()
        assert "What happened with the bridge cost estimate?" in examples and "Musan" not in examples
        page.locator("#examples").get_by_text("What is the latest news?").click()
        page.wait_for_function("document.querySelectorAll('#chat .turn').length > 0", timeout=60_000)
        assert page.locator("#chat .sources-head").count() >= 1
        assert _contrast(page, "#chat .sources-head") >= 4.5
        turn, _ = ask(page, "What happened last week?")
        assert _contrast(page, "#chat .turn:last-child .range") >= 4.5
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
        screenshot(page, "news-05-phone")
    finally:
        page.close()
