"""The index stage: vectors + chunk table + articles on disk, described by a manifest.

Layout of an index directory::

    index/
      manifest.json        # the commit point: written last, atomically (os.replace)
      data-<id>/           # one immutable generation of data files
        vectors.faiss      # FAISS index (flat inner product, HNSW or IVF-PQ: ann.py)
        embeddings.npy     # the full vectors, memory-mapped: re-indexing never re-embeds, IVF-PQ re-ranks from them
        chunks.jsonl       # doc_id, start, end of each vector row
        sentences.jsonl    # doc_id, start, end of each sentence of the chunks
        sentence_vectors.npy  # one float16 vector per sentence (pooled in its chunk)
        articles.jsonl     # the stored articles (quotes are checked against them)

A build holds an exclusive lock on ``index/.lock`` (``index_lock``: one writer at a
time, a second one waits), writes a new ``data-<id>`` folder, then replaces
``manifest.json`` to point at it, then removes older generations but keeps the previous
one, which a reader may still be opening. A build that dies before the manifest is
replaced leaves the previous index untouched and loadable; its ``.building-*`` leftovers
are removed by the next build (under the lock, so never a live build's). A load that
finds its generation gone re-reads the manifest and retries once. Nothing is pickled."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from . import ann
from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, IndexWriteError
from .types import Article, Chunk

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
LOCK = ".lock"
_FILES = ("vectors.faiss", "embeddings.npy", "chunks.jsonl", "sentences.jsonl", "sentence_vectors.npy", "articles.jsonl")


@dataclass(frozen=True)
class StoredIndex:
    """An index in memory."""

    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    embeddings: np.ndarray  # (n_chunks, dim) float32, L2-normalised, memory-mapped read-only
    faiss_index: Any  # searchable like a FAISS index (ann.wrap): search(queries, n), ntotal
    sentences: list[tuple[str, int, int]]  # (doc_id, start, end) of each sentence vector
    sentence_vectors: np.ndarray  # (n_sentences, dim) float16, L2-normalised


def article_hash(article: Article) -> str:
    payload = json.dumps([article.doc_id, article.title, article.text, dict(article.metadata)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


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


@contextlib.contextmanager
def index_lock(index_dir: str | Path, log: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index folder's writer lock (``flock`` on ``index/.lock``); when another
    build holds it, say so and wait for it. The kernel releases the lock when a holder
    dies, so a crashed build never blocks the next one. Leftovers of dead builds are
    removed once the lock is held (no live build can own them then)."""
    root = Path(index_dir)
    if root.exists() and not root.is_dir():
        raise IndexWriteError(f"--index {root} is a file, not a folder: pass a folder for the index (e.g. --index index).")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise _write_error(root, e) from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log:
                log(f"another build is running on {root}/, waiting for it to finish…")
            fcntl.flock(fd, fcntl.LOCK_EX)
        remove_leftovers(root)
        yield
    finally:
        os.close(fd)  # releases the lock


def save_index(index_dir: str | Path, manifest: dict[str, Any], articles: list[Article], chunks: list[Chunk],
               embeddings: np.ndarray, faiss_index, sentences: list[tuple[str, int, int]],
               sentence_vectors: np.ndarray) -> dict[str, Any]:
    """Write a new generation and switch the manifest to it atomically; keep the previous
    generation, remove older ones. The caller holds ``index_lock``. Returns the manifest."""
    import faiss

    root = Path(index_dir)
    previous = _current_generation(root)
    gen = f"data-{uuid.uuid4().hex[:12]}"
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    except OSError as e:
        raise _write_error(root, e) from e
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
    except (OSError, RuntimeError) as e:  # faiss reports a failed write as RuntimeError
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(root / gen, ignore_errors=True)
        raise _write_error(root, e) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_stale_generations(root, keep={gen, previous})
    return manifest


def _write_error(root: Path, e: Exception) -> IndexWriteError:
    why = getattr(e, "strerror", None) or str(e).strip().splitlines()[0][:120]
    return IndexWriteError(
        f"Cannot write the index in {root}/ ({why}): make room on the disk or pass a writable --index folder; "
        "the previous index, if any, is unchanged."
    )


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


def _current_generation(root: Path) -> str | None:
    try:
        data_dir = json.loads((root / MANIFEST).read_text(encoding="utf-8")).get("data_dir")
    except (OSError, ValueError, AttributeError):
        return None
    return data_dir if isinstance(data_dir, str) else None


def remove_stale_generations(root: Path, keep: set[str | None]) -> None:
    """Remove the ``data-*`` folders not in ``keep`` (the caller holds ``index_lock``)."""
    for p in root.iterdir():
        if p.name.startswith("data-") and p.name not in keep and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)


def remove_leftovers(root: Path) -> None:
    """Remove what dead builds left behind: ``.building-*`` folders and ``.manifest-*``
    temporary files. Only safe under ``index_lock``."""
    for p in root.iterdir():
        if p.name.startswith(".building-") and p.is_dir() and not p.is_symlink():
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
    problem = _manifest_problem(manifest)
    if problem:
        raise IndexCorruptError(f"The index manifest {path} is damaged ({problem}): rebuild with `assistant index --index {root}`.")
    return manifest


def _manifest_problem(m: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a manifest that parsed as JSON, or None."""
    data_dir, files, articles = m.get("data_dir"), m.get("files"), m.get("articles")
    if not isinstance(data_dir, str) or not data_dir.startswith("data-") or "/" in data_dir or "\\" in data_dir or ".." in data_dir:
        return '"data_dir" must name a data-<id> folder'
    if not isinstance(files, dict) or not all(isinstance(k, str) and "/" not in k and isinstance(v, str) for k, v in files.items()):
        return '"files" must map file names to checksums'
    if not isinstance(articles, dict) or not all(isinstance(a, dict) and isinstance(a.get("hash"), str) for a in articles.values()):
        return '"articles" must map document ids to {"hash": ...}'
    if not isinstance(m.get("model"), str) or not isinstance(m.get("dim"), int):
        return '"model" must be a name and "dim" a number'
    return None


def load_index(index_dir: str | Path, expect_model: str | None = None, verify: bool = True) -> StoredIndex:
    """Load and check an index. ``expect_model``: fail when it was built with another model.
    When the generation read turns out damaged or gone because a build replaced it in the
    meantime (the manifest now names another one), the load is retried once."""
    root = Path(index_dir)
    manifest = read_manifest(root)
    try:
        return _load_generation(root, manifest, expect_model, verify)
    except IndexCorruptError:
        try:
            moved = read_manifest(root)
        except (IndexNotFoundError, IndexCorruptError, IndexMismatchError):
            moved = manifest
        if moved.get("data_dir") == manifest.get("data_dir"):
            raise
        return _load_generation(root, moved, expect_model, verify)


def _load_generation(root: Path, manifest: dict[str, Any], expect_model: str | None, verify: bool) -> StoredIndex:
    import faiss

    rebuild = f"`assistant index --index {root}`"
    if expect_model is not None and manifest.get("model") != expect_model:
        raise IndexMismatchError(
            f"The index in {root}/ was built with model {manifest.get('model')!r}, not {expect_model!r}: "
            f"rebuild it with {rebuild} --model {expect_model}, or leave --model out."
        )
    data = root / manifest["data_dir"]
    try:
        for name, digest in manifest["files"].items():
            if verify and _sha256(data / name) != digest:
                raise IndexCorruptError(f"Index file {data / name} is damaged (checksum mismatch): rebuild with {rebuild}.")
        embeddings = np.load(data / "embeddings.npy", mmap_mode="r", allow_pickle=False)
        faiss_index = ann.wrap(faiss.read_index(str(data / "vectors.faiss")), manifest.get("index"), embeddings)
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
    try:
        articles = {
            r["doc_id"]: Article(r["doc_id"], r["title"], r["text"], r.get("metadata") or {}) for r in article_rows
        }
        chunks = [Chunk(d, s, e, articles[d].text[s:e]) for d, s, e in chunk_rows]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise IndexCorruptError(
            f"The index in {root}/ is damaged (a row is malformed or names an unknown article: {type(e).__name__} {str(e)[:80]}): "
            f"rebuild with {rebuild}."
        ) from e
    if len(chunks) != embeddings.shape[0] or faiss_index.ntotal != len(chunks) or len(sentence_rows) != len(sentence_vectors):
        raise IndexCorruptError(f"The index in {root}/ is inconsistent (row counts differ): rebuild with {rebuild}.")
    return StoredIndex(manifest, articles, chunks, embeddings, faiss_index, sentence_rows, sentence_vectors)
