"""The index stage: vectors + chunk table + articles on disk, described by a manifest.

Layout of an index directory::

    index/
      manifest.json        # the commit point: written last, atomically (os.replace)
      data-<id>/           # one immutable generation of data files
        vectors.faiss      # FAISS index (flat inner product, or HNSW)
        embeddings.npy     # the same vectors, kept so re-indexing never re-embeds
        chunks.jsonl       # doc_id, start, end of each vector row
        sentences.jsonl    # doc_id, start, end of each sentence of the chunks
        sentence_vectors.npy  # one float16 vector per sentence (pooled in its chunk)
        articles.jsonl     # the stored articles (quotes are checked against them)

A build writes a new ``data-<id>`` folder, then replaces ``manifest.json`` to point at
it, then removes older generations. A build that dies before the manifest is replaced
leaves the previous index untouched and loadable. Nothing is pickled."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from .types import Article, Chunk

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
_FILES = ("vectors.faiss", "embeddings.npy", "chunks.jsonl", "sentences.jsonl", "sentence_vectors.npy", "articles.jsonl")


@dataclass(frozen=True)
class StoredIndex:
    """An index in memory."""

    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    embeddings: np.ndarray  # (n_chunks, dim) float32, L2-normalised
    faiss_index: Any
    sentences: list[tuple[str, int, int]]  # (doc_id, start, end) of each sentence vector
    sentence_vectors: np.ndarray  # (n_sentences, dim) float16, L2-normalised


def article_hash(article: Article) -> str:
    payload = json.dumps([article.doc_id, article.title, article.text, dict(article.metadata)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def build_faiss(embeddings: np.ndarray, index_type: str = "flat", hnsw_m: int = 32):
    """Exact inner product by default; HNSW (inner product) for large corpora."""
    import faiss

    dim = embeddings.shape[1]
    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    if len(embeddings):
        index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
    return index


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def save_index(index_dir: str | Path, manifest: dict[str, Any], articles: list[Article], chunks: list[Chunk],
               embeddings: np.ndarray, faiss_index, sentences: list[tuple[str, int, int]],
               sentence_vectors: np.ndarray) -> dict[str, Any]:
    """Write a new generation and switch the manifest to it atomically. Returns the manifest."""
    import faiss

    root = Path(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    gen = f"data-{uuid.uuid4().hex[:12]}"
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    try:
        faiss.write_index(faiss_index, str(tmp / "vectors.faiss"))
        np.save(tmp / "embeddings.npy", np.ascontiguousarray(embeddings, dtype=np.float32))
        _write_jsonl(tmp / "chunks.jsonl", ([c.doc_id, c.start, c.end] for c in chunks))
        _write_jsonl(tmp / "sentences.jsonl", (list(t) for t in sentences))
        np.save(tmp / "sentence_vectors.npy", np.ascontiguousarray(sentence_vectors, dtype=np.float16))
        _write_jsonl(
            tmp / "articles.jsonl",
            ({"doc_id": a.doc_id, "title": a.title, "text": a.text, "metadata": dict(a.metadata)} for a in articles),
        )
        manifest = dict(manifest, format_version=FORMAT_VERSION, data_dir=gen)
        manifest["files"] = {name: _sha256(tmp / name) for name in _FILES}
        for name in _FILES:
            _fsync(tmp / name)
        os.replace(tmp, root / gen)
        _write_json_atomic(root / MANIFEST, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_stale_generations(root, keep=gen)
    return manifest


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json_atomic(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_generations(root: Path, keep: str | None) -> None:
    """Remove data folders the manifest does not point at, and leftovers of dead builds."""
    for p in root.iterdir():
        if p.is_dir() and (p.name.startswith("data-") or p.name.startswith(".building-")) and p.name != keep:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".manifest-"):
            p.unlink(missing_ok=True)


def read_manifest(index_dir: str | Path) -> dict[str, Any]:
    root = Path(index_dir)
    path = root / MANIFEST
    if not path.is_file():
        raise IndexNotFoundError(f"No index in {root}/: build it with `assistant index --index {root}`.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorruptError(
            f"The index manifest {path} is unreadable ({type(e).__name__}): rebuild with `assistant index --index {root}`."
        ) from e
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index in {root}/ has format {manifest.get('format_version') if isinstance(manifest, dict) else '?'}, "
            f"this version reads format {FORMAT_VERSION}: rebuild it with `assistant index --index {root}`."
        )
    return manifest


def load_index(index_dir: str | Path, expect_model: str | None = None, verify: bool = True) -> StoredIndex:
    """Load and check an index. ``expect_model``: fail when it was built with another model."""
    import faiss

    root = Path(index_dir)
    manifest = read_manifest(root)
    rebuild = f"`assistant index --index {root}`"
    if expect_model is not None and manifest.get("model") != expect_model:
        raise IndexMismatchError(
            f"The index in {root}/ was built with model {manifest.get('model')!r}, not {expect_model!r}: "
            f"rebuild it with {rebuild} --model {expect_model}, or leave --model out."
        )
    data = root / str(manifest.get("data_dir", ""))
    try:
        for name, digest in manifest["files"].items():
            if verify and _sha256(data / name) != digest:
                raise IndexCorruptError(f"Index file {data / name} is damaged (checksum mismatch): rebuild with {rebuild}.")
        faiss_index = faiss.read_index(str(data / "vectors.faiss"))
        embeddings = np.load(data / "embeddings.npy", allow_pickle=False)
        chunk_rows = _read_jsonl(data / "chunks.jsonl")
        sentence_rows = [tuple(r) for r in _read_jsonl(data / "sentences.jsonl")]
        sentence_vectors = np.load(data / "sentence_vectors.npy", allow_pickle=False)
        article_rows = _read_jsonl(data / "articles.jsonl")
    except IndexCorruptError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        raise IndexCorruptError(
            f"The index in {root}/ is incomplete or damaged ({type(e).__name__}: {str(e)[:120]}): rebuild with {rebuild}."
        ) from e
    articles = {
        r["doc_id"]: Article(r["doc_id"], r["title"], r["text"], r.get("metadata") or {}) for r in article_rows
    }
    chunks = [Chunk(d, s, e, articles[d].text[s:e]) for d, s, e in chunk_rows]
    if len(chunks) != embeddings.shape[0] or faiss_index.ntotal != len(chunks) or len(sentence_rows) != len(sentence_vectors):
        raise IndexCorruptError(f"The index in {root}/ is inconsistent (row counts differ): rebuild with {rebuild}.")
    return StoredIndex(manifest, articles, chunks, embeddings, faiss_index, sentence_rows, sentence_vectors)
