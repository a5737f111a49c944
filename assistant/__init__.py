"""Answer questions about a collection of news articles, citing verbatim quotes.

One folder per stage, in the order the data passes through them: ``ingest`` (articles,
chunks) → ``embed`` (vectors) → ``store`` (the index on disk, and building it) →
``search`` (passages for a question) → ``answer`` (cited quotes or an abstention).
``engine.Assistant`` ties them together over a built index; ``evaluation`` and
``training`` sit above it; ``cli`` and ``web`` are the shells. ``types``, ``errors``,
``settings``, ``text``, ``terms`` and ``runtime`` are shared by all (docs/architecture.md).
The names below are imported on first use, so ``assistant ask`` never pays for the build stages."""
from __future__ import annotations

import importlib

_WHERE = {
    "build_index": "store.build", "Assistant": "engine", "AssistantError": "errors", "Settings": "settings",
    "Answer": "types", "Article": "types", "BuildReport": "types", "Chunk": "types", "Citation": "types", "Hit": "types",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
