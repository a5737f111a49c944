"""Turn answers into HTML for the web UI. Pure functions: values in, an HTML string out.

Every piece of text that comes from an article, a question or an answer goes through
``html.escape`` before it reaches the page, so article text can never become markup.
The only markup is the one written here (``<mark>``, links to source cards, ``<details>``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Mapping, Sequence

from ..ingest.newsmeta import safe_url
from ..types import Answer, Article, Citation, Hit

CONTEXT_CHARS = 260  # characters of surrounding passage shown on each side of a quote
RELATED_CHARS = 260  # characters of a related passage shown under an abstention
QUESTION_CHARS = 300  # a very long question is shown shortened
_MARKER = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class Turn:
    """One exchange in the chat: the question and either an answer or a polite notice
    (a rejected question, an error)."""

    question: str
    answer: Answer | None = None
    notice: str = ""


def highlight(text: str, start: int, end: int, part: tuple[int, int] | None = None) -> str:
    """``text`` escaped, with ``text[start:end]`` wrapped in ``<mark>`` and, inside it, the
    answering ``part`` (offsets into ``text``) in ``<strong class="answer-part">``."""
    return highlight_spans(text, [(start, end, part)])


def highlight_spans(text: str, spans: Sequence[tuple[int, int, tuple[int, int] | None]]) -> str:
    """``text`` escaped with each ``(start, end, part)`` span marked (overlapping spans
    are marked once, as their union; a part is kept only when its span stands alone)."""
    merged: list[list] = []
    for start, end, part in sorted((max(0, min(a, len(text))), max(0, min(b, len(text))), p) for a, b, p in spans):
        end = max(start, end)
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = None
        else:
            merged.append([start, end, part])
    out, pos = [], 0
    for start, end, part in merged:
        out.append(f"{escape(text[pos:start])}<mark>{_mark_part(text, start, end, part)}</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def _mark_part(text: str, start: int, end: int, part: tuple[int, int] | None) -> str:
    if part is None or not start <= part[0] < part[1] <= end:
        return escape(text[start:end])
    a, b = part
    return (f"{escape(text[start:a])}<strong class=\"answer-part\">{escape(text[a:b])}</strong>"
            f"{escape(text[b:end])}")


def paragraphs(text: str, start: int, end: int | None = None) -> str:
    """The whole article as ``<p>`` paragraphs (one per line of text, blank lines dropped),
    escaped, with ``text[start:end]`` marked wherever it falls (``start`` may instead be a
    list of ``(start, end)`` spans, each marked)."""
    spans = [(start, end)] if end is not None else [tuple(x) for x in start]
    out = []
    pos = 0
    for line in text.split("\n"):
        a, b = pos, pos + len(line)
        pos = b + 1
        if not line.strip():
            continue
        inside = [(max(s, a) - a, min(e, b) - a, None) for s, e in spans if s < b and e > a]
        out.append(f"<p>{highlight_spans(line, inside) if inside else escape(line)}</p>")
    return "".join(out)


def passage_around(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> tuple[int, int]:
    """The span ``(a, b)`` of the passage around ``text[start:end]``: the quote's
    paragraph, cut to about ``context`` characters on each side at a word boundary."""
    a = text.rfind("\n", 0, start) + 1
    b = text.find("\n", end)
    b = len(text) if b < 0 else b
    if start - a > context:
        cut = text.find(" ", start - context, start)
        a = cut + 1 if cut >= 0 else start - context
    if b - end > context:
        cut = text.rfind(" ", end, end + context)
        b = cut if cut > end else end + context
    while a < start and text[a].isspace():
        a += 1
    while b > end and text[b - 1].isspace():
        b -= 1
    return a, b


def render_marker_text(text: str, citations: Sequence[Citation], turn_id: str,
                       card_of: Mapping[int, int] | None = None) -> str:
    """Answer text escaped, each ``[n]`` of a known citation made a link to its source card
    (``card_of[n]``: the card that shows quote n, when quotes share one; hovering shows the
    article title and quote)."""
    by_n = {c.n: c for c in citations}
    card_of = card_of or {}

    def link(m: re.Match) -> str:
        c = by_n.get(int(m.group(1)))
        if c is None:
            return m.group(0)
        tip = escape(f"{c.title}: “{c.quote}”", quote=True)
        return (
            f'<a class="cite" href="#src-{turn_id}-{card_of.get(c.n, c.n)}" data-n="{c.n}" title="{tip}">'
            f"[{c.n}]</a>"
        )

    html = _MARKER.sub(link, escape(text, quote=False))
    for c in citations:  # the answering part of each quote, in bold
        if c.answer_span is not None:
            plain = escape(c.quote, quote=False)
            a, b = c.answer_span[0] - c.start, c.answer_span[1] - c.start
            html = html.replace(plain, _mark_part(c.quote, 0, len(c.quote), (a, b)), 1)
    return html


def group_citations(citations: Sequence[Citation], articles: Mapping[str, Article]) -> list[tuple[Citation, ...]]:
    """The citations grouped by the passage a card shows: quotes of one article whose
    passages overlap share a card (two quotes from one paragraph are one card, not two
    cards with the same text). Order: by each group's first citation."""
    groups: list[list] = []  # [doc_id, a, b, [citations]]
    for c in citations:
        article = articles.get(c.doc_id)
        if article is None or article.text[c.start:c.end] != c.quote:
            groups.append([c.doc_id, None, None, [c]])
            continue
        a, b = passage_around(article.text, c.start, c.end)
        for g in groups:
            if g[0] == c.doc_id and g[1] is not None and a < g[2] and b > g[1]:
                g[1], g[2] = min(a, g[1]), max(b, g[2])
                g[3].append(c)
                break
        else:
            groups.append([c.doc_id, a, b, [c]])
    return [tuple(g[3]) for g in groups]


def render_source_card(citation: Citation | Sequence[Citation], article: Article | None, turn_id: str,
                       whole_inline: bool = True) -> str:
    """A source card: ``[n]`` and the article title, the quote highlighted inside its
    surrounding passage, and the whole article (quote highlighted in place) behind a
    ``<details>`` toggle. Given several citations of one passage (``group_citations``), one
    card shows them all, each quote highlighted and every ``[n]`` in its head.
    Without ``whole_inline`` the toggle carries only the article id and the quotes'
    offsets, and the page fetches the text when it is opened (``render_whole_article``),
    so earlier turns do not resend whole articles."""
    group = (citation,) if isinstance(citation, Citation) else tuple(citation)
    c = group[0]
    numbers = "".join(f'<span class="src-n">[{g.n}]</span>' for g in group)
    head = (
        f'<div class="src-head">{numbers} '
        f'<span class="src-title">{escape(c.title)}</span>{render_byline(c)}</div>'
    )
    text = article.text if article is not None else ""
    if article is None or any(text[g.start : g.end] != g.quote for g in group):
        body = "".join(f'<div class="passage"><mark>{escape(g.quote)}</mark></div>' for g in group)
        whole = ""
    else:
        a, b = passage_around(text, min(g.start for g in group), max(g.end for g in group))
        # an ellipsis only where the passage was cut inside a paragraph
        lead = "… " if text[:a].rstrip(" \t")[-1:] not in ("", "\n") else ""
        tail = " …" if text[b:].lstrip(" \t")[:1] not in ("", "\n") else ""
        spans = [(g.start - a, g.end - a, None if g.answer_span is None else (g.answer_span[0] - a, g.answer_span[1] - a))
                 for g in group]
        body = f'<div class="passage">{lead}{highlight_spans(text[a:b], spans)}{tail}</div>'
        whole = render_whole_toggle(article, [(g.start, g.end) for g in group], whole_inline)
    also = render_also(c)
    cls = "src-card earlier" if c.earlier_report else "src-card"
    return f'<div class="{cls}" id="src-{turn_id}-{c.n}">{head}{body}{also}{whole}</div>'


def render_whole_toggle(article: Article, spans: Sequence[tuple[int, int]], inline: bool) -> str:
    """"Open the whole article": the article in a box on a wide screen, a full-height view
    on a phone, with "Back to the answer" to close it (``inline=False``: fetched when opened)."""
    summary = ('<summary><span class="open-label">Open the whole article</span>'
               '<span class="back-label">← Back to the answer</span></summary>')
    if inline:
        return f'<details class="whole">{summary}<div class="article-text">{paragraphs(article.text, spans)}</div></details>'
    start, end = spans[0]
    spans_attr = ",".join(f"{a}-{b}" for a, b in spans)
    return (f'<details class="whole" data-doc="{escape(article.doc_id, quote=True)}" data-start="{start}" '
            f'data-end="{end}" data-spans="{spans_attr}">{summary}'
            '<div class="article-text" data-lazy="1">Loading…</div></details>')


def render_whole_article(article: Article | None, start: int | Sequence[tuple[int, int]], end: int | None = None) -> str:
    """The article's whole text, escaped, with ``text[start:end]`` (or each of a list of
    spans) highlighted ("" without an article)."""
    return "" if article is None else paragraphs(article.text, start, end)


def render_byline(c: Citation) -> str:
    """Source, date and author beside the title; the URL as a link (http(s) only);
    "earlier report (DATE)" for an older report of a figure a newer article revises."""
    parts = []
    if c.source:
        parts.append(f'<span class="src-source">{escape(c.source)}</span>')
    if c.date:
        parts.append(f'<time class="src-date" datetime="{escape(c.date, quote=True)}">{escape(c.date)}</time>')
    if c.author:
        parts.append(f'<span class="src-author">by {escape(c.author)}</span>')
    url = safe_url(c.url)
    if url:
        parts.append(f'<a class="src-url" href="{escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">link</a>')
    out = f' <span class="src-meta">{" · ".join(parts)}</span>' if parts else ""
    if c.earlier_report:
        out += f' <span class="earlier-tag">earlier report ({escape(c.date or "undated")})</span>'
    return out


def render_also(c: Citation) -> str:
    """The collapsed copies of this article: "Also reported by …"."""
    if not c.also_reported_by:
        return ""
    items = []
    for r in c.also_reported_by:
        label = escape(", ".join(p for p in (r.source or r.title, r.date) if p))
        url = safe_url(r.url)
        items.append(f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{label}</a>'
                     if url else f"<span>{label}</span>")
    return f'<div class="also">Also reported by {"; ".join(items)}</div>'


def render_related(hits: Sequence[Hit], limit: int = 3) -> str:
    """The closest passages, offered under an abstention (no highlight: nothing matched)."""
    items = []
    for h in hits[:limit]:
        passage = " ".join(h.chunk.text.split())
        if len(passage) > RELATED_CHARS:
            passage = passage[:RELATED_CHARS].rsplit(" ", 1)[0] + " …"
        items.append(
            f'<li><span class="src-title">{escape(h.title)}</span>'
            f'<div class="passage">{escape(passage)}</div></li>'
        )
    if not items:
        return ""
    return f'<div class="related"><div class="related-head">Related passages</div><ul>{"".join(items)}</ul></div>'


def render_query(answer: Answer) -> str:
    """The query actually searched, shown small (only when it differs from the question)."""
    if answer.query.strip() == answer.question.strip():
        return ""
    return f'<div class="query">Searched for: {escape(answer.query)}</div>'


def render_scope(answer: Answer) -> str:
    """The dates searched and how many articles ("Articles dated … (“last week”, as of …)")."""
    from ..answer.recency import describe_scope

    line = describe_scope(answer)
    return f'<div class="range">{escape(line)}</div>' if line else ""


def render_answer(answer: Answer, articles: Mapping[str, Article], turn_id: str, whole_inline: bool = True) -> str:
    """An answer with its source cards, or an abstention card with related passages (the
    checked written answer above either, when the user's model wrote one)."""
    written = ""
    if answer.generated is not None:
        from .written import render_written

        written = render_written(answer.generated, articles, turn_id, whole_inline)
    if answer.abstained:
        return (
            f'<div class="bot abstain">{written}<div class="abstain-head">'
            '<span class="icon" aria-hidden="true">∅</span> Not in the articles</div>'
            f'<div class="answer-text">{escape(answer.text)}</div>{render_query(answer)}{render_scope(answer)}'
            f"{render_related(answer.hits)}</div>"
        )
    groups = group_citations(answer.citations, articles)
    card_of = {c.n: g[0].n for g in groups for c in g}
    cards = "".join(render_source_card(g, articles.get(g[0].doc_id), turn_id, whole_inline) for g in groups)
    sources = f'<div class="sources"><div class="sources-head">Sources</div>{cards}</div>' if cards else ""
    return (
        f'<div class="bot answer">{written}<div class="answer-text">'
        f"{render_marker_text(answer.text, answer.citations, turn_id, card_of)}</div>"
        f"{render_query(answer)}{render_scope(answer)}{sources}</div>"
    )


def render_notice(message: str) -> str:
    """A polite message in place of an answer (bad input, an error)."""
    return f'<div class="bot notice"><span class="icon" aria-hidden="true">ℹ</span> {escape(message)}</div>'


def render_question(question: str) -> str:
    shown = question if len(question) <= QUESTION_CHARS else question[:QUESTION_CHARS] + " …"
    if not shown.strip():
        return '<div class="user empty-q">(empty question)</div>'
    return f'<div class="user">{escape(shown)}</div>'


def render_conversation(turns: Sequence[Turn], articles: Mapping[str, Article]) -> str:
    """The whole chat transcript as one HTML string. Only the latest turn carries its
    articles' whole text; earlier turns fetch it when "Open the whole article" is clicked,
    so the page does not grow by whole articles with every turn."""
    if not turns:
        return (
            '<div class="chat"><div class="empty">Ask a question about the articles. '
            "Answers quote the articles word for word; click a [n] to see its source.</div></div>"
        )
    parts = []
    for i, t in enumerate(turns, 1):
        latest = i == len(turns)
        body = render_answer(t.answer, articles, str(i), latest) if t.answer is not None else render_notice(t.notice)
        parts.append(f'<div class="turn" id="turn-{i}">{render_question(t.question)}{body}</div>')
    return f'<div class="chat">{"".join(parts)}</div>'


def render_library(rows: Sequence[Sequence[str]]) -> str:
    """The stored articles as a readable list: the title, then date · source and the id
    (small, for the command line and the API's ``doc_ids``); a note where there is one."""
    if not rows:
        return '<div class="library empty">No articles yet: add some below.</div>'
    items = []
    for title, date, source, doc_id, note in rows:
        meta = " · ".join(escape(p) for p in (date, source) if p)
        items.append(
            f'<li><span class="lib-title">{escape(title)}</span>'
            f'<span class="lib-meta">{meta}{" · " if meta else ""}<span class="lib-id">{escape(doc_id)}</span>'
            f'{f" · <em>{escape(note)}</em>" if note else ""}</span></li>'
        )
    copies = sum(1 for r in rows if r[4].startswith("copy of"))
    n = len(rows) - copies
    count = f"{n} article{'s' if n != 1 else ''}" + (f" and {copies} collapsed cop{'y' if copies == 1 else 'ies'}"
                                                      if copies else "")
    return f'<div class="library"><div class="lib-count">{count}</div><ul>{"".join(items)}</ul></div>'
