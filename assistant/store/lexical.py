"""The lexical index stored beside the vectors: BM25 (``bm25s``) over the chunks' terms
(``assistant.terms``), plus document frequencies for term weighting."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from ..terms import terms


class LexicalIndex:
    """BM25 (``bm25s``) over chunk texts, plus document frequencies for term weighting.
    Built from texts, or loaded (memory-mapped) from the arrays ``save`` wrote."""

    def __init__(self, texts: Sequence[str] = ()):
        builder = LexicalBuilder()
        builder.add(texts)
        built = builder.finish(len(texts))
        self.n, self._bm25 = built.n, built._bm25

    @classmethod
    def _of(cls, bm25, n: int) -> "LexicalIndex":
        self = cls.__new__(cls)
        self.n, self._bm25 = n, bm25
        return self

    def save(self, folder: str | Path) -> None:
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: str | Path, mmap: bool = True) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=mmap)
        return cls._of(bm25, int(bm25.scores["num_docs"]))

    def df(self, term: str) -> int:
        """How many chunks hold ``term`` (a BM25 score is stored for each of them)."""
        i = self._bm25.vocab_dict.get(term)
        if i is None or not term:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[i + 1] - indptr[i])

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency (unknown terms get the highest weight)."""
        return math.log(1.0 + (self.n + 1) / (self.df(term) + 0.5))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk (zeros when no query term is known)."""
        ids = self._bm25.get_tokens_ids([t for t in query_terms if t])
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)


class LexicalBuilder:
    """Collects chunk texts batch by batch as compact token ids (not strings), then builds
    the BM25 index once."""

    def __init__(self):
        self.vocab: dict[str, int] = {"": 0}  # the empty token stands in for a chunk with no content terms
        self.ids: list[np.ndarray] = []  # int32 per chunk: 4 bytes a token, not a Python int each

    def add(self, texts: Sequence[str]) -> None:
        vocab = self.vocab
        for t in texts:
            self.ids.append(np.asarray([vocab.setdefault(w, len(vocab)) for w in terms(t)] or [0], dtype=np.int32))

    def finish(self, n: int) -> LexicalIndex:
        import bm25s
        from bm25s.tokenization import Tokenized

        bm25 = bm25s.BM25()
        bm25.index(Tokenized(ids=self.ids, vocab=self.vocab), show_progress=False)
        self.ids = []
        return LexicalIndex._of(bm25, n)
