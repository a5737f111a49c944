"""Shared fixtures. Unit tests use ``HashEncoder`` (tests/fakes.py): a tiny deterministic bag-of-words
encoder (no model, no download). Integration tests marked ``model`` use the real
packaged model through the session-scoped ``real_encoder`` fixture."""
from __future__ import annotations

import shutil

import pytest

from tests.fakes import SEED_CORPUS, HashEncoder


@pytest.fixture
def hash_encoder():
    return HashEncoder()


@pytest.fixture
def hash_model(monkeypatch):
    """Every model the code under test loads by name (``load_encoder``) is a ``HashEncoder``."""
    import assistant.embed.factory

    monkeypatch.setattr(assistant.embed.factory, "load_encoder", lambda *a, **k: HashEncoder())


@pytest.fixture
def seed_corpus(tmp_path):
    """A private copy of the seed corpus (tests may change it)."""
    dst = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, dst)
    return dst


@pytest.fixture(scope="session")
def real_encoder():
    from assistant.embed.factory import load_encoder

    return load_encoder()


# Browser tests: one Chromium per module, a fresh page (own conversation) per test, for the
# module's own ``app`` fixture.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.browser_helpers import launch_chromium

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, app):
    from tests.browser_helpers import open_page

    page = open_page(browser, app.url)
    yield page
    assert page.dialogs == [], f"a JavaScript dialog fired: {page.dialogs}"
    page.close()
