"""Generate (optional): written answers from the user's own model server (any
OpenAI-compatible ``/v1/chat/completions``), every sentence checked against the passages.
Off unless ``--llm URL`` / ASSISTANT_LLM_URL is set; nothing here is imported otherwise.

- ``client``: the streamed HTTP client (``ChatClient``, ``LLMConfig``, ``config_from_env``); httpx is imported only when a client is made.
- ``prompt``: the numbered passages and the messages (``select_passages``, ``build_messages``).
- ``facts``: numbers, amounts, dates and names of a sentence, normalised (``facts``, ``missing``).
- ``checker``: each written sentence against its cited passages (``check_reply``, ``THRESHOLD``).
- ``written``: stream, check, fall back (``stream_written``, ``write_answer``, ``Generated``).
- ``measure``: the checker's precision and recall on ``eval/written/sentences.json``.

Imports the shared top-level modules and ``ingest.newsmeta``; the shells and ``evaluation`` import it."""
from .checker import THRESHOLD, Checked, Passage, check_reply
from .client import ChatClient, LLMConfig, LLMConfigError, LLMError, config_from_env
from .written import Generated, stream_written, write_answer

__all__ = ["THRESHOLD", "ChatClient", "Checked", "Generated", "LLMConfig", "LLMConfigError", "LLMError", "Passage",
           "check_reply", "config_from_env", "stream_written", "write_answer"]
