"""Search: a question → the passages to answer from.

- ``retrieve``: dense and BM25 retrievers behind one interface, reciprocal-rank fusion (``fuse``), ``diversify``.
- ``rewrite``: follow-up questions keep the conversation's subject (``resolve``, ``rewrite_query``).
- ``timeparse``: time words ("last week", "in March") → a range of publication dates (``parse_time``).

Imports the shared top-level modules and ``store``."""

__all__ = ["retrieve", "rewrite", "timeparse"]
