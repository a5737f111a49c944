"""Questions about an article rather than about its story: "Who wrote the ferry story?",
"When was this published?", "Which paper reported it?". The answer comes from the
article's metadata (front matter, HTML metadata, BEIR fields), never from a guess: the
article is the best retrieved one, its lead sentence is quoted as the citation (so the
card shows which article, with its date, source and author), and when the metadata does
not hold the field the answer says so."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Mapping, Sequence

from ..ingest.newsmeta import info_of
from ..text import split_sentences
from ..types import Answer, Article, Citation, Hit

# Narrow on purpose: "Which newspaper boasted about the drilling?" asks about the story.
_PIECE = r"(article|story|report|piece|news|item)"
_AUTHOR = re.compile(r"\b(who (wrote|authored)|author of|who is the author|whose (article|story|report|piece)|"
                     r"(which|what) (journalist|reporter|writer) wrote|byline)\b", re.I)
_DATE = re.compile(rf"\b(when (was|were) (it|this|that|(the|this|that)\b[^?]*?\b{_PIECE}\b[^?]*?) "
                   rf"(published|written|posted|filed)|publication date|(what|which) (date|day) was [^?]*?published)\b",
                   re.I)
_SOURCE = re.compile(rf"\b((which|what) (outlet|newspaper|paper|site|website|publication|agency) "
                     rf"(published|ran|carried) (it|this|that|the)\b|who (published|ran|carried) (it|this|that|"
                     rf"the [^?]*?{_PIECE}))", re.I)
_MIN_LEAD_WORDS = 8


def asks_about_article(question: str) -> str | None:
    """"author", "date" or "source" when the question asks for that about an article."""
    for field, pattern in (("author", _AUTHOR), ("date", _DATE), ("source", _SOURCE)):
        if pattern.search(question):
            return field
    return None


_META_WORDS = re.compile(r"\b(who|whose|which|what|when|wrote|written|authored|author|of|is|was|were|the|this|that|"
                        r"journalist|reporter|writer|byline|published|posted|filed|publication|date|day|outlet|"
                        r"newspaper|paper|site|website|publication|agency|ran|carried|about|article|story|report|"
                        r"piece|news|item|stories|articles|reports)\b", re.I)


def topic_of(question: str) -> str:
    """The question without the words that ask about the article ("When was the story about
    free school lunches published?" -> "free school lunches?"), so retrieval looks for the
    story, not for "wrote"/"published"; "it" when nothing is left (a follow-up)."""
    rest = re.sub(r"\s+([?.!,])", r"\1", " ".join(_META_WORDS.sub(" ", question).split()))
    return rest if re.search(r"\w", rest) else "it"


def answer_about_article(field: str, answer: Answer, hits: Sequence[Hit], articles: Mapping[str, Article]) -> Answer:
    """The metadata answer for the article the question is about: the first cited article,
    else the best retrieved one. An abstention on the story itself is kept only when
    nothing was retrieved."""
    doc_id = answer.citations[0].doc_id if answer.citations else (hits[0].chunk.doc_id if hits else None)
    if doc_id is None or doc_id not in articles:
        return answer
    article = articles[doc_id]
    info = info_of(articles, doc_id)
    value = {"author": info.author, "date": info.date, "source": info.source}[field]
    title = " ".join(article.title.split())
    if value is None:
        what = {"author": "its author", "date": "its publication date", "source": "its source"}[field]
        text = f"“{title}” does not name {what} [1]."
    elif field == "author":
        text = f"“{title}” is by {value} [1]."
    elif field == "date":
        text = f"“{title}” was published on {value} [1]."
    else:
        text = f"“{title}” was published by {value} [1]."
    cite = _lead_citation(article) if not answer.citations or answer.citations[0].doc_id != doc_id else answer.citations[0]
    if cite is None:
        return answer
    return replace(answer, text=text, abstained=False, citations=(replace(cite, n=1),))


def _lead_citation(article: Article) -> Citation | None:
    text = article.text
    for a, b in split_sentences(text, 0, min(len(text), 4000)):
        if len(text[a:b].split()) >= _MIN_LEAD_WORDS:
            return Citation(1, article.doc_id, article.title, text[a:b], a, b, 0.0)
    return None
