"""What the pipeline needs from an embedding model: the small ``Encoder`` interface, the
span fallback for encoders without ``encode_spans``, and the row normalisation both
runtimes share. Nothing here loads a model."""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np


class Encoder(Protocol):
    """What the pipeline needs from a model."""

    name: str  # recorded in the index manifest
    dim: int
    max_tokens: int  # the most model tokens one text may have without truncation

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, shape (len(texts), dim)."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The number of model tokens of each text (special tokens excluded)."""

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of the texts and, for each text, one vector per character span of it
        (L2-normalised). Optional: the pipeline falls back to ``encode`` on the span texts."""


def encode_spans(encoder: Encoder, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """``encoder.encode_spans`` when the encoder has it, else every span encoded on its own."""
    if hasattr(encoder, "encode_spans"):
        return encoder.encode_spans(texts, spans)
    vecs = encoder.encode(texts)
    flat = [t[a:b] for t, sp in zip(texts, spans) for a, b in sp]
    flat_vecs = encoder.encode(flat) if flat else np.zeros((0, vecs.shape[1]), dtype=np.float32)
    out, i = [], 0
    for sp in spans:
        out.append(flat_vecs[i : i + len(sp)])
        i += len(sp)
    return vecs, out


def normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(m / norms, dtype=np.float32)
