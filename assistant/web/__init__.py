"""The web page (Gradio), started by ``app.py``.

- ``ui``: ``build_app(assistant, settings) -> gr.Blocks``; each browser tab keeps its own conversation.
- ``render``: answers and articles → escaped HTML (pure functions).
- ``library``: the page's article panel — upload, list, remove, example questions (``Library``).
- ``access``: who may use the app and change its library (``Access``: users, editors, read-only).

A shell: imports anything below it; nothing in the package imports it."""

__all__ = ["access", "library", "render", "ui"]
