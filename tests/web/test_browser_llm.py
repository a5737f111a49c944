"""The written answer in a real browser: ``app.py --llm`` (through ASSISTANT_LLM_URL) over
a temp copy of the seed corpus, against the fake OpenAI-compatible server of
tests/llm_fakes.py sending its reply slowly. The text appears while it streams, then each
sentence is marked; the quoted answer and its source card stay under it."""
from __future__ import annotations

import shutil

import pytest

from tests.browser_helpers import ask, screenshot, start_app
from tests.llm_fakes import Behaviour, start_fake_llm

pytestmark = pytest.mark.browser

REPLY = "Musan Mine has over 20,000 employees [1]. It employs 40,000 miners [1]."


@pytest.fixture(scope="module")
def fake():
    server = start_fake_llm()
    yield server
    server.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory, fake):
    from tests.fakes import SEED_CORPUS

    tmp = tmp_path_factory.mktemp("browser-llm")
    corpus, index = tmp / "corpus", tmp / "index"
    shutil.copytree(SEED_CORPUS, corpus)
    mp = pytest.MonkeyPatch()
    mp.setenv("ASSISTANT_LLM_URL", fake.url)
    mp.setenv("ASSISTANT_LLM_API_KEY", "sk-browser-SECRET")
    try:
        running = start_app(index, corpus, tmp / "app.log")
    finally:
        mp.undo()
    try:
        yield running
    finally:
        running.stop()
        assert "sk-browser-SECRET" not in running.log()


def test_the_written_answer_streams_then_each_sentence_is_marked(page, fake):
    fake.behaviour = Behaviour(reply=REPLY, gap=0.25)
    turn, _ = ask(page, "How many people work at Musan Mine?")
    page.wait_for_selector("#chat .turn .written.streaming .w-raw", timeout=30_000)
    streamed = turn.locator(".w-raw").inner_text()
    page.wait_for_selector("#chat .turn .written.ok", timeout=60_000)
    assert REPLY.startswith(streamed.strip()) and len(streamed.strip()) < len(REPLY)  # seen part-way
    ok = turn.locator(".written .w-ok")
    bad = turn.locator(".written .w-bad")
    assert ok.count() == 1 and "20,000 employees" in ok.inner_text()
    assert bad.count() == 1 and "40,000" in turn.locator(".written .w-why").inner_text()
    assert turn.locator(".written .src-card .passage mark").count() == 1  # the verified passage it cites
    assert "20,000" in turn.locator(".answer > .answer-text").inner_text()  # the quoted answer stays
    assert "sk-browser-SECRET" not in page.content()
    screenshot(page, "llm-01-written-answer")


def test_a_server_fault_shows_the_quoted_answer_with_one_notice(page, fake):
    fake.behaviour = Behaviour(mode="status", status=500)
    turn, _ = ask(page, "How many people work at Musan Mine?")
    page.wait_for_selector("#chat .turn .written-notice", timeout=60_000)
    assert "HTTP 500" in turn.locator(".written-notice").inner_text()
    assert "20,000" in turn.locator(".answer > .answer-text").inner_text()
