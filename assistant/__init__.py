"""Answer questions about a collection of news articles, citing verbatim quotes.

Stages: load → chunk → embed → index (store) → retrieve → answer; ``Assistant`` ties
them together over a built index and ``build_index`` builds or updates one."""
from .build import build_index
from .engine import Assistant
from .errors import AssistantError
from .settings import Settings
from .types import Answer, Article, BuildReport, Chunk, Citation, Hit

__all__ = ["Answer", "Article", "Assistant", "AssistantError", "BuildReport", "Chunk", "Citation", "Hit", "Settings", "build_index"]
