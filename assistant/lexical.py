"""Lexical side of retrieval: one tokenizer (lower-case words, English stopwords,
Snowball stemming) shared by BM25 (``bm25s``) and the answer stage's term matching."""
from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Sequence

import numpy as np

_WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    # question words matter for the answer type, not for matching passages
    extra = {"how", "much", "many", "what", "which", "who", "whom", "whose", "why", "when", "where", "does",
             "did", "do", "could", "would", "should", "can", "may", "might", "must", "shall", "whi", "doe"}
    return frozenset(STOPWORDS_EN) | extra


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def terms(text: str) -> list[str]:
    """Stemmed content terms of ``text``, in order (repeats kept)."""
    stop = _stopwords()
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in stop]


class LexicalIndex:
    """BM25 over chunk texts, plus document frequencies for term weighting."""

    def __init__(self, texts: Sequence[str]):
        import bm25s

        tokens = [terms(t) for t in texts]
        self.n = len(tokens)
        self._bm25 = bm25s.BM25()
        # an empty-token document keeps bm25s happy when a chunk has no content terms
        self._bm25.index([t or [""] for t in tokens], show_progress=False)
        df = Counter()
        for t in tokens:
            df.update(set(t))
        self._df = df

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency (unknown terms get the highest weight)."""
        return math.log(1.0 + (self.n + 1) / (self._df.get(term, 0) + 0.5))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk (zeros when no query term is known)."""
        ids = self._bm25.get_tokens_ids(list(query_terms))
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)
