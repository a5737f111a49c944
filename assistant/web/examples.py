"""Example questions for the page, made from the current articles: short questions about
the newest articles' subjects ("What happened with the harbour bridge?"), never a cut-off
headline."""
from __future__ import annotations

import re

from ..ingest.newsmeta import date_interval, info_of
from .library import titles_of

def example_questions(articles, copies=None, n: int = 3) -> list[str]:
    """Short example questions made from the current articles: "What happened with the
    harbour bridge?" for the newest ones (the subject of each headline, never a cut-off
    title), plus "What is the latest news?" (answered with the newest articles' lead
    sentences) when the articles are dated. Never hard-coded to one corpus."""
    copy_ids = {c for cs in (copies or {}).values() for c in cs}
    titles = titles_of(articles)
    ids = [d for d in articles if d not in copy_ids]

    def newest(d):
        span = date_interval(info_of(articles, d).date)
        return (-(span[1].toordinal()) if span else 0, titles[d].lower())

    ids.sort(key=newest)
    out: list[str] = []
    for d in ids:
        subject = headline_subject(titles[d], _text(articles, d))
        q = f"What happened with {subject}?" if subject else None
        if q and q not in out:
            out.append(q)
        if len(out) == n:
            break
    if any(info_of(articles, d).date for d in ids):
        out.append("What is the latest news?")
    return out


# words a headline's subject stops before: prepositions, reporting verbs, auxiliaries
_HEAD_STOP = {"to", "in", "on", "at", "after", "for", "as", "with", "over", "from", "by", "amid", "off", "near",
              "across", "against", "into", "under", "before", "than", "says", "say", "said", "and", "but", "or",
              "is", "are", "was", "were", "will", "be", "has", "have", "had", "may", "could", "would", "can",
              "set", "gets", "get", "new", "now", "—", "-", "–", ":"}
MAX_SUBJECT_CHARS = 40


def headline_subject(title: str, text: str = "") -> str | None:
    """The subject of a headline, short enough for an example question: a leading name of
    two or more capitalised words ("Rivermouth Rovers win …" -> "Rivermouth Rovers"), else
    the words before the verb or preposition ("Bridge cost estimate rises to …" -> "the
    bridge cost estimate"); None when nothing short is left. The headline's first word keeps
    its capital when the article's ``text`` never writes it in lower case (a name: "the Kaechon
    rock drills", not "the kaechon rock drills")."""
    words = [w.strip(",;:.!?'\"‘’“”") for w in title.split()]
    words = [w for w in words if w]
    if not words or words[0].lower() in ("what", "which", "who", "why", "how", "when", "where", "is", "are", "do", "does"):
        return None  # a headline that is a question has no subject to ask about
    lower = sum(1 for w in words[1:] if w[:1].islower())
    name = []
    for w in words:
        if not w[:1].isupper():
            break
        name.append(w)
    if len(name) >= 2 and lower >= len(words[1:]) / 2:  # sentence-case headline led by a name
        subject = " ".join(name[:4])
        return subject if len(subject) <= MAX_SUBJECT_CHARS else None
    out = []
    for i, w in enumerate(words):
        low = w.lower()
        # a verb: "-ed" or "-s" after the first word, with words after it (a last word is a plural noun)
        verb_like = 0 < i < len(words) - 1 and (low.endswith("ed") or (
            low.endswith("s") and not low.endswith(("ss", "ches", "shes", "us"))))
        if low in _HEAD_STOP or verb_like or any(ch.isdigit() for ch in w) or w[:1] in "$£€¥" or len(out) == 4:
            break
        out.append(w)
    if not out:
        return None
    proper = len(out) > 1 and out[1][:1].isupper() or (text and not re.search(rf"\b{re.escape(out[0].lower())}", text))
    first = out[0] if proper else out[0].lower()
    subject = "the " + " ".join([first] + [w if w[:1].isupper() else w.lower() for w in out[1:]])
    return subject if len(subject) <= MAX_SUBJECT_CHARS else None


def _text(articles, doc_id: str) -> str:
    try:
        return articles[doc_id].text
    except (KeyError, AttributeError):
        return ""
