"""News metadata of an article: publication date (ISO 8601), source, author and URL.

``normalize_metadata`` runs at load time on whatever a reader found (YAML front matter,
trafilatura's HTML metadata, BEIR fields) and adds the canonical keys ``date``,
``source``, ``author`` and ``url``; ``article_info`` reads them back. Dates keep the
precision they were given with: ``2021-03-25``, ``2021-03`` or ``2021``."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

# first key found wins, in this order
DATE_KEYS = ("date", "publish_date", "published", "pubdate", "date_published", "datePublished", "created")
SOURCE_KEYS = ("source", "sitename", "publisher", "site_name", "outlet")
AUTHOR_KEYS = ("author", "authors", "byline", "creator")
URL_KEYS = ("url", "link", "canonical_url", "source_url")

_ISO = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ][0-9:.+\-Z]*)?\s*$")


@dataclass(frozen=True)
class NewsInfo:
    date: str | None = None
    source: str | None = None
    author: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"date": self.date, "source": self.source, "author": self.author, "url": self.url}


def normalize_date(value: Any) -> str | None:
    """An ISO 8601 date (``YYYY-MM-DD``, or ``YYYY-MM`` / ``YYYY`` when that is all that is
    known) from a date, a datetime or a string in a common format; None if it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    m = _ISO.match(text)
    if m:
        y, mo, d = m.group(1), m.group(2), m.group(3)
        try:
            if d:
                return dt.date(int(y), int(mo), int(d)).isoformat()
            if mo:
                dt.date(int(y), int(mo), 1)
                return f"{int(y):04d}-{int(mo):02d}"
            return f"{int(y):04d}"
        except ValueError:
            return None
    from dateutil import parser

    try:
        parsed = parser.parse(text, default=dt.datetime(1, 1, 1))
    except (ValueError, OverflowError):
        return None
    return parsed.date().isoformat() if parsed.year > 1 else None


def date_interval(iso: str | None) -> tuple[dt.date, dt.date] | None:
    """First and last day covered by an ISO date of any precision."""
    if not iso:
        return None
    parts = [int(p) for p in iso.split("-")]
    if len(parts) == 3:
        d = dt.date(*parts)
        return d, d
    if len(parts) == 2:
        first = dt.date(parts[0], parts[1], 1)
        nxt = dt.date(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1)
        return first, nxt - dt.timedelta(days=1)
    return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)


def _first(meta: Mapping[str, Any], keys) -> Any:
    for k in keys:
        v = meta.get(k)
        if v not in (None, "", [], {}):
            return v
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value if v not in (None, ""))
    text = " ".join(str(value).split())
    return text or None


def normalize_metadata(meta: Mapping[str, Any]) -> dict[str, str]:
    """``meta`` as strings, plus canonical ``date`` (ISO), ``source``, ``author`` and ``url``
    where any of their usual keys holds a value. A nested BEIR ``metadata`` object is read
    too. An unreadable date is kept under its own key and left out of ``date``."""
    flat: dict[str, Any] = {}
    nested = meta.get("metadata")
    if isinstance(nested, Mapping):
        flat.update({str(k): v for k, v in nested.items()})
    flat.update({str(k): v for k, v in meta.items() if k != "metadata"})
    out = {k: t for k, v in flat.items() if (t := _as_text(v)) is not None}
    for key, keys, fn in (("date", DATE_KEYS, normalize_date), ("source", SOURCE_KEYS, _text),
                          ("author", AUTHOR_KEYS, _text), ("url", URL_KEYS, _text)):
        value = fn(_first(flat, keys))
        if value:
            out[key] = value
        elif key == "date" and "date" in out:
            out["date_text"] = out.pop("date")  # kept, but not claimed as a date
    return out


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return normalize_date(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return None
    return str(value)


def info_of(articles, doc_id: str) -> NewsInfo:
    """``article_info`` of ``articles[doc_id]``, from the stored metadata alone when the
    mapping keeps it in memory (an opened index reads texts only when they are shown)."""
    meta_of = getattr(articles, "metadata_of", None)
    if meta_of is not None:
        return _info(meta_of(doc_id))
    return article_info(articles[doc_id])


def article_info(article) -> NewsInfo:
    """The canonical news fields of an ``Article`` (None where unknown)."""
    return _info(article.metadata or {})


def _info(meta) -> NewsInfo:
    date = meta.get("date")
    return NewsInfo(
        date=normalize_date(date) if date else None,
        source=meta.get("source") or None,
        author=meta.get("author") or None,
        url=meta.get("url") or None,
    )


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, else None (never a javascript: link)."""
    if not url:
        return None
    u = url.strip()
    return u if re.match(r"^https?://[^\s<>\"']+$", u, re.I) else None
