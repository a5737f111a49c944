"""Encoders for the Ray tests, importable by Ray's worker processes (``tests.ray_helpers``)."""
from __future__ import annotations

import time

from tests.fakes import HashEncoder


class SlowHashEncoder(HashEncoder):
    """HashEncoder that takes a while per call, so a build lasts long enough to kill a worker."""

    def encode(self, texts):
        time.sleep(0.4)
        return super().encode(texts)


class PoisonHashEncoder(HashEncoder):
    """HashEncoder that fails on any text containing POISON (a batch that cannot succeed)."""

    def encode(self, texts):
        if any("POISON" in t for t in texts):
            raise ValueError("poisoned text")
        return super().encode(texts)
