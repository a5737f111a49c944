"""Answer questions about a collection of news articles, citing verbatim quotes.

Stages: load → chunk → embed → index (store) → retrieve → answer; ``Assistant`` ties
them together over a built index and ``build_index`` builds or updates one. The names
below are imported on first use, so ``assistant ask`` never pays for the build stages."""
from __future__ import annotations

import importlib

_WHERE = {
    "build_index": "build", "Assistant": "engine", "AssistantError": "errors", "Settings": "settings",
    "Answer": "types", "Article": "types", "BuildReport": "types", "Chunk": "types", "Citation": "types", "Hit": "types",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
