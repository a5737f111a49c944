"""Plain, typed values passed between the stages (load → chunk → embed → index →
retrieve → answer). Nothing here does work; every stage module takes and returns these."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Article:
    """One stored article. ``text`` is what quotes are checked against, verbatim."""

    doc_id: str
    title: str
    text: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A token-budgeted passage of one article: ``text == article.text[start:end]``."""

    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the scores of each retriever (None
    where that retriever did not return it). ``rank`` starts at 1."""

    chunk: Chunk
    title: str
    score: float
    rank: int
    dense_score: float | None = None
    lexical_score: float | None = None


@dataclass(frozen=True)
class Citation:
    """A verbatim quote: ``quote == article.text[start:end]`` (verified before it is returned)."""

    n: int
    doc_id: str
    title: str
    quote: str
    start: int
    end: int
    score: float
    # news metadata of the article (None where unknown); date is ISO 8601
    date: str | None = None
    source: str | None = None
    author: str | None = None
    url: str | None = None
    # an older report of a figure a newer cited article revises (shown "earlier report (DATE)")
    earlier_report: bool = False
    # near-duplicate copies collapsed into this article at index time
    also_reported_by: tuple["Report", ...] = ()
    # the part of the quote that answers (absolute offsets in the article text), when the
    # question's type is clear: the amount for "how much", the name for "who"…
    answer_span: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "score": round(float(self.score), 4),
            "date": self.date,
            "source": self.source,
            "author": self.author,
            "url": self.url,
            "earlier_report": self.earlier_report,
            "also_reported_by": [r.to_dict() for r in self.also_reported_by],
            "answer_span": None if self.answer_span is None else list(self.answer_span),
        }


@dataclass(frozen=True)
class Report:
    """Another article carrying the same story (a syndicated or near-duplicate copy)."""

    doc_id: str
    title: str
    date: str | None = None
    source: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "title": self.title, "date": self.date, "source": self.source, "url": self.url}


@dataclass(frozen=True)
class TimeRange:
    """The publication dates searched (inclusive; None = open), the words they came from
    (or "--since/--until", "settings") and ``latest`` when newer reports go first."""

    start: str | None = None
    end: str | None = None
    expression: str = ""
    latest: bool = False
    applied: bool = True  # False: no article is dated in the range, so every article was searched

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "expression": self.expression, "latest": self.latest,
                "applied": self.applied}

    def describe(self) -> str:
        """"2026-03-02 to 2026-03-08", "since 2026-03-02", "up to 2021-04-30" or ""."""
        if self.start and self.end:
            return self.start if self.start == self.end else f"{self.start} to {self.end}"
        if self.start:
            return f"since {self.start}"
        return f"up to {self.end}" if self.end else ""

    @property
    def filters(self) -> bool:
        return self.start is not None or self.end is not None


@dataclass(frozen=True)
class Answer:
    """The result of one question. ``query`` is the query actually used for retrieval
    (the question rewritten with the conversation when it is a follow-up). ``hits`` are
    the retrieved passages in rank order (shown as "related" when the answer abstains)."""

    question: str
    query: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    as_of: str | None = None  # the date "now" meant (ISO)
    time_range: TimeRange | None = None  # publication dates searched, when the question or settings limit them
    searched_articles: int | None = None  # articles searched (after filters and collapsed copies)
    total_articles: int | None = None
    # the answer scorer's probability that the passages answer the question (None without one)
    confidence: float | None = None
    # under an abstention: the closest passages, shaped like citations (numbered, dated,
    # verbatim), so the JSON carries what the text output lists as "Related passages"
    related: tuple[Citation, ...] = ()
    # the written answer of the user's model, checked (``generate.Generated``; only with --llm)
    generated: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape printed by ``assistant ask --json`` and returned by the web API."""
        out = {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "abstained": self.abstained,
            "as_of": self.as_of,
            "time_range": self.time_range.to_dict() if self.time_range else None,
            "searched_articles": self.searched_articles,
            "total_articles": self.total_articles,
            "confidence": self.confidence,
            "citations": [c.to_dict() for c in self.citations],
            "related": [c.to_dict() for c in self.related],
        }
        if self.generated is not None:
            out["generated"] = self.generated.to_dict()
        return out

    @property
    def retrieved_doc_ids(self) -> list[str]:
        """Distinct document ids of the hits, in rank order."""
        seen: dict[str, None] = {}
        for h in self.hits:
            seen.setdefault(h.chunk.doc_id, None)
        return list(seen)


@dataclass(frozen=True)
class BuildReport:
    """What ``assistant index`` did."""

    added: int
    changed: int
    removed: int
    unchanged: int
    chunks: int
    embedded_chunks: int
    seconds: float
    warnings: tuple[str, ...] = ()
    index_dir: str = ""
    # near-duplicate groups collapsed at index time: (representative, (copies, ...))
    collapsed: tuple[tuple[str, tuple[str, ...]], ...] = ()
