"""Load stage: turn a corpus path into ``Article`` values.

Accepted: a folder of ``.txt``/``.md``/``.markdown``/``.html``/``.htm`` files (walked
recursively, sorted, hidden entries skipped), one such file, a BEIR ``corpus.jsonl`` or a
SQuAD v1.1/v2.0 ``.json``. Text files are kept verbatim (only a UTF-8 BOM and the YAML
front matter block are removed) because quotes are checked against ``Article.text`` by
character offsets. Problems with single files become warnings; a corpus with no
articles raises ``CorpusError``.
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CorpusError
from ..types import Article
from .newsmeta import normalize_metadata

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
FOLDER_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES
ACCEPTED = "a folder of .txt/.md/.html files, a BEIR .jsonl or a SQuAD .json"

MAX_FRONT_MATTER_CHARS = 20_000  # front matter is a handful of fields; a longer block is not parsed
_FM_LINE = re.compile(r"^-{3,}[ \t]*\r?$", re.MULTILINE)
_MD_HEADING = re.compile(r"\A\s*#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@dataclass(frozen=True)
class LoadResult:
    articles: list[Article]
    warnings: list[str]


def derive_title(doc_id: str) -> str:
    """``"2024/kaechon-rock-drills"`` -> ``"Kaechon rock drills"``."""
    name = re.sub(r"[-_]+", " ", doc_id.rsplit("/", 1)[-1]).strip() or doc_id
    return name[:1].upper() + name[1:]


def load_corpus(path: str | Path) -> LoadResult:
    """Load every article under ``path`` (see the module docstring for the formats)."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"Corpus path {path} does not exist: pass --corpus with {ACCEPTED}")
    warnings: list[str] = []
    if path.is_dir():
        articles = _load_folder(path, warnings)
    elif not path.is_file():
        raise CorpusError(f"Corpus path {path} is not a regular file (a pipe, device or socket): pass --corpus with {ACCEPTED}")
    else:
        suffix = path.suffix.lower()
        if suffix in FOLDER_SUFFIXES:
            article = _load_file(path, path.stem, path.name, warnings)
            articles = [article] if article else []
        elif suffix == ".jsonl":
            articles = _load_beir(path, warnings)
        elif suffix == ".json":
            articles = load_squad(path, with_questions=False)[0]
        else:
            raise CorpusError(f"Unsupported corpus file {path} ({suffix or 'no extension'}): pass --corpus with {ACCEPTED}")
    articles = [a for a in articles if _storable(a, warnings)]
    if not articles:
        why = f" ({warnings[0]})" if warnings else ""
        raise CorpusError(f"Corpus {path} has no articles with text{why}: add non-empty articles or pass --corpus with {ACCEPTED}")
    return LoadResult(articles=articles, warnings=warnings)


def _storable(article: Article, warnings: list[str]) -> bool:
    """False (with a warning) for an article holding text that is not valid Unicode, such
    as a lone surrogate escaped in JSON ("\\ud800"): it could not be stored or tokenized."""
    parts = [article.doc_id, article.title, article.text, *article.metadata.keys(), *article.metadata.values()]
    try:
        for part in parts:
            if isinstance(part, str):
                part.encode("utf-8")
    except UnicodeEncodeError as e:
        warnings.append(f"skipped {article.doc_id!r}: it holds an invalid character ({e.object[e.start:e.end]!r}, "
                        "a lone surrogate); fix the text and index again")
        return False
    return True


def _load_folder(root: Path, warnings: list[str]) -> list[Article]:
    files: list[tuple[str, Path]] = []
    ignored: list[str] = []
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        kept = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            full = Path(dirpath, d)
            if full.is_symlink():  # never walked: it may point outside the corpus or loop
                rel = full.relative_to(root).as_posix()
                where = "outside the corpus" if not _inside(full, real_root) else "elsewhere in the corpus"
                warnings.append(f"skipped folder link {rel}: it points {where} (copy the articles into {root} instead)")
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = Path(dirpath, name)
            rel = full.relative_to(root).as_posix()
            if full.suffix.lower() in FOLDER_SUFFIXES:
                if not full.is_file() and not full.is_symlink():  # a pipe would block the build forever
                    warnings.append(f"skipped {rel}: not a regular file (a pipe, device or socket); "
                                    "put articles there as ordinary files")
                    continue
                files.append((rel, full))  # a link is followed only if it stays inside (see _read_utf8)
            else:
                ignored.append(rel)
    files.sort(key=lambda f: f[0])
    if not files:
        raise CorpusError(f"Corpus folder {root} has no .txt, .md or .html files: add articles there or pass --corpus with {ACCEPTED}")
    if ignored:
        shown = ", ".join(sorted(ignored)[:5]) + (" ..." if len(ignored) > 5 else "")
        warnings.append(f"ignored {len(ignored)} file(s) that are not .txt/.md/.html: {shown} (pass a .jsonl or .json file directly with --corpus)")
    articles: list[Article] = []
    seen: dict[str, str] = {}
    for rel, full in files:
        doc_id = rel.rsplit(".", 1)[0]
        if doc_id in seen:
            warnings.append(f"skipped {rel}: same document id {doc_id!r} as {seen[doc_id]} (rename one of them)")
            continue
        article = _load_file(full, doc_id, rel, warnings, real_root)
        if article:
            seen[doc_id] = rel
            articles.append(article)
    return articles


def _inside(path: Path, real_root: Path) -> bool:
    """True when ``path``, with every link resolved, is a regular file or folder under ``real_root``."""
    try:
        return path.resolve(strict=True).is_relative_to(real_root)
    except (OSError, RuntimeError):  # dangling link or a link loop
        return False


def _read_utf8(path: Path, shown: str, warnings: list[str], root: Path | None = None) -> str | None:
    """The file's text without newline translation (a UTF-8 BOM is dropped), or None.
    With ``root`` (a resolved folder), the file actually opened must lie under it: checked
    on the open file itself, so a link swapped in after the walk is refused too."""
    try:
        # non-blocking: opening a pipe (swapped in after the walk, or behind a link) must not wait for a writer
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            if root is not None and not _opened_inside(f.fileno(), path, root):
                warnings.append(f"skipped {shown}: it is a link to a file outside the corpus (copy the file into {root} instead)")
                return None
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                warnings.append(f"skipped {shown}: not a regular file (a pipe, device or socket); "
                                "put articles there as ordinary files")
                return None
            data = f.read()
    except OSError as e:
        warnings.append(f"skipped {shown}: cannot read it ({e.strerror or e}); check its permissions")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        warnings.append(f"skipped {shown}: not UTF-8 text (re-save it as UTF-8)")
        return None


def _opened_inside(fd: int, path: Path, root: Path) -> bool:
    proc = f"/proc/self/fd/{fd}"
    try:
        real = Path(os.readlink(proc)) if os.path.exists(proc) else path.resolve(strict=True)
    except OSError:
        return False
    return real.is_relative_to(root)


def _load_file(path: Path, doc_id: str, shown: str, warnings: list[str], root: Path | None = None) -> Article | None:
    raw = _read_utf8(path, shown, warnings, root)
    if raw is None:
        return None
    if path.suffix.lower() in HTML_SUFFIXES:
        return _from_html(raw, doc_id, shown, warnings)
    try:
        metadata, body = _split_front_matter(raw, shown, warnings)
    except _Refused as e:
        warnings.append(f"skipped {shown}: {e}")
        return None
    if not body.strip():
        warnings.append(f"skipped {shown}: it has no text (add the article text or remove the file)")
        return None
    title = metadata.get("title", "").strip()
    if not title and path.suffix.lower() != ".txt":
        heading = _MD_HEADING.match(body)
        title = heading.group(1).strip() if heading else ""
    return Article(doc_id=doc_id, title=title or derive_title(doc_id), text=body, metadata=metadata)


class _Refused(Exception):
    """A file that is not read at all (the message says why and what to do)."""


def _front_matter_loader():
    """A safe YAML loader that refuses aliases (``*name``): front matter is a handful of
    scalar fields, and nested aliases expand exponentially (a 700-byte "billion laughs"
    block would take gigabytes)."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise _Refused("its front matter uses YAML aliases (*name), which are not accepted: "
                               "write each field's value out")
            return super().compose_node(parent, index)

    return NoAliasLoader


def _split_front_matter(raw: str, shown: str, warnings: list[str]) -> tuple[dict[str, str], str]:
    """Split a leading ``---`` YAML block off. The body is the exact remainder of ``raw``
    after the closing ``---`` line (python-frontmatter strips it, so it is not used for that).
    A block using YAML aliases raises _Refused; one over MAX_FRONT_MATTER_CHARS is not parsed."""
    if not raw.startswith("---"):
        return {}, raw
    bounds = list(_FM_LINE.finditer(raw))
    if len(bounds) < 2 or bounds[0].start() != 0:
        return {}, raw
    block, end = raw[bounds[0].end():bounds[1].start()], bounds[1].end()
    body = raw[end + 1:] if raw[end:end + 1] == "\n" else raw[end:]
    if len(block) > MAX_FRONT_MATTER_CHARS:  # not parsed: kept as text like any block that is not front matter
        warnings.append(f"{shown}: the block between its first two --- lines is over {MAX_FRONT_MATTER_CHARS:,} "
                        "characters, so it was kept as text, not read as front matter; keep front matter to a few "
                        "fields (title, date, source, author, url)")
        return {}, raw
    import yaml

    try:
        data = yaml.load(block, Loader=_front_matter_loader())  # noqa: S506 - a SafeLoader subclass
    except _Refused:
        raise
    except Exception as e:  # yaml raises several error types
        warnings.append(f"{shown}: the block between its first two --- lines is not valid YAML ({type(e).__name__}), "
                        "so it was kept as text; fix it if it is meant as front matter")
        return {}, raw
    if not isinstance(data, dict):  # e.g. Markdown rules around a paragraph: not front matter
        return {}, raw
    return normalize_metadata({str(k): v for k, v in data.items() if v is not None}), body


def _from_html(raw: str, doc_id: str, shown: str, warnings: list[str]) -> Article | None:
    import trafilatura

    doc = trafilatura.bare_extraction(raw, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=True)
    text = (doc.text or "") if doc is not None else ""
    if not text.strip():
        warnings.append(f"skipped {shown}: no article text found in the HTML (save the article as .txt instead)")
        return None
    metadata = normalize_metadata({k: str(v) for k in ("title", "date", "author", "url", "sitename")
                                   if (v := getattr(doc, k, None))})
    return Article(doc_id=doc_id, title=metadata.get("title") or derive_title(doc_id), text=text, metadata=metadata)


def jsonl_objects(text: str):
    """``(line number, object, problem)`` for each non-blank line of a JSONL text; ``problem``
    is None for a JSON object, else what is wrong with the line (the caller warns or raises)."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield lineno, None, f"invalid JSON ({e.msg} at column {e.colno})"
            continue
        except RecursionError:
            yield lineno, None, "invalid JSON (nested too deeply)"
            continue
        yield lineno, obj, None if isinstance(obj, dict) else "expected a JSON object"


def _load_beir(path: Path, warnings: list[str]) -> list[Article]:
    """BEIR ``corpus.jsonl``: one ``{"_id"|"id", "title", "text", ...}`` object per line."""
    raw = _read_utf8(path, path.name, warnings)
    if raw is None:
        return []
    articles: list[Article] = []
    seen: set[str] = set()
    for lineno, obj, problem in jsonl_objects(raw):
        where = f"{path.name} line {lineno}"
        if problem:
            warnings.append(f"skipped {where}: {problem}")
            continue
        doc_id = obj.get("_id", obj.get("id"))
        text = obj.get("text")
        if doc_id is None or str(doc_id).strip() == "" or not isinstance(text, str):
            warnings.append(f'skipped {where}: needs "_id" (or "id") and "text"')
            continue
        doc_id = str(doc_id)
        if doc_id in seen:
            warnings.append(f"skipped {where}: duplicate id {doc_id!r}")
            continue
        if not text.strip():
            warnings.append(f"skipped {where}: empty text for id {doc_id!r}")
            continue
        seen.add(doc_id)
        metadata = normalize_metadata({k: v for k, v in obj.items()
                                       if k not in ("_id", "id", "title", "text") and v not in (None, "")})
        title = obj.get("title") if isinstance(obj.get("title"), str) else ""
        articles.append(Article(doc_id=doc_id, title=title.strip() or derive_title(doc_id), text=text, metadata=metadata))
    return articles


def load_squad(path: str | Path, with_questions: bool = True) -> tuple[list[Article], list[dict[str, Any]]]:
    """SQuAD v1.1/v2.0: one article per ``data`` entry (contexts joined with a blank line)
    and its questions ``{"id", "question", "answers", "gold_doc_ids", "is_impossible"}``
    (checked, and a malformed one is a CorpusError naming it; skipped without ``with_questions``)."""
    path = Path(path)
    try:
        obj = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CorpusError(f"Cannot read {path} as JSON ({_json_problem(e)}): pass --corpus with {ACCEPTED}") from e
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, list) or not all(isinstance(d, dict) and isinstance(d.get("paragraphs"), list) for d in data):
        raise CorpusError(f"{path} is not a SQuAD file (expected {{\"data\": [{{\"title\", \"paragraphs\": [...]}}]}}): pass --corpus with {ACCEPTED}")
    articles: list[Article] = []
    questions: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in data:
        doc_id = str(entry.get("title") or f"squad-{len(articles) + 1}")
        paragraphs = [p for p in entry["paragraphs"] if isinstance(p, dict)]
        text = "\n\n".join(str(p.get("context", "")) for p in paragraphs)
        if doc_id in seen or not text.strip():
            continue
        seen.add(doc_id)
        articles.append(Article(doc_id=doc_id, title=doc_id.replace("_", " "), text=text, metadata={"source": "squad"}))
        if with_questions:
            for i, p in enumerate(paragraphs):
                questions.extend(_squad_questions(p.get("qas", []), doc_id, f"{path.name}: article {doc_id!r} paragraph {i + 1}"))
    return articles, questions


def _squad_questions(qas: Any, doc_id: str, where: str) -> list[dict[str, Any]]:
    def bad(what: str) -> CorpusError:
        return CorpusError(f"{where}: {what}; fix the file (SQuAD v1.1/v2.0 layout)")

    if not isinstance(qas, list):
        raise bad('"qas" must be a list of questions')
    out = []
    for qa in qas:
        if not isinstance(qa, dict):
            raise bad('each entry of "qas" must be an object')
        qid = qa.get("id", "")
        question = qa.get("question")
        if not isinstance(question, str) or not question.strip():
            raise bad(f'question {qid!r} has no "question" text')
        impossible = bool(qa.get("is_impossible", False))
        answers = qa.get("answers", [])
        if not isinstance(answers, list) or not all(isinstance(a, dict) and isinstance(a.get("text"), str) for a in answers):
            raise bad(f'question {qid!r}: "answers" must be a list of {{"text": ...}} objects')
        texts = [] if impossible else list(dict.fromkeys(a["text"] for a in answers))
        out.append({"id": str(qid), "question": question, "answers": texts,
                    "gold_doc_ids": [] if impossible else [doc_id], "is_impossible": impossible})
    return out


def _json_problem(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "nested too deeply"
    if isinstance(e, json.JSONDecodeError):
        return f"{e.msg} at line {e.lineno} column {e.colno}"
    return type(e).__name__
