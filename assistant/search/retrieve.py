"""The retrieval stage: retrievers behind one interface (dense FAISS, lexical BM25), their
rankings fused by reciprocal rank (``fuse``), then diversified so one article cannot fill
every slot. A retrieval mode names the retrievers it combines (``MODES``)."""
from __future__ import annotations

from typing import Collection, Protocol, Sequence

import numpy as np

from ..settings import RETRIEVERS
from ..store.index import StoredIndex
from ..store.lexical import LexicalIndex
from ..terms import terms
from ..types import Hit

Ranking = list[tuple[int, float]]  # (chunk row, the retriever's own score), best first

# which retrievers each mode of Settings.retriever combines
MODES: dict[str, tuple[str, ...]] = {"hybrid": ("dense", "bm25"), "dense": ("dense",), "bm25": ("bm25",)}
assert set(MODES) == set(RETRIEVERS)


class ChunkRetriever(Protocol):
    """One way of ranking the chunk rows for a query."""

    def search(self, query: str, qvec: np.ndarray | None, n: int, rows: np.ndarray | None = None) -> Ranking:
        """The best ``n`` rows (optionally only among ``rows``), best first."""


class DenseRetriever:
    """Cosine similarity (inner product of normalised vectors) through FAISS; exact over
    ``rows`` when the search is restricted. Ranks nothing without a query vector."""

    def __init__(self, stored: StoredIndex):
        self.stored = stored

    def search(self, query: str, qvec: np.ndarray | None, n: int, rows: np.ndarray | None = None) -> Ranking:
        if qvec is None:
            return []
        if rows is not None:
            sims = self.stored.chunk_vectors(rows) @ qvec
            top = np.argsort(-sims, kind="stable")[:n]
            return [(int(rows[i]), float(sims[i])) for i in top]
        n = min(n, len(self.stored.chunks))
        scores, ids = self.stored.faiss_index.search(qvec.reshape(1, -1).astype(np.float32), n)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


class LexicalRetriever:
    """BM25 over the chunk texts; rows with no query term are not ranked."""

    def __init__(self, lexical: LexicalIndex):
        self.lexical = lexical

    def search(self, query: str, qvec: np.ndarray | None, n: int, rows: np.ndarray | None = None) -> Ranking:
        scores = self.lexical.scores(terms(query))
        if rows is not None:
            masked = np.full_like(scores, -1.0)
            masked[rows] = scores[rows]
            scores = masked
        n = min(n, len(scores))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def fuse(rankings: Sequence[Ranking], rrf_k: int = 60) -> Ranking:
    """Reciprocal rank fusion: each row scores the sum of ``1 / (rrf_k + rank)`` over the
    rankings it appears in (rank from 1). Best first; ties go to the lower row."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (row, _) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


class Retriever:
    """The retrievers of one index, combined per mode."""

    def __init__(self, stored: StoredIndex, lexical: LexicalIndex, rrf_k: int = 60, max_per_doc: int = 2):
        self.stored = stored
        self.rrf_k = rrf_k
        self.max_per_doc = max_per_doc
        self.dense = DenseRetriever(stored)
        self.retrievers: dict[str, ChunkRetriever] = {"dense": self.dense, "bm25": LexicalRetriever(lexical)}

    def rows_for(self, doc_ids: Collection[str] | None) -> np.ndarray | None:
        if doc_ids is None:
            return None
        return self.stored.chunks.rows_of(doc_ids)

    def search(
        self,
        query: str,
        qvec: np.ndarray | None,
        depth: int,
        mode: str = "hybrid",
        candidates: int = 50,
        doc_ids: Collection[str] | None = None,
        diversified: bool = True,
    ) -> list[Hit]:
        """The best ``depth`` hits: ``candidates`` rows from each retriever of ``mode``,
        fused, diversified: at most ``max_per_doc`` per article first (shown as related
        passages, and what the document-level metrics score). With ``diversified=False``,
        the best ``3 * depth`` in fused order whatever their article (what the answer stage
        reads)."""
        rows = self.rows_for(doc_ids)
        rankings = {name: self.retrievers[name].search(query, qvec, candidates, rows) for name in MODES[mode]}
        fused = fuse(list(rankings.values()), self.rrf_k)
        score = dict(fused)
        order = [row for row, _ in fused]
        if diversified:
            order = diversify(order, [self.stored.chunks.doc_id(r) for r in order], depth, self.max_per_doc)
        else:
            order = order[: 3 * depth]
        dense_of = dict(rankings.get("dense", ()))
        lex_of = dict(rankings.get("bm25", ()))
        hits = []
        for rank, row in enumerate(order, start=1):
            c = self.stored.chunks[row]
            hits.append(Hit(c, self.stored.articles.titles[c.doc_id], score[row], rank, dense_of.get(row), lex_of.get(row)))
        return hits


def diversify(order: Sequence[int], docs: Sequence[str], n: int, max_per_doc: int) -> list[int]:
    """Keep rank order but let each document take at most ``max_per_doc`` of the first
    slots; the rest follow in their original order, up to ``n`` in all."""
    first, rest, per = [], [], {}
    for row, doc in zip(order, docs):
        per[doc] = per.get(doc, 0) + 1
        (first if per[doc] <= max_per_doc else rest).append(row)
    return (first + rest)[:n]
