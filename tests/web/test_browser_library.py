"""One server, several people (real model, Debian Chromium): what one tab uploads, removes
or restores, every other tab lists, counts and searches — tabs opened before and after the
change — with no restart. Removing asks first and keeps the article in the trash."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser_helpers import ask, launch_chromium, open_page, screenshot, start_app

pytestmark = pytest.mark.browser

NEWS = Path(__file__).resolve().parent.parent / "data" / "news"
FERRY = """---
title: Ferry runs aground off Sand Island
date: 2026-03-10
source: Island Herald
---
The ferry Morning Star ran aground off Sand Island on Tuesday with 214 passengers on board, the coast guard said.

All passengers were taken off by lifeboats within three hours and nobody was hurt.
"""
QUESTION = "How many passengers were on the ferry that ran aground?"
TICK_MS = 30_000  # a tab notices another tab's change within a few seconds (REFRESH_SECONDS)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-library")
    corpus = tmp / "corpus"
    shutil.copytree(NEWS, corpus)
    running = start_app(tmp / "index", corpus, tmp / "app.log")
    running.corpus, running.tmp = corpus, tmp
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def two_browsers():
    """Two separate browser contexts: two people, no shared cookies or storage."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        a, b = launch_chromium(p), launch_chromium(p)
        try:
            yield a, b
        finally:
            a.close()
            b.close()


def _open_articles(page):
    page.locator("#articles").get_by_text("Articles").first.click()
    page.locator("#article-list").wait_for(state="visible", timeout=15_000)


def _listed(page, text: str, present: bool = True):
    page.wait_for_function(
        "([t, want]) => (document.querySelector('#article-list')?.innerText || '').includes(t) === want",
        arg=[text, present], timeout=TICK_MS)


def _status(page, text: str, timeout: int = 180_000) -> str:
    page.wait_for_function(
        "t => (document.querySelector('#library-status')?.innerText || '').includes(t)", arg=text, timeout=timeout)
    return page.locator("#library-status").inner_text()


def _pick(page, selector: str, typed: str, option: str):
    page.locator(f"{selector} input").click()
    page.locator(f"{selector} input").fill(typed)
    page.locator("[role=option]", has_text=option).first.click()


def test_upload_remove_restore_seen_by_every_tab(app, two_browsers):
    browser_a, browser_b = two_browsers
    a = open_page(browser_a, app.url)
    b_before = open_page(browser_b, app.url)  # opened before the upload, never reloaded
    try:
        _open_articles(a)
        _open_articles(b_before)
        assert "4 articles" in b_before.locator("#article-list").inner_text()
        assert "from 4 stored articles" in b_before.locator("#header").inner_text()

        ferry = app.tmp / "ferry-aground.md"
        ferry.write_text(FERRY, encoding="utf-8")
        a.locator("#upload input[type=file]").set_input_files(str(ferry))
        assert "Ferry runs aground off Sand Island" in _status(a, "Added and indexed")
        # the upload box is emptied: the next upload does not send the ferry again
        a.wait_for_function("!document.querySelector('#upload')?.innerText.includes('ferry-aground.md')",
                            timeout=15_000)

        # the tab opened before lists, counts and searches it without a reload
        _listed(b_before, "Ferry runs aground off Sand Island")
        assert "5 articles" in b_before.locator("#article-list").inner_text()
        assert "from 5 stored articles" in b_before.locator("#header").inner_text()
        turn, _ = ask(b_before, QUESTION)
        assert "214 passengers" in turn.locator(".answer-text").inner_text()
        assert turn.locator(".src-card .src-title").first.inner_text().strip() == "Ferry runs aground off Sand Island"
        screenshot(b_before, "library-01-other-tab-sees-upload")

        # a tab opened after lists it too
        b_after = open_page(browser_b, app.url)
        _open_articles(b_after)
        _listed(b_after, "Ferry runs aground off Sand Island")
        b_after.close()

        # remove from tab A: asked first; Cancel keeps it
        _pick(a, "#remove-choice", "Ferry runs", "Ferry runs aground off Sand Island (ferry-aground)")
        a.click("#remove")
        a.locator("#confirm-yes").wait_for(state="visible", timeout=15_000)
        assert "moved to the trash" in a.locator("#confirm-text").inner_text()
        screenshot(a, "library-02-confirm-remove")
        a.click("#confirm-no")
        a.locator("#confirm-yes").wait_for(state="hidden", timeout=15_000)
        assert (app.corpus / "ferry-aground.md").exists()
        _pick(a, "#remove-choice", "Ferry runs", "Ferry runs aground off Sand Island (ferry-aground)")
        a.click("#remove")
        a.locator("#confirm-yes").click()
        assert "Removed “Ferry runs aground off Sand Island”" in _status(a, "Removed")
        assert not (app.corpus / "ferry-aground.md").exists()
        assert list((app.corpus / ".trash").rglob("ferry-aground.md"))  # kept, restorable

        # tab B no longer lists or searches it
        _listed(b_before, "Ferry runs aground off Sand Island", present=False)
        assert "from 4 stored articles" in b_before.locator("#header").inner_text()
        turn, _ = ask(b_before, QUESTION)
        assert "214" not in turn.locator(".answer-text").inner_text()
        assert "Ferry runs aground" not in " ".join(turn.locator(".src-card .src-title").all_inner_texts())

        # restored from the trash: back in the folder, the list and the answers
        _pick(a, "#trash-choice", "Ferry", "Ferry runs aground off Sand Island")
        a.click("#restore")
        assert "Restored “Ferry runs aground off Sand Island”" in _status(a, "Restored")
        assert (app.corpus / "ferry-aground.md").read_text(encoding="utf-8") == FERRY
        _listed(b_before, "Ferry runs aground off Sand Island")
        turn, _ = ask(b_before, QUESTION)
        assert "214 passengers" in turn.locator(".answer-text").inner_text()
        screenshot(a, "library-03-restored")
        assert a.dialogs == [] and b_before.dialogs == []
    finally:
        a.close()
        b_before.close()
