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
def seed_corpus(tmp_path):
    """A private copy of the seed corpus (tests may change it)."""
    dst = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, dst)
    return dst


@pytest.fixture(scope="session")
def real_encoder():
    from assistant.embed import load_encoder

    return load_encoder()
