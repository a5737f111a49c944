"""Post-step after the answer stage (called by the engine): news metadata on every
citation, collapsed copies listed as "also reported by", and newer reports first.

- Every citation gets its article's ``date``, ``source``, ``author`` and ``url``.
- A citation whose article has collapsed copies (see ``dedup``) lists them.
- For "latest/current/now" questions, citations are ordered newest first.
- When two cited sentences from different articles state different figures about the same
  thing, the newer one goes first and the older one is kept, flagged ``earlier_report``.

The answer text is rebuilt from the quotes in the new order, so ``[n]`` still matches."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Mapping, Sequence

from .lexical import terms
from .newsmeta import article_info, date_interval
from .types import Answer, Article, Citation, Report

_FIGURE = re.compile(r"(?<![\w.])[$€£¥]?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|million|billion|thousand|bn|m\b))?", re.I)
SAME_THING_OVERLAP = 0.3  # share of content words two sentences must have in common


def annotate(answer: Answer, articles: Mapping[str, Article],
             copies: Mapping[str, Sequence[str]] | None = None, latest: bool = False) -> Answer:
    """``answer`` with news metadata on its citations, copies listed, and newer reports first."""
    if not answer.citations:
        return answer
    copies = copies or {}
    cites = [_with_meta(c, articles, copies) for c in answer.citations]
    ordered, earlier = order_reports(cites, latest)
    if [c.n for c in ordered] == [c.n for c in cites] and not earlier:
        return replace(answer, citations=tuple(cites))
    renumbered = [replace(c, n=i, earlier_report=c.n in earlier) for i, c in enumerate(ordered, 1)]
    text = " ".join(f"{c.quote} [{c.n}]" for c in renumbered)
    return replace(answer, text=text, citations=tuple(renumbered))


def _with_meta(c: Citation, articles: Mapping[str, Article], copies: Mapping[str, Sequence[str]]) -> Citation:
    article = articles.get(c.doc_id)
    if article is None:
        return c
    info = article_info(article)
    also = tuple(_report(articles[d]) for d in copies.get(c.doc_id, ()) if d in articles)
    return replace(c, date=info.date, source=info.source, author=info.author, url=info.url, also_reported_by=also)


def _report(article: Article) -> Report:
    info = article_info(article)
    return Report(article.doc_id, article.title, info.date, info.source, info.url)


def _sort_key(c: Citation):
    span = date_interval(c.date)
    return span[1].toordinal() if span else -1


def order_reports(cites: Sequence[Citation], latest: bool) -> tuple[list[Citation], set[int]]:
    """(citations in display order, the ``n`` of those that are earlier reports of a figure
    a newer cited article revises)."""
    earlier: set[int] = set()
    for i, a in enumerate(cites):
        for b in cites[i + 1:]:
            if a.doc_id == b.doc_id or not a.date or not b.date or _sort_key(a) == _sort_key(b):
                continue
            if figures_differ(a.quote, b.quote):
                earlier.add(min((a, b), key=_sort_key).n)
    if latest or earlier:
        # newest first; undated last; ties keep the answer stage's order
        ordered = sorted(cites, key=lambda c: (-_sort_key(c), c.n))
    else:
        ordered = list(cites)
    return ordered, earlier


def figures(sentence: str) -> set[str]:
    return {m.group(0).replace(",", "").lower() for m in _FIGURE.finditer(sentence)}


def figures_differ(a: str, b: str) -> bool:
    """Two sentences about the same thing (enough content words in common) that state
    different figures."""
    fa, fb = figures(a), figures(b)
    if not fa or not fb or fa == fb:
        return False
    ta, tb = set(terms(a)), set(terms(b))
    ta -= {t for t in ta if any(ch.isdigit() for ch in t)}
    tb -= {t for t in tb if any(ch.isdigit() for ch in t)}
    if not ta or not tb:
        return False
    return len(ta & tb) / min(len(ta), len(tb)) >= SAME_THING_OVERLAP
