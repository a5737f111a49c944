"""The model client: an OpenAI-compatible ``/chat/completions`` endpoint (llama.cpp
server, Ollama, vLLM, a hosted API), streamed over plain ``httpx``. ``LLMConfig`` is
made once at the edge (``config_from_env``); the key lives only in it (never in its
repr, a message, a log line, an index or the page). Every fault becomes an
``LLMError`` whose text says what went wrong and how to fix it, without the key."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from ..errors import AssistantError

DEFAULT_FIRST_TOKEN_TIMEOUT = 10.0  # seconds to the first written word
DEFAULT_TOTAL_TIMEOUT = 60.0  # seconds for the whole reply
DEFAULT_MAX_CHARS = 1200  # a longer reply is refused (the prompt asks for three sentences)
DEFAULT_MAX_TOKENS = 300


class LLMConfigError(AssistantError):
    """--llm / ASSISTANT_LLM_* are set to something unusable."""


class LLMError(Exception):
    """The model server did not give a usable reply; ``str(e)`` is the one-line notice."""


@dataclass(frozen=True)
class LLMConfig:
    """Where the written answers come from. ``api_key`` is read from
    ASSISTANT_LLM_API_KEY only and never shown (``repr`` leaves it out)."""

    url: str  # base URL, e.g. http://127.0.0.1:8080/v1 (…/chat/completions is appended)
    model: str = ""  # "" = the first model the server lists (/models)
    api_key: str = field(default="", repr=False)
    first_token_timeout: float = DEFAULT_FIRST_TOKEN_TIMEOUT
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    max_chars: int = DEFAULT_MAX_CHARS
    max_tokens: int = DEFAULT_MAX_TOKENS

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", base_url(self.url))
        for name in ("first_token_timeout", "total_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value <= 3600:
                raise LLMConfigError(f"{name} must be a number of seconds between 0 and 3600 (got {value!r}).")
        if not isinstance(self.max_chars, int) or self.max_chars < 50:
            raise LLMConfigError(f"max_chars must be a whole number of at least 50 (got {self.max_chars!r}).")

    @property
    def shown_url(self) -> str:
        """The URL without user:password@ or a query (what messages may show)."""
        return shown(self.url)

    def describe(self) -> dict:
        """What a report may record about the model (no key)."""
        return {"url": self.shown_url, "model": self.model or None, "first_token_timeout": self.first_token_timeout,
                "total_timeout": self.total_timeout, "max_chars": self.max_chars, "key_set": bool(self.api_key)}


def base_url(url: str) -> str:
    """``http://host:8080``, ``…/v1`` or ``…/v1/chat/completions`` → the base URL to which
    ``/chat/completions`` is appended (``/v1`` added when the URL has no path)."""
    if not isinstance(url, str) or not url.strip():
        raise LLMConfigError("The model server URL is empty: pass --llm http://127.0.0.1:8080/v1 "
                             "or set ASSISTANT_LLM_URL (see docs/llm.md).")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LLMConfigError(f"{shown(url)!r} is not an http(s) URL: pass the server's base URL, "
                             "e.g. --llm http://127.0.0.1:8080/v1 (see docs/llm.md).")
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions"):
        path = path[: -len("/chat/completions")]
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def shown(url: str) -> str:
    try:
        p = urlsplit(url)
        host = p.hostname or ""
        netloc = host + (f":{p.port}" if p.port else "")
        return urlunsplit((p.scheme, netloc, p.path, "", ""))
    except ValueError:
        return "(the configured URL)"


def config_from_env(environ: Mapping[str, str] | None = None, url: str | None = None) -> LLMConfig | None:
    """The model configuration from ``--llm URL`` (``url``) or ASSISTANT_LLM_URL, with
    ASSISTANT_LLM_MODEL, ASSISTANT_LLM_API_KEY, ASSISTANT_LLM_TIMEOUT (seconds to the first
    token) and ASSISTANT_LLM_MAX_CHARS; None when no URL is set (written answers off)."""
    environ = os.environ if environ is None else environ
    url = url or environ.get("ASSISTANT_LLM_URL") or ""
    if not url.strip():
        return None
    values: dict = {}
    for name, key, kind in (("ASSISTANT_LLM_TIMEOUT", "first_token_timeout", float),
                            ("ASSISTANT_LLM_TOTAL_TIMEOUT", "total_timeout", float),
                            ("ASSISTANT_LLM_MAX_CHARS", "max_chars", int)):
        raw = (environ.get(name) or "").strip()
        if raw:
            try:
                values[key] = kind(raw)
            except ValueError:
                raise LLMConfigError(f"{name}={raw!r} is not a number: set it to e.g. "
                                     f"{kind(getattr(LLMConfig, key, 10))!r}, or unset it.") from None
    return LLMConfig(url=url, model=(environ.get("ASSISTANT_LLM_MODEL") or "").strip(),
                     api_key=(environ.get("ASSISTANT_LLM_API_KEY") or "").strip(), **values)


@dataclass
class Stream:
    """Timing of one reply (seconds from the request), filled in as it streams."""

    first_token_s: float | None = None
    total_s: float | None = None
    finish: str | None = None
    model: str = ""


class ChatClient:
    """``stream(messages)`` yields the reply's text pieces as they arrive; one client
    (one connection pool) serves every question. Thread-safe (httpx.Client is)."""

    def __init__(self, config: LLMConfig, transport=None):
        import httpx

        self.config = config
        self._httpx = httpx
        headers = {"Accept": "text/event-stream, application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        t = config.first_token_timeout
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(t, connect=min(t, 5.0)),
                                    transport=transport, follow_redirects=False, trust_env=False)
        self._model = config.model

    def close(self) -> None:
        self._client.close()

    def model(self) -> str:
        """The configured model, else the first the server lists (asked once)."""
        if not self._model:
            try:
                r = self._client.get(self.config.url + "/models")
                r.raise_for_status()
                data = r.json().get("data") or []
                self._model = str(data[0]["id"]) if data else "default"
            except self._httpx.HTTPError:
                raise LLMError(self._unreachable("listing models")) from None
            except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                self._model = "default"  # a server without /models: it serves one model anyway
        return self._model

    def stream(self, messages: Sequence[dict], timing: Stream | None = None) -> Iterator[str]:
        """The reply's text as it arrives. Raises LLMError on any fault: unreachable, no
        first token within ``first_token_timeout``, the whole reply over ``total_timeout``
        or ``max_chars``, an HTTP error, a body that is not the OpenAI shape, a stream that
        stops without its end, an empty reply."""
        httpx = self._httpx
        cfg = self.config
        timing = timing if timing is not None else Stream()
        t0 = time.perf_counter()
        body = {"model": self.model(), "messages": list(messages), "stream": True, "temperature": 0,
                "max_tokens": cfg.max_tokens}
        timing.model = body["model"]
        got = 0
        try:
            with self._client.stream("POST", cfg.url + "/chat/completions", json=body) as r:
                if r.status_code >= 400:
                    r.read()
                    raise LLMError(self._http_error(r))
                ctype = r.headers.get("content-type", "")
                if "text/event-stream" not in ctype:  # a server that ignores "stream": one JSON body
                    r.read()
                    text, timing.finish = _whole(r.text)
                    self._check_deadline(t0)
                    timing.first_token_s = timing.total_s = time.perf_counter() - t0
                    if text.strip():
                        _limit(text, cfg.max_chars)
                        yield text
                    else:
                        raise LLMError("the model server sent an empty reply")
                    return
                done = False
                for data in _events(r.iter_lines()):
                    if data == "[DONE]":
                        done = True
                        break
                    piece, finish = _delta(data)
                    if finish:
                        timing.finish = finish
                    if piece:
                        if timing.first_token_s is None:
                            timing.first_token_s = time.perf_counter() - t0
                            if timing.first_token_s > cfg.first_token_timeout:
                                raise LLMError(self._slow())
                        got += len(piece)
                        if got > cfg.max_chars:
                            raise LLMError(f"the model's reply ran over {cfg.max_chars} characters "
                                           "(ASSISTANT_LLM_MAX_CHARS)")
                        yield piece
                    elif timing.first_token_s is None and time.perf_counter() - t0 > cfg.first_token_timeout:
                        raise LLMError(self._slow())
                    self._check_deadline(t0)
                if timing.finish == "length":
                    raise LLMError(f"the model's reply was longer than its {cfg.max_tokens}-token limit")
                if not done and timing.finish is None:
                    raise LLMError("the model's reply stopped mid-stream (the connection closed before its end)")
                if not got:
                    raise LLMError("the model server sent an empty reply")
        except httpx.TimeoutException:
            raise LLMError(self._slow() if timing.first_token_s is None else
                           f"the model server stalled for over {cfg.first_token_timeout:g} s mid-reply") from None
        except (httpx.RemoteProtocolError, httpx.ReadError):
            raise LLMError("the model's reply stopped mid-stream (the connection closed before its end)") from None
        except httpx.HTTPError:
            raise LLMError(self._unreachable("connecting")) from None
        finally:
            timing.total_s = time.perf_counter() - t0

    def _check_deadline(self, t0: float) -> None:
        if time.perf_counter() - t0 > self.config.total_timeout:
            raise LLMError(f"the model took over {self.config.total_timeout:g} s (ASSISTANT_LLM_TOTAL_TIMEOUT)")

    def _slow(self) -> str:
        return (f"the model server at {self.config.shown_url} gave no answer within "
                f"{self.config.first_token_timeout:g} s (raise ASSISTANT_LLM_TIMEOUT for a slow model)")

    def _unreachable(self, doing: str) -> str:
        return (f"the model server at {self.config.shown_url} could not be reached ({doing}); "
                "is it running, and is --llm / ASSISTANT_LLM_URL its base URL?")

    def _http_error(self, r) -> str:
        hint = {401: "check ASSISTANT_LLM_API_KEY", 403: "check ASSISTANT_LLM_API_KEY",
                404: "check the URL (it should end in /v1) and ASSISTANT_LLM_MODEL",
                429: "the server is rate-limiting; try again later"}.get(r.status_code, "see the server's log")
        return f"the model server answered HTTP {r.status_code} ({hint})"


def _events(lines: Iterator[str]) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent event stream (comments and other fields skipped)."""
    for line in lines:
        if line.startswith("data:"):
            yield line[5:].strip()


def _delta(data: str) -> tuple[str, str | None]:
    try:
        obj = json.loads(data)
        choice = obj["choices"][0] if obj.get("choices") else {}
        if "error" in obj and not choice:
            raise LLMError("the model server reported an error mid-reply")
        content = (choice.get("delta") or {}).get("content") or ""
        if not isinstance(content, str):
            raise TypeError
        return content, choice.get("finish_reason")
    except LLMError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise LLMError("the model server sent a reply that is not the OpenAI chat format") from None


def _whole(text: str) -> tuple[str, str | None]:
    try:
        choice = json.loads(text)["choices"][0]
        content = choice["message"]["content"] or ""
        if not isinstance(content, str):
            raise TypeError
        return content, choice.get("finish_reason")
    except (ValueError, KeyError, TypeError, IndexError):
        raise LLMError("the model server sent a reply that is not the OpenAI chat format") from None


def _limit(text: str, max_chars: int) -> None:
    if len(text) > max_chars:
        raise LLMError(f"the model's reply ran over {max_chars} characters (ASSISTANT_LLM_MAX_CHARS)")
