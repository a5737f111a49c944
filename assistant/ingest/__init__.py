"""Ingest: the first stage — files in, ``Article`` values out, cut into ``Chunk`` values.

- ``load``: a corpus path (folder, file, BEIR ``corpus.jsonl``, SQuAD JSON) → ``Article`` values (``load_corpus``).
- ``newsmeta``: publication date, source, author and URL of an article (``normalize_metadata``, ``info_of``).
- ``chunk``: sentence-aware, token-budgeted chunks (``chunk_article``, ``ChunkLimits``).
- ``dedup``: syndicated and near-duplicate articles found with MinHash (``find_duplicates``).

Imports only the shared top-level modules (types, errors, settings, text)."""

__all__ = ["chunk", "dedup", "load", "newsmeta"]
