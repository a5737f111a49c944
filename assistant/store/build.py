"""Build or update an index from a corpus, embedding only new or changed articles.

The model is created through ``encoder_factory`` only when something needs embedding,
so re-indexing an unchanged corpus loads no model and embeds nothing."""
from __future__ import annotations

import hashlib
import itertools
import json
import sys
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from ..embed.encoder import Encoder, encode_spans
from ..embed.factory import encoder_from_settings
from ..errors import AssistantError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from ..ingest.chunk import ChunkLimits, chunk_article, embed_text
from ..ingest.dedup import find_duplicates
from ..ingest.load import load_corpus
from ..settings import TOKEN_ENCODING, Settings
from ..text import split_sentences
from ..types import Article, BuildReport, Chunk
from .index import IndexWriter, StoredIndex, article_hash, index_lock, load_index, read_manifest

EMBED_SLAB = 256  # chunks per encode call and per write: bounds the build's memory
COPY_SLAB = 4096  # rows per batch when unchanged articles are copied from the previous index


@dataclass(frozen=True)
class Embedded:
    """Chunks of some articles, in order, with their vectors and their sentences' vectors."""

    chunks: list[Chunk]
    vectors: np.ndarray  # (len(chunks), dim) float32
    sentences: list[tuple[str, int, int]]
    sentence_vectors: np.ndarray  # (len(sentences), dim) float32
    dim: int
    max_tokens: int


# Chunks and embeds articles elsewhere (distributed.py runs it on Ray): yields the results of
# consecutive groups of the given articles, in their order.
ArticleEmbedder = Callable[[Sequence[Article], Settings, bool], Iterator[Embedded]]


def chunk_settings(settings: Settings) -> dict:
    return {
        "chunk_tokens": settings.chunk_tokens,
        "overlap_tokens": settings.overlap_tokens,
        "token_encoding": TOKEN_ENCODING,
        "index_type": settings.index_type,
        "hnsw_m": settings.hnsw_m,
    }


def build_index(
    corpus_path: str | Path,
    index_dir: str | Path,
    settings: Settings = Settings(),
    encoder: Encoder | None = None,
    encoder_factory: Callable[[], Encoder] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    embedder: ArticleEmbedder | None = None,
) -> BuildReport:
    """Build or update the index in ``index_dir``, one writer at a time (a second build
    waits for the first, then finds its work done). A failure to write (read-only or full
    disk) is an IndexWriteError; the previous index stays as it was. ``embedder``: chunks
    and embeds the new or changed articles instead of ``encoder`` in this process."""
    with index_lock(index_dir, log):
        return _build_locked(corpus_path, index_dir, settings, encoder, encoder_factory, progress, log, embedder)


def _build_locked(corpus_path, index_dir, settings: Settings, encoder, encoder_factory, progress: bool, log,
                  embedder: ArticleEmbedder | None = None) -> BuildReport:
    t0 = time.perf_counter()
    loaded = load_corpus(corpus_path)
    warnings = list(loaded.warnings)
    articles = within_size_limit(loaded.articles, settings.max_article_chars, warnings, log)
    model_name = encoder.name if encoder is not None else settings.model
    previous = _previous(index_dir, model_name, settings, log)

    old_hashes = {d: a["hash"] for d, a in previous.manifest["articles"].items()} if previous else {}
    new_hashes = {a.doc_id: article_hash(a) for a in articles}
    added = [d for d in new_hashes if d not in old_hashes]
    changed = [d for d in new_hashes if d in old_hashes and old_hashes[d] != new_hashes[d]]
    removed = [d for d in old_hashes if d not in new_hashes]
    unchanged = [d for d in new_hashes if old_hashes.get(d) == new_hashes[d]]

    if previous and not (added or changed or removed) and previous.manifest.get("settings") == chunk_settings(settings):
        dups = previous.manifest.get("duplicates") or {}
        return BuildReport(0, 0, 0, len(unchanged), len(previous.chunks), 0, time.perf_counter() - t0,
                           tuple(warnings), str(index_dir), _groups(dups))

    # Near-duplicate copies are listed, not indexed: only representatives get chunks.
    dups = find_duplicates(articles)
    copy_ids = {d for ds in dups.values() for d in ds}
    had_chunks = set(previous.chunks.doc_ids()) if previous else set()
    # Reuse rows of unchanged representatives; chunk and embed the rest, batch by batch.
    keep = {d for d in unchanged if d in had_chunks and d not in copy_ids}
    todo = [a for a in articles if a.doc_id not in keep and a.doc_id not in copy_ids]
    pieces, first = None, None
    if todo and embedder is not None:
        pieces = iter(embedder(todo, settings, progress))
        first = next(pieces, None)
        encoder = first or encoder  # stands in for the encoder: its dim sizes the writer, its max_tokens goes in the manifest
    if todo and encoder is None:
        encoder = (encoder_factory or (lambda: encoder_from_settings(settings)))()
    if encoder is not None and previous and previous.manifest.get("dim") not in (None, encoder.dim):
        raise IndexMismatchError("Encoder dimension differs from the index: rebuild into an empty --index folder.")
    dim = encoder.dim if encoder is not None else previous.manifest["dim"]
    by_id = {a.doc_id: a for a in articles}
    with IndexWriter(index_dir, dim, settings.index_type, settings.hnsw_m) as writer:
        if previous:
            _copy_unchanged(previous, [d for d in previous.articles if d in keep], by_id, writer)
        for a in articles:
            if a.doc_id in copy_ids:
                writer.add_article(a)  # stored for its date and source, not chunked
        if pieces is not None:
            embedded = _write_embedded(todo, [first] if first else [], pieces, writer)
        else:
            embedded = _embed_articles(encoder, todo, settings, writer, progress) if todo else 0
        if not writer.chunks:
            raise AssistantError("The corpus produced no text to index (every article is boilerplate or empty): add articles with body text.")
        manifest = {
            "model": model_name,
            "dim": dim,
            "max_tokens": encoder.max_tokens if encoder is not None else previous.manifest.get("max_tokens"),
            "settings": chunk_settings(settings),
            "corpus": str(corpus_path),
            "articles": {a.doc_id: {"hash": new_hashes[a.doc_id], "title": a.title} for a in articles},
            "counts": {"articles": len(articles), "chunks": writer.chunks, "sentences": writer.sentences},
            "content_hash": content_hash(model_name, chunk_settings(settings), new_hashes),
            "duplicates": dups,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        writer.commit(manifest, previous.faiss_index if previous else None,
                      previous.manifest.get("index") if previous else None)
    return BuildReport(
        len(added), len(changed), len(removed), len(unchanged), writer.chunks, embedded,
        time.perf_counter() - t0, tuple(warnings), str(index_dir), _groups(dups),
    )


def _groups(dups: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((rep, tuple(copies)) for rep, copies in sorted(dups.items()))


def within_size_limit(articles: list[Article], limit: int, warnings: list[str], log=None) -> list[Article]:
    """The articles whose text is at most ``limit`` characters; each one over it is skipped
    with a warning saying how to index it (one huge article would otherwise take hours)."""
    kept = []
    for a in articles:
        if len(a.text) <= limit:
            kept.append(a)
            continue
        warnings.append(
            f"{a.doc_id}: skipped, its text is {len(a.text):,} characters, over the per-article limit of {limit:,} "
            f"(about {len(a.text) // 4:,} tokens to embed): split it into smaller articles, or raise the limit "
            f"with ASSISTANT_MAX_ARTICLE_CHARS."
        )
    return kept


def _copy_unchanged(previous: StoredIndex, doc_ids: list[str], by_id: dict[str, Article], writer: IndexWriter) -> None:
    """Rows of unchanged articles, copied from the previous index in batches (chunk vectors
    read back from FAISS, sentence vectors from their memory-mapped array)."""
    for d in doc_ids:
        writer.add_article(by_id[d])
    rows = previous.chunks.rows_of(doc_ids)
    for i in range(0, len(rows), COPY_SLAB):
        batch = rows[i : i + COPY_SLAB]
        chunks = [previous.chunks[int(r)] for r in batch]
        writer.add_chunks(chunks, previous.chunk_vectors(batch), [embed_text(by_id[c.doc_id].title, c.text) for c in chunks])
    keep_idx = [previous.articles.index_of[d] for d in doc_ids]
    srows = np.flatnonzero(np.isin(previous.sentences.rows[:, 0], keep_idx))
    for i in range(0, len(srows), COPY_SLAB):
        batch = srows[i : i + COPY_SLAB]
        writer.add_sentences([previous.sentences[int(r)] for r in batch], np.asarray(previous.sentence_vectors[batch]))


def _embed_articles(encoder: Encoder, todo: list[Article], settings: Settings, writer, progress: bool) -> int:
    """Chunk, embed and write the articles in batches of about EMBED_SLAB chunks, so memory
    holds one batch, not the corpus. Returns the number of chunks embedded."""
    limits = ChunkLimits(settings.chunk_tokens, settings.overlap_tokens, encoder.max_tokens, encoder.count_tokens)
    by_id = {a.doc_id: a for a in todo}
    pending: list[Chunk] = []
    seen: set[tuple[str, int, int]] = set()
    done = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="indexing", unit="article", file=sys.stderr)
    for a in todo:
        writer.add_article(a)
        pending.extend(chunk_article(a, limits))
        while len(pending) >= EMBED_SLAB:
            seen = _embed_batch(encoder, by_id, pending[:EMBED_SLAB], writer, seen)
            done += EMBED_SLAB
            del pending[:EMBED_SLAB]
        if bar:
            bar.update(1)
            bar.set_postfix(chunks=done + len(pending), refresh=False)
    if pending:
        _embed_batch(encoder, by_id, pending, writer, seen)
        done += len(pending)
    if bar:
        bar.close()
    return done


def embed_articles(encoder: Encoder, articles: Sequence[Article], settings: Settings) -> Embedded:
    """Chunk and embed ``articles`` here, exactly as a build does, keeping the results."""
    out = _Collected(encoder.dim)
    _embed_articles(encoder, list(articles), settings, out, progress=False)
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros((0, encoder.dim), np.float32)  # noqa: E731
    return Embedded(out.chunks, cat(out.vectors), out.sentences, cat(out.sentence_vectors), encoder.dim, encoder.max_tokens)


class _Collected:
    """Takes what ``_embed_articles`` writes, in memory."""

    def __init__(self, dim: int):
        self.dim = dim
        self.chunks, self.vectors, self.sentences, self.sentence_vectors = [], [], [], []

    def add_article(self, article: Article) -> None:
        pass

    def add_chunks(self, chunks, vectors, texts) -> None:
        self.chunks.extend(chunks)
        self.vectors.append(np.asarray(vectors, dtype=np.float32))

    def add_sentences(self, keys, vectors) -> None:
        self.sentences.extend(keys)
        self.sentence_vectors.append(np.asarray(vectors, dtype=np.float32))


def _write_embedded(todo: list[Article], first: list[Embedded], pieces: Iterator[Embedded], writer: IndexWriter) -> int:
    """Write what an ``ArticleEmbedder`` returns, piece by piece, as a plain build would."""
    by_id = {a.doc_id: a for a in todo}
    for a in todo:
        writer.add_article(a)
    done = 0
    for piece in itertools.chain(first, pieces):
        texts = [embed_text(by_id[c.doc_id].title, c.text) for c in piece.chunks]
        writer.add_chunks(piece.chunks, piece.vectors, texts)
        writer.add_sentences(piece.sentences, piece.sentence_vectors)
        done += len(piece.chunks)
    return done


def _embed_batch(encoder, articles: dict[str, Article], chunks: list[Chunk], writer: IndexWriter, seen: set) -> set:
    """One forward pass per chunk gives its vector and a vector for each of its sentences
    (late chunking; first occurrence kept where chunks overlap). Returns the keys still
    needed to skip repeats: those of the last article of the batch, which may go on."""
    texts, spans, keys = [], [], []
    for c in chunks:
        title = articles[c.doc_id].title
        shift = len(embed_text(title, "")) if title else 0
        sents = split_sentences(articles[c.doc_id].text, c.start, c.end)
        texts.append(embed_text(title, c.text))
        spans.append([(a - c.start + shift, b - c.start + shift) for a, b in sents])
        keys.append([(c.doc_id, a, b) for a, b in sents])
    vecs, span_vecs = encode_spans(encoder, texts, spans)
    writer.add_chunks(chunks, vecs, texts)
    for ks, sv in zip(keys, span_vecs):
        fresh = [j for j, k in enumerate(ks) if k not in seen]
        seen.update(ks)
        writer.add_sentences([ks[j] for j in fresh], sv[fresh].reshape(-1, writer.dim))
    last = chunks[-1].doc_id
    return {k for k in seen if k[0] == last}


def content_hash(model: str, settings: dict, hashes: dict[str, str]) -> str:
    payload = json.dumps([model, settings, sorted(hashes.items())])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _previous(index_dir, model_name: str, settings: Settings, log) -> StoredIndex | None:
    """The existing index if it can be reused; None to start afresh. An index built with
    another model or chunking is rebuilt from scratch (it is replaced only on success)."""
    try:
        manifest = read_manifest(index_dir)
    except IndexNotFoundError:
        return None
    except (IndexMismatchError, IndexCorruptError) as e:
        if log:
            log(f"rebuilding from scratch: {e}")
        return None
    if manifest.get("model") != model_name or (manifest.get("settings") or {}).get("chunk_tokens") != settings.chunk_tokens \
            or (manifest.get("settings") or {}).get("overlap_tokens") != settings.overlap_tokens:
        if log:
            log(f"rebuilding from scratch: the index was built with model {manifest.get('model')!r} and other chunk settings")
        return None
    try:
        return load_index(index_dir, verify=True)
    except AssistantError as e:
        if log:
            log(f"rebuilding from scratch: {e}")
        return None
