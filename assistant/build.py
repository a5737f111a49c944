"""Build or update an index from a corpus, embedding only new or changed articles.

The model is created through ``encoder_factory`` only when something needs embedding,
so re-indexing an unchanged corpus loads no model and embeds nothing."""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .chunk import ChunkLimits, chunk_article, embed_text
from .text import split_sentences
from . import embed
from .embed import Encoder, encode_spans
from .errors import AssistantError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from .dedup import find_duplicates
from .load import load_corpus
from .settings import TOKEN_ENCODING, Settings
from . import ann
from .store import StoredIndex, article_hash, index_lock, load_index, read_manifest, save_index
from .types import Article, BuildReport, Chunk

EMBED_SLAB = 256  # texts per encode() call: bounds memory and drives the progress bar


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
) -> BuildReport:
    """Build or update the index in ``index_dir``, one writer at a time (a second build
    waits for the first, then finds its work done). A failure to write (read-only or full
    disk) is an IndexWriteError; the previous index stays as it was."""
    with index_lock(index_dir, log):
        return _build_locked(corpus_path, index_dir, settings, encoder, encoder_factory, progress, log)


def _build_locked(corpus_path, index_dir, settings: Settings, encoder, encoder_factory, progress: bool, log) -> BuildReport:
    t0 = time.perf_counter()
    loaded = load_corpus(corpus_path)
    articles = loaded.articles
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
                           tuple(loaded.warnings), str(index_dir), _groups(dups))

    # Near-duplicate copies are listed, not indexed: only representatives get chunks.
    dups = find_duplicates(articles)
    copy_ids = {d for ds in dups.values() for d in ds}
    had_chunks = {c.doc_id for c in previous.chunks} if previous else set()
    # Reuse rows of unchanged representatives; chunk and embed the rest.
    reuse = {d for d in unchanged if d in had_chunks and d not in copy_ids}
    todo = [a for a in articles if a.doc_id not in reuse and a.doc_id not in copy_ids]
    if todo and encoder is None:
        encoder = (encoder_factory or (lambda: embed.encoder_from_settings(settings)))()
    if encoder is not None and previous and previous.manifest.get("dim") not in (None, encoder.dim):
        raise IndexMismatchError("Encoder dimension differs from the index: rebuild into an empty --index folder.")
    new_chunks: list[Chunk] = []
    if todo:
        limits = ChunkLimits(settings.chunk_tokens, settings.overlap_tokens, encoder.max_tokens, encoder.count_tokens)
        for a in _bar(todo, progress, "chunking", "article"):
            new_chunks.extend(chunk_article(a, limits))
    by_id = {a.doc_id: a for a in articles}
    new_vecs, new_sentences, new_sentence_vecs = _embed(encoder, by_id, new_chunks, progress)

    chunks: list[Chunk] = []
    parts: list[np.ndarray] = []
    sentences: list[tuple[str, int, int]] = []
    sentence_parts: list[np.ndarray] = []
    keep = reuse
    if previous:
        rows = [i for i, c in enumerate(previous.chunks) if c.doc_id in keep]
        chunks.extend(previous.chunks[i] for i in rows)
        parts.append(previous.embeddings[rows])
        srows = [i for i, t in enumerate(previous.sentences) if t[0] in keep]
        sentences.extend(previous.sentences[i] for i in srows)
        sentence_parts.append(previous.sentence_vectors[srows].astype(np.float32))
    chunks.extend(new_chunks)
    parts.append(new_vecs)
    sentences.extend(new_sentences)
    sentence_parts.append(new_sentence_vecs)
    dim = encoder.dim if encoder is not None else previous.manifest["dim"]
    embeddings = np.concatenate([p.reshape(-1, dim) for p in parts]).astype(np.float32)
    sentence_vectors = np.concatenate([p.reshape(-1, dim) for p in sentence_parts])
    if not chunks:
        raise AssistantError("The corpus produced no text to index (every article is boilerplate or empty): add articles with body text.")

    manifest = {
        "model": model_name,
        "dim": dim,
        "max_tokens": encoder.max_tokens if encoder is not None else previous.manifest.get("max_tokens"),
        "settings": chunk_settings(settings),
        "corpus": str(corpus_path),
        "articles": {a.doc_id: {"hash": new_hashes[a.doc_id], "title": a.title} for a in articles},
        "counts": {"articles": len(articles), "chunks": len(chunks), "sentences": len(sentences)},
        "content_hash": content_hash(model_name, chunk_settings(settings), new_hashes),
        "duplicates": dups,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    faiss_index, manifest["index"] = ann.build(
        embeddings, settings.index_type, settings.hnsw_m,
        previous=previous.faiss_index if previous else None,
        previous_params=previous.manifest.get("index") if previous else None,
    )
    save_index(index_dir, manifest, articles, chunks, embeddings, faiss_index, sentences, sentence_vectors)
    return BuildReport(
        len(added), len(changed), len(removed), len(unchanged), len(chunks), len(new_chunks),
        time.perf_counter() - t0, tuple(loaded.warnings), str(index_dir), _groups(dups),
    )


def _groups(dups: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((rep, tuple(copies)) for rep, copies in sorted(dups.items()))


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
        return load_index(index_dir)
    except AssistantError as e:
        if log:
            log(f"rebuilding from scratch: {e}")
        return None


def _bar(items, enabled: bool, desc: str, unit: str):
    if not enabled or len(items) < 2:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, leave=False)


def _embed(encoder: Encoder | None, articles: dict[str, Article], chunks: list[Chunk], progress: bool):
    """Chunk vectors, plus a vector for every sentence of the chunks pooled from the same
    forward pass (first occurrence kept where chunks overlap). Work goes in slabs of
    EMBED_SLAB texts, which bounds memory and drives the progress bar."""
    dim = encoder.dim if encoder is not None else 0
    if not chunks:
        return np.zeros((0, dim), dtype=np.float32), [], np.zeros((0, dim), dtype=np.float32)
    texts, spans, keys = [], [], []
    for c in chunks:
        title = articles[c.doc_id].title
        shift = len(embed_text(title, "")) if title else 0
        sents = split_sentences(articles[c.doc_id].text, c.start, c.end)
        texts.append(embed_text(title, c.text))
        spans.append([(a - c.start + shift, b - c.start + shift) for a, b in sents])
        keys.append([(c.doc_id, a, b) for a, b in sents])
    vec_parts, sent_keys, sent_parts, seen = [], [], [], set()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="chunk", file=sys.stderr)
    for i in range(0, len(texts), EMBED_SLAB):
        vecs, span_vecs = encode_spans(encoder, texts[i : i + EMBED_SLAB], spans[i : i + EMBED_SLAB])
        vec_parts.append(vecs)
        for ks, sv in zip(keys[i : i + EMBED_SLAB], span_vecs):
            fresh = [j for j, k in enumerate(ks) if k not in seen]
            seen.update(ks)
            sent_keys.extend(ks[j] for j in fresh)
            sent_parts.append(sv[fresh].reshape(-1, encoder.dim))
        if bar:
            bar.update(min(EMBED_SLAB, len(texts) - i))
    if bar:
        bar.close()
    return np.concatenate(vec_parts), sent_keys, np.concatenate(sent_parts)
