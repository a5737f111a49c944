"""Vector index types: exact (flat), HNSW, and IVF-PQ with exact re-ranking for large corpora.

``build`` turns L2-normalised vectors into a FAISS index and returns the parameters that
the manifest records; ``wrap`` makes a loaded index searchable. Every index answers
``search(queries, n) -> (scores, rows)`` and has ``ntotal``, like a FAISS index.

IVF-PQ keeps only product-quantised codes in memory (4-bit "fast scan" codes, 48 bytes a
vector at 384 dimensions, against 1,536 for flat) and re-ranks its best ``rerank`` candidates by their exact inner
product with the query, reading their full vectors from ``embeddings.npy`` on disk:
recall close to exact search for a fraction of the resident memory. It is trained on a
fixed-seed sample of the vectors; an incremental build reuses the previous training while
the corpus has not grown or shrunk more than fourfold."""
from __future__ import annotations

import math
import os
import weakref
from typing import Any

import numpy as np

from ..settings import INDEX_TYPES

AUTO_IVFPQ_FROM = 200_000  # "auto" picks ivfpq from this many vectors (docs/architecture.md "Choosing an index type")
HNSW_EF_SEARCH = 128
RERANK = 200  # IVF-PQ candidates re-ranked exactly
TRAIN_PER_LIST = 40  # training vectors per inverted list (k-means needs ~39 per centroid)


def resolve(kind: str, n: int) -> str:
    """The concrete index type for ``n`` vectors: ``auto`` is flat below AUTO_IVFPQ_FROM."""
    if kind == "auto":
        return "ivfpq" if n >= AUTO_IVFPQ_FROM else "flat"
    return kind


def ivfpq_params(n: int, dim: int) -> dict[str, Any]:
    """Parameters chosen by size: about 2·√n inverted lists (a power of two), 4-bit PQ
    codes with one sub-quantiser per 4 dimensions (FAISS "fast scan": 48 bytes a vector at
    384 dimensions, trained in seconds), enough lists probed for recall@10 ≥ 0.95 after
    re-ranking (bench/scale.py measures it)."""
    nlist = max(1, min(2 ** round(math.log2(max(2.0, 2 * math.sqrt(n)))), n // TRAIN_PER_LIST or 1))
    m = max(d for d in range(1, dim + 1) if dim % d == 0 and d <= max(1, dim // 4))
    nprobe = min(nlist, max(8, nlist // 32))
    train = min(n, max(TRAIN_PER_LIST * nlist, 16 * TRAIN_PER_LIST * 4))
    return {"type": "ivfpq", "nlist": nlist, "m": m, "nbits": 4, "nprobe": nprobe, "rerank": RERANK, "train_size": train}


def build(vectors: np.ndarray, kind: str = "flat", hnsw_m: int = 32, previous: Any = None,
          previous_params: dict | None = None) -> tuple[Any, dict[str, Any]]:
    """A FAISS index of ``vectors`` (inner product) and the parameters to record.
    ``previous``/``previous_params``: the index being replaced, whose IVF-PQ training is
    reused when it still fits the corpus size."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = resolve(kind, n)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
        index.hnsw.efSearch = HNSW_EF_SEARCH
        params = {"type": "hnsw", "m": hnsw_m, "ef_construction": 200, "ef_search": HNSW_EF_SEARCH}
    elif kind == "ivfpq" and n:
        index, params = _ivfpq(vectors, previous, previous_params)
        index.add(vectors)
        return index, params
    else:
        index = faiss.IndexFlatIP(dim)
        params = {"type": "flat"}
    if n:
        index.add(vectors)
    return index, params


def _ivfpq(vectors: np.ndarray, previous: Any, previous_params: dict | None):
    import faiss

    n, dim = vectors.shape
    old = previous_params or {}
    if isinstance(previous, Reranked):
        previous = previous.index
    if (old.get("type") == "ivfpq" and previous is not None and getattr(previous, "d", None) == dim
            and old.get("trained_for", 0) / 4 <= n <= old.get("trained_for", 0) * 4):
        index = faiss.clone_index(previous)
        index.reset()  # keeps the coarse centroids and PQ codebooks
        return index, dict(old)
    p = ivfpq_params(n, dim)
    index = faiss.index_factory(dim, f"IVF{p['nlist']},PQ{p['m']}x{p['nbits']}fs", faiss.METRIC_INNER_PRODUCT)
    index.cp.min_points_per_centroid = index.pq.cp.min_points_per_centroid = 1  # small corpora: no warnings
    sample = np.sort(np.random.default_rng(0).choice(n, p["train_size"], replace=False))
    train = vectors[sample]
    if len(train) < 16 * TRAIN_PER_LIST:  # a tiny corpus: repeat it, 4-bit codebooks need 16 points or more
        train = np.resize(train, (16 * TRAIN_PER_LIST, dim))
    index.train(train)  # k-means and PQ codebooks seeded (FAISS default seed): reproducible
    index.nprobe = p["nprobe"]
    return index, dict(p, trained_for=n)


def wrap(index: Any, params: dict | None, vectors: np.ndarray) -> Any:
    """A loaded FAISS index made searchable with its recorded parameters: IVF-PQ gets
    ``nprobe`` and exact re-ranking against ``vectors`` (memory-mapped from an .npy file:
    the candidates' rows are then read with ``pread``, so they stay out of the process's
    resident memory)."""
    params = params or {}
    if params.get("type") == "ivfpq":
        return Reranked(index, vectors, int(params["nprobe"]), int(params["rerank"]))
    if params.get("type") == "hnsw":
        index.hnsw.efSearch = int(params.get("ef_search", HNSW_EF_SEARCH))
    return index


class Reranked:
    """IVF-PQ candidates re-scored by their exact inner product with the query."""

    def __init__(self, index: Any, vectors: np.ndarray, nprobe: int, rerank: int):
        self.index = index
        self.nprobe = nprobe
        self.rerank = rerank
        self.d = index.d
        self._rows = _RowReader(vectors)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.d)
        self.index.nprobe = self.nprobe
        _, cand = self.index.search(queries, min(self.ntotal, max(n, self.rerank)))
        scores = np.full((len(queries), n), -np.inf, dtype=np.float32)
        rows = np.full((len(queries), n), -1, dtype=np.int64)
        for i, ids in enumerate(cand):
            ids = np.sort(ids[ids >= 0])  # ascending rows: the file is read in order
            sims = self._rows.take(ids) @ queries[i]
            top = np.argsort(-sims, kind="stable")[:n]
            scores[i, : len(top)] = sims[top]
            rows[i, : len(top)] = ids[top]
        return scores, rows


class _RowReader:
    """Rows of a float32 matrix. For a memory-mapped .npy file they are read with
    ``os.pread`` on a descriptor held open (so a generation deleted by a later build stays
    readable): touching rows through the map would add their pages, and the kernel's
    fault-around neighbours, to resident memory until the whole file is resident."""

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors
        self.fd = None
        filename = getattr(vectors, "filename", None)
        if isinstance(vectors, np.memmap) and filename and vectors.dtype == np.float32 and vectors.flags.c_contiguous:
            self.fd = os.open(filename, os.O_RDONLY)
            self.offset = int(vectors.offset)
            self.row_bytes = int(vectors.shape[1]) * 4
            weakref.finalize(self, os.close, self.fd)

    def take(self, ids: np.ndarray) -> np.ndarray:
        if self.fd is None:
            return np.asarray(self.vectors[ids], dtype=np.float32)
        rb, off = self.row_bytes, self.offset
        buf = b"".join(os.pread(self.fd, rb, off + int(i) * rb) for i in ids)
        return np.frombuffer(buf, dtype=np.float32).reshape(len(ids), -1)
