"""The retrieval stage: dense (FAISS) and lexical (BM25) candidates fused by reciprocal
rank, then diversified so one article cannot fill every slot."""
from __future__ import annotations

from typing import Collection, Sequence

import numpy as np

from .lexical import LexicalIndex, terms
from .store import StoredIndex
from .types import Hit


class Retriever:
    def __init__(self, stored: StoredIndex, lexical: LexicalIndex, rrf_k: int = 60, max_per_doc: int = 2):
        self.stored = stored
        self.lexical = lexical
        self.rrf_k = rrf_k
        self.max_per_doc = max_per_doc

    def rows_for(self, doc_ids: Collection[str] | None) -> np.ndarray | None:
        if doc_ids is None:
            return None
        return self.stored.chunks.rows_of(doc_ids)

    def dense(self, qvec: np.ndarray, n: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top ``n`` (row, cosine) by inner product, optionally within ``rows``."""
        if rows is not None:
            sims = self.stored.chunk_vectors(rows) @ qvec
            top = np.argsort(-sims, kind="stable")[:n]
            return [(int(rows[i]), float(sims[i])) for i in top]
        n = min(n, len(self.stored.chunks))
        scores, ids = self.stored.faiss_index.search(qvec.reshape(1, -1).astype(np.float32), n)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def bm25(self, query: str, n: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        scores = self.lexical.scores(terms(query))
        if rows is not None:
            masked = np.full_like(scores, -1.0)
            masked[rows] = scores[rows]
            scores = masked
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def search(
        self,
        query: str,
        qvec: np.ndarray | None,
        k: int,
        mode: str = "hybrid",
        candidates: int = 50,
        doc_ids: Collection[str] | None = None,
    ) -> list[Hit]:
        """The top ``k`` hits (at least ``k``; up to 10 for document-level metrics)."""
        rows = self.rows_for(doc_ids)
        dense = self.dense(qvec, candidates, rows) if mode in ("hybrid", "dense") and qvec is not None else []
        lexical = self.bm25(query, candidates, rows) if mode in ("hybrid", "bm25") else []
        fused: dict[int, float] = {}
        for ranked in (dense, lexical):
            for r, (row, _) in enumerate(ranked, start=1):
                fused[row] = fused.get(row, 0.0) + 1.0 / (self.rrf_k + r)
        dense_of = dict(dense)
        lex_of = dict(lexical)
        order = sorted(fused, key=lambda row: (-fused[row], row))
        order = diversify(order, [self.stored.chunks.doc_id(r) for r in order], max(k, 10), self.max_per_doc)
        hits = []
        for rank, row in enumerate(order, start=1):
            c = self.stored.chunks[row]
            hits.append(Hit(c, self.stored.articles.titles[c.doc_id], fused[row], rank, dense_of.get(row), lex_of.get(row)))
        return hits


def diversify(order: Sequence[int], docs: Sequence[str], n: int, max_per_doc: int) -> list[int]:
    """Keep rank order but let each document take at most ``max_per_doc`` of the first
    slots; the rest follow in their original order, up to ``n`` in all."""
    first, rest, per = [], [], {}
    for row, doc in zip(order, docs):
        per[doc] = per.get(doc, 0) + 1
        (first if per[doc] <= max_per_doc else rest).append(row)
    return (first + rest)[:n]
