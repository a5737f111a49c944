"""The chat in a real browser: ``app.py`` started as a subprocess over a temp copy of the
seed corpus (real packaged model), driven by Playwright through Debian's Chromium.

Screenshots of each state go to artifacts/screenshots/ (untracked). Timings (start →
ready with an existing index, question → rendered answer) are printed and written to
artifacts/screenshots/timings.json; they are measurements, not assertions."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.browser_helpers import SCREENSHOTS, ask, open_page, screenshot, start_app

pytestmark = pytest.mark.browser

MUSAN_Q = "How many people work at Musan Mine?"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app for the module. The first start builds the missing index (and is checked
    for it); the app under test is a second start over the now existing index, timed."""
    from tests.fakes import SEED_CORPUS

    tmp = tmp_path_factory.mktemp("browser")
    corpus, index = tmp / "corpus", tmp / "index"
    shutil.copytree(SEED_CORPUS, corpus)
    first = start_app(index, corpus, tmp / "first.log")
    first.stop()
    assert "Building index" in first.log() and "2 added" in first.log(), first.log()
    TIMINGS["start_to_ready_building_index_s"] = round(first.ready_seconds, 2)

    running = start_app(index, corpus, tmp / "app.log")
    assert "up to date" in running.log(), running.log()
    TIMINGS["start_to_ready_existing_index_s"] = round(running.ready_seconds, 2)
    try:
        yield running
    finally:
        running.stop()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2))
        print("\nbrowser timings:", json.dumps(TIMINGS))


def _titles(turn) -> list[str]:
    return [t.strip() for t in turn.locator(".src-card .src-title").all_inner_texts()]


def test_workforce_answer_shows_number_and_highlighted_quote(page):
    page.wait_for_timeout(300)
    screenshot(page, "01-empty")
    turn, seconds = ask(page, MUSAN_Q)
    TIMINGS["question_to_rendered_answer_s"] = round(seconds, 3)
    answer = turn.locator(".answer-text").inner_text()
    assert "20,000" in answer
    marks = turn.locator(".src-card .passage mark")
    assert marks.count() >= 1
    assert any("20,000" in m for m in marks.all_inner_texts())
    assert "Musan Mine operating at less than half full capacity" in _titles(turn)
    # the date and the source sit beside the title; the URL is a link
    meta = turn.locator(".src-card .src-meta").first.inner_text()
    assert "Daily NK" in meta and "2020-03" in meta
    assert turn.locator(".src-card a.src-url").first.get_attribute("href").startswith("https://www.dailynk.com/")
    screenshot(page, "02-answer")

    # [1] leads to its source card; the whole article opens with the quote highlighted
    turn.locator("a.cite").first.click()
    card = turn.locator(".src-card").first
    assert card.is_visible()
    card.locator("details.whole summary").click()
    whole = card.locator("details.whole .article-text")
    assert whole.is_visible()
    assert "20,000" in whole.locator("mark").inner_text()
    assert len(whole.inner_text()) > 2000  # the whole article, not the passage
    screenshot(page, "03-whole-article")


def test_follow_up_answered_from_the_same_article(page):
    ask(page, MUSAN_Q)
    turn, seconds = ask(page, "And what does its leadership earn?")
    TIMINGS["follow_up_to_rendered_answer_s"] = round(seconds, 3)
    assert turn.locator(".abstain").count() == 0
    titles = _titles(turn)
    assert titles and set(titles) == {"Musan Mine operating at less than half full capacity"}, titles
    assert "12,000" in turn.locator(".answer-text").inner_text()
    assert "Musan" in turn.locator(".query").inner_text()  # the rewritten query is shown
    screenshot(page, "04-follow-up")


def test_unanswerable_question_shows_abstention(page):
    turn, _ = ask(page, "What is the capital of France?")
    card = turn.locator(".abstain")
    assert card.count() == 1
    assert "Not in the articles" in card.inner_text()
    assert card.locator(".related li").count() >= 1
    assert turn.locator(".src-card").count() == 0
    screenshot(page, "05-abstention")


def test_markup_and_bad_input_are_shown_as_text(page):
    question = "<script>alert(1)</script>"
    turn, _ = ask(page, question)
    assert turn.locator(".user").inner_text() == question
    assert page.locator("#chat script").count() == 0
    ask(page, "<img src=x onerror=alert(2)>")
    assert page.locator("#chat img").count() == 0
    # an empty question adds no turn (and no "(empty question)")
    before = page.locator("#chat .turn").count()
    page.fill("#question textarea", "   ")
    page.click("#ask")
    page.wait_for_timeout(1500)
    assert page.locator("#chat .turn").count() == before and "(empty question)" not in page.content()
    # a question over the limit is rejected and stays in the box to be shortened
    turn, _ = ask(page, "x" * 100_000)
    assert "characters long" in turn.locator(".notice").inner_text()
    page.wait_for_function("document.querySelector('#question textarea').value.length === 100000", timeout=15_000)
    assert "Traceback" not in page.content()
    page.wait_for_timeout(300)
    assert page.dialogs == []
    screenshot(page, "06-bad-input")


def test_clear_and_settings(page):
    ask(page, MUSAN_Q)
    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chat .turn').length === 0")
    page.locator("#settings").get_by_text("Settings").first.click()
    boxes = page.locator("#docs").get_by_role("checkbox")
    boxes.nth(1).wait_for(state="visible", timeout=15_000)  # the accordion renders its content on opening
    assert boxes.count() == 2
    for i in range(boxes.count()):
        boxes.nth(i).uncheck()
    turn, _ = ask(page, MUSAN_Q)
    assert "No articles are selected" in turn.locator(".notice").inner_text()
    page.locator("#docs").get_by_role("checkbox", name="Musan mine").check()
    turn, _ = ask(page, "Which factory makes the rock drills used in Kaechon?")
    assert set(_titles(turn)) <= {"Musan mine"}  # only the selected article is searched
    screenshot(page, "07-settings")


def test_example_click_and_phone_width(browser, app):
    page = open_page(browser, app.url, width=390, height=844)
    try:
        # the examples are made from the corpus: short questions about the articles' subjects
        page.locator("#examples").get_by_text("What happened with Musan Mine?").click()
        page.wait_for_function("document.querySelectorAll('#chat .turn').length > 0", timeout=60_000)
        assert "Musan Mine" in page.locator("#chat .answer-text").last.inner_text()
        box = page.locator("#question").bounding_box()
        assert box["width"] >= 0.8 * 390, f"the question box is {box['width']}px wide at 390px"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
        screenshot(page, "08-phone")
        assert page.dialogs == []
    finally:
        page.close()


def test_an_earlier_turns_whole_article_is_fetched_when_opened(page):
    """Earlier turns do not carry their articles (the page would grow by whole articles
    each turn); opening one fetches it, quote highlighted."""
    ask(page, MUSAN_Q)
    ask(page, "Which factory makes the rock drills used in Kaechon?")
    first = page.locator("#chat .turn").first
    lazy = first.locator("details.whole .article-text[data-lazy]")
    assert lazy.count() >= 1
    card = first.locator(".src-card:has(details.whole)").first
    card.locator("details.whole summary").click()
    whole = card.locator("details.whole .article-text")
    whole.locator("mark").wait_for(timeout=15_000)
    assert "20,000" in whole.locator("mark").inner_text()
    assert len(whole.inner_text()) > 2000
    assert whole.get_attribute("data-lazy") is None
