"""Post-step after the answer stage (called by the engine): news metadata on every
citation, collapsed copies listed as "also reported by", and newer reports first.

- Every citation gets its article's ``date``, ``source``, ``author`` and ``url``.
- A citation whose article has collapsed copies (see ``dedup``) lists them.
- For "latest/current/now" questions, citations are ordered newest first.
- When two cited sentences from different articles state different figures about the same
  thing, the newer one goes first and the older one is kept, flagged ``earlier_report``.

The answer text is rebuilt from the quotes in the new order, so ``[n]`` still matches."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

from ..ingest.newsmeta import date_interval, info_of
from ..search.timeparse import parse_time
from ..terms import terms
from ..text import FIGURE, split_sentences
from ..types import Answer, Article, Citation, Report, TimeRange

SAME_THING_OVERLAP = 0.5  # share of content words (of the shorter sentence) two sentences must have in common


def annotate(answer: Answer, articles: Mapping[str, Article],
             copies: Mapping[str, Sequence[str]] | None = None, latest: bool = False,
             newer: Callable[[], Sequence] | None = None) -> Answer:
    """``answer`` with news metadata on its citations, copies listed, and newer reports
    first. For a "latest" question, ``newer()`` gives the answer stage's scored candidate
    sentences; the best one from an article newer than every cited one is cited first."""
    if not answer.citations:
        return answer
    copies = copies or {}
    cites = list(answer.citations)
    if latest and newer is not None:
        ranked = newer()
        extra = newest_candidate(cites, ranked, articles)
        if extra is not None:
            cites = [extra] + cites
        older = earlier_candidate(cites, ranked, articles)
        if older is not None:  # the figure the newest report revises, shown as the earlier report
            cites = cites + [replace(older, n=max(c.n for c in cites) + 1)]
    cites = [_with_meta(c, articles, copies) for c in cites]
    ordered, earlier = order_reports(cites, latest)
    if [c.n for c in ordered] == [c.n for c in answer.citations] and not earlier:
        return replace(answer, citations=tuple(cites))
    renumbered = [replace(c, n=i, earlier_report=c.n in earlier) for i, c in enumerate(ordered, 1)]
    text = " ".join(f"{c.quote} [{c.n}]" for c in renumbered)
    return replace(answer, text=text, citations=tuple(renumbered))


NEWER_SCORE_RATIO = 0.4  # a newer article's sentence must score this share of the best one (0.6 before the
# reader joined the ordering: its probability sharpens the scores, and a newer report of the same figure
# scored 0.51 of the older one on the tests' bridge story)


def newest_candidate(cites: Sequence[Citation], ranked: Sequence, articles: Mapping[str, Article]) -> Citation | None:
    """The best-scored candidate sentence from an article dated after every cited article
    (and scoring at least NEWER_SCORE_RATIO of the best candidate), as a verified citation."""
    if not ranked:
        return None
    cited_end = max((_end(articles, c.doc_id) for c in cites), default=-1)
    best = ranked[0].score
    for cand in ranked:
        if cand.score < NEWER_SCORE_RATIO * best:
            break
        doc = cand.hit.chunk.doc_id
        if doc not in articles or _end(articles, doc) <= cited_end or any(c.doc_id == doc for c in cites):
            continue
        article = articles[doc]
        quote = article.text[cand.start:cand.end]
        if not quote.strip() or cand.coverage <= 0:
            continue
        if not any(same_thing(quote, c.quote) for c in cites):  # a newer report of the same story only
            continue
        return Citation(0, doc, article.title, quote, cand.start, cand.end, round(cand.score, 4))
    return None


def earlier_candidate(cites: Sequence[Citation], ranked: Sequence, articles: Mapping[str, Article],
                      look: int = 10) -> Citation | None:
    """Among the best ``look`` candidate sentences, the best one from an older article (not
    cited) that gives a different figure for the same thing as a cited quote."""
    cited_start = min((_end(articles, c.doc_id) for c in cites), default=-1)
    for cand in list(ranked)[:look]:
        doc = cand.hit.chunk.doc_id
        if doc not in articles or any(c.doc_id == doc for c in cites) or not 0 <= _end(articles, doc) < cited_start:
            continue
        article = articles[doc]
        quote = article.text[cand.start:cand.end]
        if any(figures_differ(quote, c.quote) for c in cites):
            return Citation(0, doc, article.title, quote, cand.start, cand.end, round(cand.score, 4))
    return None


def _end(articles: Mapping[str, Article], doc_id: str) -> int:
    """The last day an article's date covers (as an ordinal), -1 when undated or unknown."""
    span = date_interval(info_of(articles, doc_id).date) if doc_id in articles else None
    return span[1].toordinal() if span else -1


def _with_meta(c: Citation, articles: Mapping[str, Article], copies: Mapping[str, Sequence[str]]) -> Citation:
    if c.doc_id not in articles:
        return c
    info = info_of(articles, c.doc_id)
    also = tuple(_report(articles, d) for d in copies.get(c.doc_id, ()) if d in articles)
    return replace(c, date=info.date, source=info.source, author=info.author, url=info.url, also_reported_by=also)


def _report(articles: Mapping[str, Article], doc_id: str) -> Report:
    info = info_of(articles, doc_id)
    titles = getattr(articles, "titles", None)
    title = titles[doc_id] if titles is not None else articles[doc_id].title
    return Report(doc_id, title, info.date, info.source, info.url)


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
    return {m.group(0).replace(",", "").lower() for m in FIGURE.finditer(sentence)}


def figures_differ(a: str, b: str) -> bool:
    """Two sentences about the same thing (enough content words in common) that state
    different figures."""
    fa, fb = figures(a), figures(b)
    if not fa or not fb or fa == fb:
        return False
    return same_thing(a, b)


def same_thing(a: str, b: str) -> bool:
    """Enough content words (numbers aside) in common to be about the same thing."""
    ta, tb = set(terms(a)), set(terms(b))
    ta -= {t for t in ta if any(ch.isdigit() for ch in t)}
    tb -= {t for t in tb if any(ch.isdigit() for ch in t)}
    if not ta or not tb:
        return False
    return len(ta & tb) / min(len(ta), len(tb)) >= SAME_THING_OVERLAP


# ---------------------------------------------------------------- which articles a question searches

@dataclass(frozen=True)
class Scope:
    question: str  # the question without its time words (what is searched and scored)
    range: TimeRange | None
    doc_ids: Sequence[str]  # the articles searched (shared with the caller: never mutated)
    digest: bool = False  # "what happened last week?": the lead of each article in the range


_GENERIC = set("""what whats which who happened happen happening going on new news any anything
there was were is are be been the a an in of about report reported reports story stories
published publish said say tell me us give latest recent recently headlines headline top
did do does has have had has why how where when up else""".split())


def is_digest_question(question: str) -> bool:
    """True when nothing but generic words is left ("What happened?", "Any news?")."""
    words = re.findall(r"[a-z']+", question.lower())
    return not [w for w in words if w not in _GENERIC]


def scope_question(question: str, as_of: dt.date, explicit: TimeRange | None, base: Sequence[str],
                   articles: Mapping[str, Article]) -> Scope:
    """The articles a question searches: ``base`` narrowed to the publication dates the
    question names (or ``explicit`` since/until). Undated articles are left out of a dated
    search. An absolute range ("Who won in 2017?") or a relative one of a year or more ("How
    many passengers used the route last year?") in which no article is dated may name when
    something happened rather than when it was reported, so then everything is searched
    (unless nothing is left to search for: "What happened last year?"). A shorter relative
    range ("yesterday", "this week") names when it was reported: no article then, no answer."""
    parsed = parse_time(question, as_of)
    rng = parsed.range
    if explicit is not None:
        rng = replace(explicit, latest=bool(rng and rng.latest))
    search_q = parsed.cleaned or question
    docs = base  # not copied: with no dates to apply, every question shares the engine's list
    if rng is not None and rng.filters:
        inside = [d for d in base if in_range(info_of(articles, d).date, rng)]
        if inside or explicit is not None or (parsed.relative and (is_digest_question(search_q) or not _year_or_more(rng))):
            docs = inside
        else:
            rng = replace(rng, applied=False)
    # "What happened last week?" / "What is the latest news?": nothing left to search for
    digest = bool(rng is not None and docs and ((rng.filters and rng.applied) or (rng.latest and not rng.filters))
                  and is_digest_question(search_q))
    return Scope(search_q, rng, docs, digest)


def _year_or_more(rng: TimeRange) -> bool:
    if not rng.start or not rng.end:
        return True  # open-ended ("since 2020"): as long as a year or more
    return (dt.date.fromisoformat(rng.end) - dt.date.fromisoformat(rng.start)).days >= 364


def in_range(date: str | None, rng: TimeRange) -> bool:
    """Whether an article dated ``date`` (ISO, any precision) falls in ``rng``; undated: no."""
    span = date_interval(date)
    if span is None:
        return False
    if rng.start and span[1] < dt.date.fromisoformat(rng.start):
        return False
    if rng.end and span[0] > dt.date.fromisoformat(rng.end):
        return False
    return True


DIGEST_ARTICLES = 3
_MIN_LEAD_WORDS = 10  # shorter first lines are photo captions or datelines


def digest(question: str, query: str, doc_ids: Sequence[str], articles: Mapping[str, Article]) -> Answer:
    """"What happened last week?": the lead sentence of the newest articles in the range,
    newest first, each a verified quote."""
    newest = sorted(doc_ids, key=lambda d: (-_end(articles, d), d))[:DIGEST_ARTICLES]
    cites = []
    for d in newest:
        text = articles[d].text
        for a, b in split_sentences(text, 0, len(text)):
            if len(text[a:b].split()) >= _MIN_LEAD_WORDS:
                cites.append(Citation(len(cites) + 1, d, articles[d].title, text[a:b], a, b, 0.0))
                break
    body = " ".join(f"{c.quote} [{c.n}]" for c in cites)
    more = len(doc_ids) - len(cites)
    if more > 0:
        body += f" ({more} more article{'s' if more != 1 else ''} in this period.)"
    return Answer(question, query, body, not cites, tuple(cites), ())


def explain_scope(answer: Answer) -> Answer:
    """Say, in an abstention, what was searched: no article in the dates asked about, or
    how many of the articles were searched."""
    if not answer.abstained:
        return answer
    rng, n, total = answer.time_range, answer.searched_articles, answer.total_articles
    if rng is not None and rng.filters and rng.applied and n == 0:
        words = "since/until" if rng.expression == "since/until" else f"“{rng.expression}”, as of {answer.as_of}"
        text = f"No article is dated {rng.describe()} ({words}): searched 0 of {total} articles."
        return replace(answer, text=text)
    if n is not None and total is not None and n < total:
        dated = f" dated {rng.describe()}" if rng is not None and rng.filters and rng.applied else ""
        return replace(answer, text=f"{answer.text} Searched {n} of {total} articles{dated}.")
    return answer


def describe_scope(answer: Answer) -> str:
    """One line on the dates searched, for the page and ``assistant ask`` ("" when the
    question named no time and nothing was restricted)."""
    rng, n, total = answer.time_range, answer.searched_articles, answer.total_articles
    counted = f"{n} of {total} articles searched" if n is not None and total is not None else ""
    if rng is None:
        return counted if n is not None and total is not None and n < total else ""
    words = f"“{rng.expression}”" if rng.expression and rng.expression != "since/until" else "since/until"
    parts = []
    if rng.filters and rng.applied:
        parts.append(f"Articles dated {rng.describe()} ({words}, as of {answer.as_of})")
    elif rng.filters:
        parts.append(f"No article is dated {rng.describe()} ({words}), so all were searched")
    if rng.latest:
        parts.append("newest reports first" if parts else f"Newest reports first ({words})")
    if counted and (rng.filters or (n is not None and n < total)):
        parts.append(counted)
    return "; ".join(parts)
