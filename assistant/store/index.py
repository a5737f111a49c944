"""The index stage: vectors + chunk table + articles on disk, described by a manifest.

Layout of an index directory::

    index/
      manifest.json        # the commit point: written last, atomically (os.replace)
      data-<id>/           # one immutable generation of data files
        vectors.faiss      # FAISS index (flat, HNSW: the only copy of the chunk vectors; or IVF-PQ: ann.py)
        embeddings.npy     # IVF-PQ only: the full vectors its candidates are re-ranked with
        chunks.npy         # (doc index, start, end) of each vector row, int64
        sentences.npy      # (doc index, start, end) of each sentence vector row, int64
        sentence_vectors.npy  # one float16 vector per sentence (pooled in its chunk)
        documents.jsonl    # doc_id, title, metadata, byte offset and length of its text
        texts.bin          # the article texts, UTF-8, back to back (quotes are checked against them)
        bm25/              # the BM25 index as bm25s saves it (memory-mapped on open)

Opening is lazy: FAISS and the numpy arrays are memory-mapped, BM25 is loaded from its
saved arrays (not rebuilt), and an article's text is read by offset when it is needed.

A build holds an exclusive lock on ``index/.lock`` (``index_lock``: one writer at a
time, a second one waits), writes a new ``data-<id>`` folder, then replaces
``manifest.json`` to point at it, then removes older generations but keeps the previous
one, which a reader may still be opening. A build that dies before the manifest is
replaced leaves the previous index untouched and loadable; its ``.building-*`` leftovers
are removed by the next build (under the lock, so never a live build's). A load that
finds its generation gone re-reads the manifest and retries once. Nothing is pickled.

Every process that opens a generation holds a lease on it: a shared ``flock`` on the
generation's ``.lease`` file, kept by the ``StoredIndex`` and dropped when it is closed or
garbage-collected (or the process dies: the kernel drops it). A build removes an older
generation only when it can take that file exclusively, so a running app that still
reads an older generation never loses it; the next build (or ``prune``) removes it once
it is let go."""
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
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, IndexWriteError
from ..types import Article, Chunk
from . import ann

FORMAT_VERSION = 3  # 3: lazily opened (memory-mapped vectors, saved BM25, texts read by offset)
MANIFEST = "manifest.json"
LOCK = ".lock"
LEASE = ".lease"  # in each data-<id> folder: readers hold it shared, a build removing the folder exclusively
_FILES = ("vectors.faiss", "chunks.npy", "sentences.npy", "sentence_vectors.npy", "documents.jsonl", "texts.bin",
          "bm25/data.csc.index.npy", "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy",
          "bm25/vocab.index.json", "bm25/params.index.json")
_OPTIONAL = ("embeddings.npy",)
_SMALL = 8 << 20  # files up to this size are checksummed on every open; larger ones when a build reads them


class ArticleStore(Mapping[str, Article]):
    """The stored articles, read on demand: titles and metadata are in memory, each text
    is read from ``texts.bin`` by its byte offset when asked for (a few are cached)."""

    def __init__(self, texts_path: Path | None, rows: list[dict], texts: dict[str, str] | None = None):
        self._path = texts_path
        self._rows = {r["doc_id"]: r for r in rows}
        self._texts = texts  # fully loaded: every text in memory
        self.doc_ids = [r["doc_id"] for r in rows]
        self.index_of = {d: i for i, d in enumerate(self.doc_ids)}
        self.titles = {r["doc_id"]: r["title"] for r in rows}
        self._cache: dict[str, Article] = {}

    def __getitem__(self, doc_id: str) -> Article:
        hit = self._cache.get(doc_id)
        if hit is not None:
            return hit
        r = self._rows[doc_id]
        text = self._texts[doc_id] if self._texts is not None else self._read(r["offset"], r["length"])
        article = Article(doc_id, r["title"], text, r.get("metadata") or {})
        if len(self._cache) >= 64:
            self._cache.pop(next(iter(self._cache)))
        self._cache[doc_id] = article
        return article

    def metadata_of(self, doc_id: str) -> dict:
        """An article's metadata (date, source, ...) without reading its text."""
        return self._rows[doc_id].get("metadata") or {}

    def _read(self, offset: int, length: int) -> str:
        with open(self._path, "rb") as f:
            f.seek(offset)
            return f.read(length).decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return iter(self.doc_ids)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def __contains__(self, doc_id) -> bool:
        return doc_id in self._rows


class _RowTable(Sequence):
    """Rows ``(doc index, start, end)`` (int64, possibly memory-mapped); an item is made on access."""

    def __init__(self, rows: np.ndarray, articles: ArticleStore):
        self.rows = rows
        self.articles = articles

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        d, a, b = (int(x) for x in self.rows[i])
        return self._item(self.articles.doc_ids[d], a, b)

    def _item(self, doc_id: str, start: int, end: int):
        raise NotImplementedError


class ChunkTable(_RowTable):
    """The chunk of each vector row, with its text read from its article."""

    def _item(self, doc_id: str, start: int, end: int) -> Chunk:
        return Chunk(doc_id, start, end, self.articles[doc_id].text[start:end])

    def doc_ids(self) -> list[str]:
        """The distinct articles that have chunks."""
        return [self.articles.doc_ids[int(d)] for d in np.unique(self.rows[:, 0])]

    def doc_id(self, i: int) -> str:
        return self.articles.doc_ids[int(self.rows[i][0])]

    def rows_of(self, doc_ids) -> np.ndarray:
        """Row numbers of the chunks of ``doc_ids``, ascending."""
        idx = [self.articles.index_of[d] for d in doc_ids if d in self.articles.index_of]
        return np.flatnonzero(np.isin(self.rows[:, 0], idx)).astype(np.int64)


class SentenceTable(_RowTable):
    """``(doc_id, start, end)`` of each sentence vector row, with a lookup by key."""

    _sorted = None

    def _item(self, doc_id: str, start: int, end: int) -> tuple[str, int, int]:
        return (doc_id, start, end)

    def row(self, doc_id: str, start: int, end: int) -> int | None:
        """The vector row of sentence ``(doc_id, start, end)``, or None."""
        d = self.articles.index_of.get(doc_id)
        if d is None or not len(self.rows):
            return None
        if self._sorted is None:
            keys = (np.asarray(self.rows[:, 0], dtype=np.int64) << 32) | np.asarray(self.rows[:, 1], dtype=np.int64)
            order = np.argsort(keys, kind="stable")
            self._sorted = (keys[order], order)
        keys, order = self._sorted
        key = (d << 32) | int(start)
        lo, hi = np.searchsorted(keys, key, "left"), np.searchsorted(keys, key, "right")
        for j in order[lo:hi]:
            if int(self.rows[j][2]) == end:
                return int(j)
        return None


@dataclass(frozen=True)
class StoredIndex:
    """An opened index. With ``load_index(lazy=True)`` (the default) the vectors are
    memory-mapped, BM25 is memory-mapped from its saved arrays and article texts are read
    on demand; ``lazy=False`` reads everything into memory. Both answer the same."""

    manifest: dict[str, Any]
    articles: ArticleStore
    chunks: ChunkTable
    faiss_index: Any  # searchable like a FAISS index (ann.wrap): search(queries, n), ntotal
    sentences: SentenceTable  # (doc_id, start, end) of each sentence vector
    sentence_vectors: np.ndarray  # (n_sentences, dim) float16, L2-normalised
    lexical: Any  # lexical.LexicalIndex over the chunks' embedded texts
    embeddings: np.ndarray | None = None  # IVF-PQ only: the full vectors, memory-mapped
    lease: "Lease | None" = None  # keeps this generation on disk while the index is open

    @property
    def generation(self) -> str:
        return self.manifest["data_dir"]

    def close(self) -> None:
        """Let go of this generation (a later build may remove it). Optional: dropping the
        last reference does the same."""
        if self.lease is not None:
            self.lease.release()

    def chunk_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored (float32, L2-normalised) vectors of chunk ``rows``: read back from FAISS,
        or for IVF-PQ from ``embeddings.npy``."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros((0, int(self.manifest["dim"])), dtype=np.float32)
        if self.embeddings is not None:
            return np.asarray(self.embeddings[rows], dtype=np.float32)
        return getattr(self.faiss_index, "index", self.faiss_index).reconstruct_batch(rows)

    def sentence_row(self, doc_id: str, start: int, end: int) -> int | None:
        return self.sentences.row(doc_id, start, end)


def article_hash(article: Article) -> str:
    payload = json.dumps([article.doc_id, article.title, article.text, dict(article.metadata)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


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


class IndexWriter:
    """Writes one new generation into a temporary folder, batch by batch, so memory holds
    one batch of vectors, not the corpus; ``commit`` makes it the current index. Use it as
    a context manager (the caller holds ``index_lock``): on any failure the temporary
    folder is removed and the previous index stays as it was."""

    def __init__(self, index_dir: str | Path, dim: int, index_type: str = "flat", hnsw_m: int = 32):
        from .lexical import LexicalBuilder

        self.root = Path(index_dir)
        self.dim = dim
        self._previous = _current_generation(self.root)
        self._files: list = []
        self.tmp = None
        try:
            self.tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=self.root))
            for name in ("texts.bin", "sentence_vectors.raw", "chunk_vectors.raw"):
                self._files.append(open(self.tmp / name, "wb"))
            (self.tmp / LEASE).touch()
        except OSError as e:
            self.abort()
            raise _write_error(self.root, e) from e
        self._texts, self._svec, self._cvec = self._files
        self.index_type, self.hnsw_m = index_type, hnsw_m
        self._docs: list[dict] = []
        self._doc_index: dict[str, int] = {}
        self._chunk_rows: list[np.ndarray] = []
        self._sentence_rows: list[np.ndarray] = []
        self._lexical = LexicalBuilder()
        self.chunks = 0
        self.sentences = 0

    def __enter__(self) -> "IndexWriter":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if exc is not None:
            self.abort()
            if isinstance(exc, OSError):
                raise _write_error(self.root, exc) from exc

    def abort(self) -> None:
        """Close the open files and remove the temporary folder. Never raises: on a full
        disk closing a buffered file fails too (its last write), and the folder must go
        all the same."""
        for f in self._files:
            try:
                f.close()  # the file descriptor is closed even when the flush fails
            except OSError:
                pass
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def add_article(self, article: Article) -> None:
        data = article.text.encode("utf-8", "surrogatepass")
        self._doc_index[article.doc_id] = len(self._docs)
        self._docs.append({"doc_id": article.doc_id, "title": article.title, "metadata": dict(article.metadata),
                           "offset": self._texts.tell(), "length": len(data)})
        self._texts.write(data)

    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray, texts: Sequence[str]) -> None:
        """Chunks of articles already added, their vectors, and the texts BM25 indexes."""
        if not len(chunks):
            return
        self._chunk_rows.append(np.array([(self._doc_index[c.doc_id], c.start, c.end) for c in chunks], dtype=np.int64))
        self._cvec.write(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim).tobytes())
        self._lexical.add(texts)
        self.chunks += len(chunks)

    def add_sentences(self, keys: Sequence[tuple[str, int, int]], vectors: np.ndarray) -> None:
        if not len(keys):
            return
        self._sentence_rows.append(np.array([(self._doc_index[d], a, b) for d, a, b in keys], dtype=np.int64))
        self._svec.write(np.ascontiguousarray(vectors, dtype=np.float16).reshape(-1, self.dim).tobytes())
        self.sentences += len(keys)

    def commit(self, manifest: dict[str, Any], previous_index: Any = None, previous_params: dict | None = None) -> dict[str, Any]:
        """Build the vector index, write the remaining files, checksum and sync them, switch
        the manifest to the new generation, keep the previous one and remove older ones.
        ``previous_index``/``previous_params``: the index replaced (IVF-PQ reuses its
        training). Returns the manifest."""
        import faiss

        tmp, root = self.tmp, self.root
        gen = f"data-{uuid.uuid4().hex[:12]}"
        try:
            for f in self._files:
                f.close()
            index, params = self._vector_index(previous_index, previous_params)
            faiss.write_index(index, str(tmp / "vectors.faiss"))
            del index
            np.save(tmp / "chunks.npy", _rows(self._chunk_rows))
            np.save(tmp / "sentences.npy", _rows(self._sentence_rows))
            _raw_to_npy(tmp / "sentence_vectors.raw", tmp / "sentence_vectors.npy", (self.sentences, self.dim), np.float16)
            _write_jsonl(tmp / "documents.jsonl", self._docs)
            self._lexical.finish(self.chunks).save(tmp / "bm25")
            manifest = dict(manifest, format_version=FORMAT_VERSION, data_dir=gen, index=params)
            names = _FILES + tuple(n for n in _OPTIONAL if (tmp / n).exists())
            manifest["files"] = {name: _sha256(tmp / name) for name in names}
            for name in names:
                _fsync(tmp / name)
            os.replace(tmp, root / gen)
            _write_json_atomic(root / MANIFEST, manifest)
        except (OSError, RuntimeError) as e:  # faiss reports a failed write as RuntimeError
            self.abort()
            shutil.rmtree(root / gen, ignore_errors=True)
            raise _write_error(root, e) from e
        except BaseException:
            self.abort()
            raise
        remove_stale_generations(root, keep={gen, self._previous})
        return manifest


    def _vector_index(self, previous_index, previous_params):
        """Flat and HNSW indexes are filled from the streamed vectors in batches and then
        hold the only copy of them; IVF-PQ keeps the full vectors as ``embeddings.npy``
        (its codes are lossy) and is trained on a sample of them (ann.py)."""
        raw = self.tmp / "chunk_vectors.raw"
        kind = ann.resolve(self.index_type, self.chunks)
        if kind == "ivfpq":
            _raw_to_npy(raw, self.tmp / "embeddings.npy", (self.chunks, self.dim), np.float32)
            vectors = np.load(self.tmp / "embeddings.npy", mmap_mode="r")
            return ann.build(vectors, kind, self.hnsw_m, previous=previous_index, previous_params=previous_params)
        index, params = ann.build(np.zeros((0, self.dim), dtype=np.float32), kind, self.hnsw_m)
        if self.chunks:
            vectors = np.memmap(raw, dtype=np.float32, mode="r", shape=(self.chunks, self.dim))
            for i in range(0, self.chunks, 4096):
                index.add(np.ascontiguousarray(vectors[i : i + 4096]))
            del vectors
        raw.unlink()
        return index, params


def _rows(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)


def _raw_to_npy(raw: Path, out: Path, shape: tuple[int, int], dtype=np.float16) -> None:
    """Streamed rows as a ``.npy`` file (copied in blocks, never all in memory)."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    with open(raw, "rb") as src, open(out, "wb") as dst:
        np.lib.format.write_array_header_1_0(dst, header)
        shutil.copyfileobj(src, dst, 1 << 20)
    raw.unlink()


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
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return data_dir if isinstance(data_dir, str) else None


def remove_stale_generations(root: Path, keep: set[str | None]) -> list[str]:
    """Remove the ``data-*`` folders not in ``keep`` and not leased by a running process
    (the caller holds ``index_lock``). Returns the names of those kept for their lease."""
    held = []
    for p in sorted(root.iterdir()):
        if p.name.startswith("data-") and p.name not in keep and p.is_dir() and not p.is_symlink():
            if not _remove_unless_leased(p):
                held.append(p.name)
    return held


def _remove_unless_leased(folder: Path) -> bool:
    """Remove a generation folder unless a process holds its lease; True when removed.
    The exclusive lock is held while the folder is removed, so no reader can take a
    lease on it half-way (a reader that opened the file before sees it gone: ``_lease``)."""
    try:
        fd = os.open(folder / LEASE, os.O_RDONLY)
    except FileNotFoundError:  # a generation written before leases: nobody can hold it
        shutil.rmtree(folder, ignore_errors=True)
        return True
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: a running process still reads this generation
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def prune(index_dir: str | Path) -> list[str]:
    """Remove the generations no process holds any more, keeping the current and the
    previous one, if no build is running (then it is left to the build). Returns the
    names still held. Never raises: an index on a read-only disk is left as it is."""
    root = Path(index_dir)
    try:
        fd = os.open(root / LOCK, os.O_RDWR)
    except OSError:
        return []
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return []
        current = _current_generation(root)
        if current is None:
            return []
        previous = _previous_generation(root, current)
        return remove_stale_generations(root, {current, previous})
    except OSError:
        return []
    finally:
        os.close(fd)


def _previous_generation(root: Path, current: str) -> str | None:
    """The newest generation folder other than ``current`` (by modification time)."""
    others = [p for p in root.iterdir() if p.name.startswith("data-") and p.name != current and p.is_dir()]
    return max(others, key=lambda p: p.stat().st_mtime_ns).name if others else None


class Lease:
    """A shared lock on a generation's ``.lease`` file: while it is held, builds leave
    the generation on disk. Released by ``release()`` or when garbage-collected."""

    def __init__(self, fd: int, generation: str):
        import weakref

        self.generation = generation
        self._finalizer = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        self._finalizer()

    @property
    def held(self) -> bool:
        return self._finalizer.alive


def _lease(folder: Path) -> Lease | None:
    """Take a lease on a generation (None where it cannot be had: an index on a read-only
    disk written before leases). IndexCorruptError when the folder is gone or being
    removed, so ``load_index`` re-reads the manifest."""
    path = folder / LEASE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        if not folder.is_dir():
            raise IndexCorruptError(f"Index folder {folder} is gone: rebuild with `assistant index --index {folder.parent}`.")
        try:  # a generation written before leases
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            return None
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        same = os.stat(path).st_ino == os.fstat(fd).st_ino  # not removed between open and lock
    except OSError:  # BlockingIOError: a build is removing it; FileNotFoundError: removed
        same = False
    if not same:
        os.close(fd)
        raise IndexCorruptError(f"Index folder {folder} was removed by a build: rebuild with "
                                f"`assistant index --index {folder.parent}`.")
    return Lease(fd, folder.name)


def manifest_stamp(index_dir: str | Path) -> tuple[int, int, int] | None:
    """What changes whenever a build commits (the manifest is replaced, never edited):
    (inode, modification time, size) of ``manifest.json``; None when there is none."""
    try:
        st = os.stat(Path(index_dir) / MANIFEST)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


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
    if root.exists() and not root.is_dir():
        raise IndexNotFoundError(f"--index {root} is a file, not an index folder: pass the folder the index was "
                                 "built in (e.g. --index index).")
    if not path.is_file():
        raise IndexNotFoundError(f"No index in {root}/: build it with `assistant index --index {root}`.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
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
    if (not isinstance(files, dict) or not set(_FILES) <= set(files) <= set(_FILES + _OPTIONAL)
            or not all(isinstance(v, str) for v in files.values())):
        return '"files" must map file names to checksums'
    if not isinstance(articles, dict) or not all(isinstance(a, dict) and isinstance(a.get("hash"), str) for a in articles.values()):
        return '"articles" must map document ids to {"hash": ...}'
    if not isinstance(m.get("model"), str) or not isinstance(m.get("dim"), int):
        return '"model" must be a name and "dim" a number'
    return None


def load_index(index_dir: str | Path, expect_model: str | None = None, verify: bool = False,
               lazy: bool = True) -> StoredIndex:
    """Open and check an index. ``expect_model``: fail when it was built with another model.
    Files up to a few MB are checksummed on every open, all of them with ``verify`` (a
    build does that before it reuses rows). ``lazy``: memory-map instead of reading.
    When the generation read turns out damaged or gone because a build replaced it in the
    meantime (the manifest now names another one), the load is retried once."""
    root = Path(index_dir)
    manifest = read_manifest(root)
    try:
        return _load_generation(root, manifest, expect_model, verify, lazy)
    except IndexCorruptError:
        try:
            moved = read_manifest(root)
        except (IndexNotFoundError, IndexCorruptError, IndexMismatchError):
            moved = manifest
        if moved.get("data_dir") == manifest.get("data_dir"):
            raise
        return _load_generation(root, moved, expect_model, verify, lazy)


def _load_generation(root: Path, manifest: dict[str, Any], expect_model: str | None, verify: bool,
                     lazy: bool = True) -> StoredIndex:
    import faiss

    from .lexical import LexicalIndex

    rebuild = f"`assistant index --index {root}`"
    if expect_model is not None and manifest.get("model") != expect_model:
        raise IndexMismatchError(
            f"The index in {root}/ was built with model {manifest.get('model')!r}, not {expect_model!r}: "
            f"rebuild it with {rebuild} --model {expect_model}, or leave --model out."
        )
    data = root / manifest["data_dir"]
    mmap = "r" if lazy else None
    lease = _lease(data)  # before any file is read: from now on no build removes them
    try:
        for name, digest in manifest["files"].items():
            path = data / name
            if not path.is_file():
                raise IndexCorruptError(f"Index file {path} is missing: rebuild with {rebuild}.")
            if (verify or path.stat().st_size <= _SMALL) and _sha256(path) != digest:
                raise IndexCorruptError(f"Index file {path} is damaged (checksum mismatch): rebuild with {rebuild}.")
        embeddings = None
        if "embeddings.npy" in manifest["files"]:
            embeddings = np.load(data / "embeddings.npy", allow_pickle=False, mmap_mode="r")
        faiss_index = ann.wrap(_read_faiss(data / "vectors.faiss", lazy), manifest.get("index"), embeddings)
        chunk_rows = np.load(data / "chunks.npy", allow_pickle=False, mmap_mode=mmap)
        sentence_rows = np.load(data / "sentences.npy", allow_pickle=False, mmap_mode=mmap)
        sentence_vectors = np.load(data / "sentence_vectors.npy", allow_pickle=False, mmap_mode=mmap)
        doc_rows = _read_jsonl(data / "documents.jsonl")
        lexical = LexicalIndex.load(data / "bm25", mmap=lazy)
    except IndexCorruptError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        raise IndexCorruptError(
            f"The index in {root}/ is incomplete or damaged ({type(e).__name__}: {str(e)[:120]}): rebuild with {rebuild}."
        ) from e
    try:
        texts = None
        if not lazy:
            blob = (data / "texts.bin").read_bytes()
            texts = {r["doc_id"]: blob[r["offset"] : r["offset"] + r["length"]].decode("utf-8", "surrogatepass") for r in doc_rows}
        articles = ArticleStore(data / "texts.bin", doc_rows, texts)
        n_docs = len(articles)
        for rows in (chunk_rows, sentence_rows):
            if rows.ndim != 2 or rows.shape[1] != 3 or (len(rows) and not 0 <= int(rows[:, 0].min()) <= int(rows[:, 0].max()) < n_docs):
                raise ValueError("a row names an unknown article")
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as e:
        raise IndexCorruptError(
            f"The index in {root}/ is damaged (a row is malformed or names an unknown article: {type(e).__name__} {str(e)[:80]}): "
            f"rebuild with {rebuild}."
        ) from e
    if faiss_index.ntotal != len(chunk_rows) or lexical.n != len(chunk_rows) or len(sentence_rows) != len(sentence_vectors):
        raise IndexCorruptError(f"The index in {root}/ is inconsistent (row counts differ): rebuild with {rebuild}.")
    return StoredIndex(manifest, articles, ChunkTable(chunk_rows, articles), faiss_index,
                       SentenceTable(sentence_rows, articles), sentence_vectors, lexical, embeddings, lease)


def _read_faiss(path: Path, lazy: bool):
    """FAISS read with memory mapping where the index type allows it."""
    import faiss

    if lazy:
        for flag in ("IO_FLAG_MMAP_IFC", "IO_FLAG_MMAP"):
            if hasattr(faiss, flag):
                try:
                    return faiss.read_index(str(path), getattr(faiss, flag) | faiss.IO_FLAG_READ_ONLY)
                except RuntimeError:
                    continue
    return faiss.read_index(str(path))
