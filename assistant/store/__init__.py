"""Store: the index on disk, and building it from a corpus.

- ``index``: the index folder and its manifest — write (``IndexWriter``), read (``load_index``, ``StoredIndex``), lock.
- ``ann``: the vector index types (flat, HNSW, IVF-PQ) over FAISS.
- ``lexical``: the BM25 index stored beside the vectors (``LexicalIndex``).
- ``build``: load → chunk → embed → write, embedding only new or changed articles (``build_index``).
- ``distributed``: the same chunking and embedding on a Ray cluster (``ray_embedder``; the ``scale`` extra).

Imports the shared top-level modules, ``ingest`` and ``embed``."""

__all__ = ["ann", "build", "distributed", "index", "lexical"]
