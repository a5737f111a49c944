"""The articles behind a running app: upload (checked), list, remove to a trash folder,
restore. No UI code here: ``ui.py`` calls it (the example questions are in ``examples.py``).

Uploads land in the corpus folder (so the CLI sees the same corpus) and the index is
brought up to date through the same incremental, atomic ``build_index`` as ``assistant
index``: a failed build leaves the previous index (and the running assistant) in place.
Removed articles go to ``<corpus>/.trash/`` (hidden: never indexed) until the operator
restores them or empties the trash. One ``Library`` serves every browser tab: ``current()``
re-opens the index when it changed on disk (an upload in another tab, or ``assistant
index`` run from the command line), and ``version`` tells a tab that its lists are stale."""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import AssistantError
from ..ingest.newsmeta import date_interval, info_of

ALLOWED = (".txt", ".md", ".html", ".htm", ".jsonl")
MAX_UPLOAD_BYTES = 5_000_000
MAX_JSONL_ARTICLES = 500
TRASH = ".trash"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trashed:
    """A removed article waiting in the trash: ``key`` names it for ``restore``."""

    key: str
    title: str
    file: str  # its file name in the corpus folder
    removed: str  # when (ISO, seconds)


@dataclass(frozen=True)
class UploadResult:
    added: tuple[str, ...]  # doc ids
    refused: tuple[str, ...]  # one line per refused file, saying why and what to do


def safe_name(name: str) -> str:
    """A file name that stays inside the corpus folder: the base name (letters of any
    script kept, NFC-normalised), other characters as "-"."""
    base = os.path.basename(unicodedata.normalize("NFC", str(name)).replace("\\", "/")) or "article"
    stem, dot, ext = base.rpartition(".")
    stem = re.sub(r"[^\w.-]+", "-", stem if dot else base).strip("-._") or "article"
    ext = re.sub(r"[^\w]+", "", ext)
    return f"{stem[:80]}.{ext.lower()}" if dot and ext else stem[:80]


class Library:
    """Holds the current ``Assistant`` and changes the corpus under a lock. With an index
    folder, ``assistant`` follows it: after any build (this app's, or ``assistant index``
    run beside it) the next question is answered from the new generation (LiveAssistant)."""

    def __init__(self, assistant, corpus_dir: str | Path | None, index_dir: str | Path | None, settings=None):
        from ..engine import Assistant, LiveAssistant

        if index_dir and isinstance(assistant, Assistant):
            assistant = LiveAssistant(assistant, index_dir)
        self._assistant = assistant
        self.corpus = Path(corpus_dir) if corpus_dir else None
        self.index = Path(index_dir) if index_dir else None
        self.settings = settings or getattr(assistant, "settings", None)
        self._lock = threading.Lock()

    @property
    def assistant(self):
        """The assistant to answer the next question with (the index's current generation)."""
        live = self._assistant
        return live.current() if hasattr(live, "current") else live

    @property
    def manageable(self) -> bool:
        return self.corpus is not None and self.index is not None and self.corpus.is_dir()

    @property
    def articles(self):
        return self.current().articles

    @property
    def trash(self) -> Path | None:
        return self.corpus / TRASH if self.corpus is not None else None

    def current(self):
        """The assistant over the index as it is on disk now (``LiveAssistant`` follows a
        build from this page or from ``assistant index`` run beside the app)."""
        return self.assistant

    @property
    def version(self):
        """What changes whenever the articles served change: the index generation answering
        now (a tab compares it with the one its lists show)."""
        current = self.assistant
        manifest = getattr(current, "manifest", None) or {}
        return manifest.get("data_dir") or manifest.get("created_at") or id(current)

    # ------------------------------------------------------------ listing

    def rows(self) -> list[list[str]]:
        """[title, date, source, doc id, note] for every stored article, newest first."""
        arts = self.articles
        titles = titles_of(arts)
        copy_of = {c: rep for rep, cs in (getattr(self.assistant, "copies", {}) or {}).items() for c in cs}
        out = []
        for d in arts:
            info = info_of(arts, d)
            note = f"copy of {copy_of[d]} (not searched)" if d in copy_of else ""
            out.append([titles[d], info.date or "", info.source or "", d, note])
        out.sort(key=lambda r: (r[1] == "", _neg(r[1]), r[0].lower()))
        return out

    # ------------------------------------------------------------ changes

    @property
    def max_upload_bytes(self) -> int:
        return getattr(self.settings, "max_upload_bytes", MAX_UPLOAD_BYTES)

    def upload(self, files: Sequence[tuple[str, bytes]], progress: bool = True,
               log: Callable[[str], None] | None = None) -> UploadResult:
        """Check each ``(name, data)`` (type, size, text, each article within
        ``max_article_chars``: the build's own limit), write the accepted ones into the
        corpus folder, then re-index once. A refused file is never written, and an article
        the build still leaves out is reported refused, its file removed."""
        self._need_corpus()
        with self._lock:
            existing = set(self.assistant.articles)
            added: list[str] = []
            refused: list[str] = []
            written: list[Path] = []
            for name, data in files:
                try:
                    items = self._check(name, data, existing | set(added))
                except AssistantError as e:
                    refused.append(f"{os.path.basename(name)}: {e}")
                    continue
                for fname, payload, doc_id in items:
                    written.append(_write_atomic(self.corpus / fname, payload))
                    added.append(doc_id)
            if added:
                try:
                    warnings = self._rebuild(progress, log)
                except Exception:
                    for p in written:  # never leave files the index could not take
                        p.unlink(missing_ok=True)
                    raise
                stored = self.articles
                for doc_id, path in zip(list(added), written):
                    if doc_id not in stored:  # defensive: the build skipped it after all
                        why = next((w for w in warnings if doc_id in w), "the index build left it out")
                        refused.append(f"{path.name}: not indexed ({why})")
                        added.remove(doc_id)
                        path.unlink(missing_ok=True)
            return UploadResult(tuple(added), tuple(refused))

    def remove(self, doc_id: str, progress: bool = True) -> str:
        """Move an article's file from the corpus folder to the trash and re-index; the
        title removed. ``restore`` brings it back until the trash is emptied."""
        self._need_corpus()
        with self._lock:
            if doc_id not in self.assistant.articles:
                raise AssistantError(f"There is no article {doc_id!r} to remove: pick one from the list.")
            path = self._file_of(doc_id)
            if path is None:
                raise AssistantError(f"Article {doc_id!r} is not a file in {self.corpus}/ (it came from a .jsonl or "
                                     "another corpus): remove it there and re-index.")
            title = titles_of(self.assistant.articles)[doc_id]
            now = dt.datetime.now()
            slot = self.trash / f"{now:%Y%m%d-%H%M%S-%f}"
            slot.mkdir(parents=True)
            moved = slot / path.name
            os.replace(path, moved)
            (slot / "title.txt").write_text(title, encoding="utf-8")
            try:
                self._rebuild(progress, None)
            except Exception:
                os.replace(moved, path)
                shutil.rmtree(slot, ignore_errors=True)
                raise
            return title

    def trashed(self) -> list[Trashed]:
        """The removed articles waiting in the trash, most recently removed first."""
        if self.trash is None or not self.trash.is_dir():
            return []
        out = []
        for slot in sorted(self.trash.iterdir(), reverse=True):
            files = [p for p in slot.iterdir() if p.name != "title.txt"] if slot.is_dir() else []
            if len(files) != 1:
                continue
            try:
                title = (slot / "title.txt").read_text(encoding="utf-8").strip() or files[0].name
            except OSError:
                title = files[0].name
            when = dt.datetime.strptime(slot.name[:15], "%Y%m%d-%H%M%S") if re.match(r"\d{8}-\d{6}", slot.name) else None
            out.append(Trashed(slot.name, title, files[0].name, when.isoformat(" ") if when else ""))
        return out

    def restore(self, key: str, progress: bool = True) -> str:
        """Put a trashed article back into the corpus folder and re-index; its title."""
        self._need_corpus()
        with self._lock:
            item = next((t for t in self.trashed() if t.key == key), None)
            if item is None:
                raise AssistantError("That article is no longer in the trash: pick one from the list.")
            slot = self.trash / item.key
            target = self.corpus / item.file
            if target.exists():
                raise AssistantError(f"{item.file} is back in {self.corpus}/ already (uploaded again?): remove that "
                                     "one first to restore this copy.")
            os.replace(slot / item.file, target)
            try:
                self._rebuild(progress, None)
            except Exception:
                os.replace(target, slot / item.file)
                raise
            shutil.rmtree(slot, ignore_errors=True)
            return item.title

    def empty_trash(self) -> int:
        """Delete every article in the trash for good; how many there were."""
        self._need_corpus()
        with self._lock:
            n = len(self.trashed())
            if self.trash.is_dir():
                shutil.rmtree(self.trash)
            return n

    # ------------------------------------------------------------ helpers

    def _need_corpus(self) -> None:
        if not self.manageable:
            raise AssistantError("Articles can be managed only when the app is started with a corpus folder "
                                 "(python app.py --corpus DIR).")

    def _file_of(self, doc_id: str) -> Path | None:
        from ..ingest.load import FOLDER_SUFFIXES

        for suffix in FOLDER_SUFFIXES:
            p = self.corpus / f"{doc_id}{suffix}"
            if p.is_file() and p.resolve().is_relative_to(self.corpus.resolve()):
                return p
        return None

    def _check(self, name: str, data: bytes, taken: set[str]) -> list[tuple[str, bytes, str]]:
        """[(file name, bytes, doc id)] to write for one upload, or AssistantError saying why not."""
        fname = safe_name(name)
        suffix = Path(fname).suffix.lower()
        if suffix not in ALLOWED:
            raise AssistantError(f"{suffix or 'no extension'} files are not accepted: upload .txt, .md, .html or .jsonl.")
        if len(data) > self.max_upload_bytes:
            raise AssistantError(f"{len(data):,} bytes is over the {self.max_upload_bytes:,}-byte limit: split it into smaller files.")
        if not data.strip():
            raise AssistantError("the file is empty: upload an article with text.")
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AssistantError("not UTF-8 text: re-save it as UTF-8 and upload it again.")
        items = _jsonl_items(data) if suffix == ".jsonl" else [(fname, data)]
        out = []
        limit = getattr(self.settings, "max_article_chars", None)
        for fname_i, payload in items:
            doc_id = _check_loads(fname_i, payload, limit)
            if doc_id in taken or (self.corpus / fname_i).exists():
                raise AssistantError(f"an article {doc_id!r} already exists: remove it first or rename the file.")
            taken = taken | {doc_id}
            out.append((fname_i, payload, doc_id))
        return out

    def _rebuild(self, progress: bool, log) -> list[str]:
        from ..engine import Assistant
        from ..store.build import build_index

        enc = getattr(self.assistant, "encoder", None)
        report = build_index(self.corpus, self.index, self.settings, encoder=enc, progress=progress, log=log)
        if not hasattr(self._assistant, "current"):
            self._assistant = Assistant.open(self.index, self.settings, encoder=enc)
        return list(report.warnings)


def _neg(iso: str) -> str:
    span = date_interval(iso) if iso else None
    return f"{10**7 - span[1].toordinal():08d}" if span else ""


def _write_atomic(path: Path, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path


def _check_loads(fname: str, payload: bytes, max_chars: int | None = None) -> str:
    """The doc id the corpus reader gives this file, or AssistantError with its warning
    (also when its text is over ``max_chars``, the limit the build skips articles at)."""
    from ..store.build import within_size_limit
    from ..ingest.load import load_corpus

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / fname
        p.write_bytes(payload)
        try:
            result = load_corpus(p)
        except AssistantError as e:
            raise AssistantError(str(e).split(": add ")[0].split(" has no articles with text")[-1].strip(" ()") or str(e))
    article = result.articles[0]
    if max_chars is not None and not within_size_limit([article], max_chars, warnings := []):
        raise AssistantError(warnings[0].split(": skipped, ", 1)[-1])
    return article.doc_id


def _jsonl_items(data: bytes) -> list[tuple[str, bytes]]:
    """A BEIR-style .jsonl upload becomes one .md file per article (YAML front matter with
    its title, date, source, author and url; the text verbatim after it)."""
    import yaml

    from ..ingest.load import jsonl_objects
    from ..ingest.newsmeta import normalize_metadata

    items = []
    for lineno, obj, problem in jsonl_objects(data.decode("utf-8-sig")):
        if problem:
            raise AssistantError(f"line {lineno}: {problem}; each line must be one object with \"_id\" and \"text\".")
        doc_id, text = obj.get("_id", obj.get("id")), obj.get("text")
        if doc_id in (None, "") or not isinstance(text, str) or not text.strip():
            raise AssistantError(f"line {lineno}: needs \"_id\" (or \"id\") and a non-empty \"text\".")
        meta = normalize_metadata({k: v for k, v in obj.items() if k not in ("_id", "id", "text") and v not in (None, "")})
        front = {k: meta[k] for k in ("title", "date", "source", "author", "url") if meta.get(k)}
        head = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n" if front else ""
        items.append((safe_name(f"{doc_id}.md"), (head + text).encode("utf-8")))
        if len(items) > MAX_JSONL_ARTICLES:
            raise AssistantError(f"more than {MAX_JSONL_ARTICLES} articles in one file: split it, or index it with "
                                 "`assistant index --corpus FILE.jsonl`.")
    if not items:
        raise AssistantError("no articles in the file: one JSON object per line with \"_id\" and \"text\".")
    return items


def titles_of(articles) -> dict[str, str]:
    """doc id -> title, without reading texts when the mapping keeps titles in memory."""
    return getattr(articles, "titles", None) or {d: articles[d].title for d in articles}
