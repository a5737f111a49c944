"""Shared test fakes and data paths, imported one way everywhere
(``from tests.fakes import HashEncoder, SEED_CORPUS``); tests/conftest.py turns them into fixtures."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

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
