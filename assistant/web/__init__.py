"""The web page (Gradio), started by ``app.py``.

- ``ui``: ``build_app(assistant, settings) -> gr.Blocks``; each browser tab keeps its own conversation.
- ``render``: answers and articles → escaped HTML (pure functions).
- ``assets``: the page's CSS, JavaScript and theme (system fonts: nothing loaded from the network).
- ``examples``: short example questions from the newest articles (``example_questions``).
- ``library``: the page's article panel — upload, list, remove to a trash folder, restore
  (``Library``; it answers from the index's current generation).
- ``access``: who may use the app and change its library (``Access``: users, editors, read-only).
- ``written``: the checked written answer (``--llm``) as HTML, streaming then marked (``render_written``).

A shell: imports anything below it; nothing in the package imports it."""

__all__ = ["access", "assets", "examples", "library", "render", "ui", "written"]
