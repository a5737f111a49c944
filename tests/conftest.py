"""Shared fixtures. Unit tests use ``HashEncoder``: a tiny deterministic bag-of-words
encoder (no model, no download). Integration tests marked ``model`` use the real
packaged model through the session-scoped ``real_encoder`` fixture."""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED_CORPUS = ROOT / "corpus"

_WORD = re.compile(r"\w+", re.UNICODE)


class HashEncoder:
    """Deterministic encoder: hashed, lower-cased word counts, L2-normalised.
    ``max_tokens`` counts whitespace words, small enough to exercise chunk limits."""

    name = "hash-encoder"

    def __init__(self, dim: int = 256, max_tokens: int = 512):
        self.dim = dim
        self.max_tokens = max_tokens
        self.calls = 0
        self.encoded = 0

    def _bucket(self, word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % self.dim

    def encode(self, texts):
        self.calls += 1
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in _WORD.findall(t.lower()):
                out[i, self._bucket(w)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]


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
