"""The written answer: the extractive answer's passages go to the model (``prompt``), its
reply streams in (``client``) and every sentence is checked (``checker``) before it is
shown as fact. Any fault — unreachable, slow, an HTTP error, a malformed, empty, cut,
over-long or other-language reply — gives status "fallback" with a one-line notice: the
extractive answer, computed first, stands."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, Mapping, Sequence

from ..ingest.newsmeta import info_of
from ..types import Answer, Article, Citation
from .checker import THRESHOLD, Checked, Passage, check_reply, other_language, with_marks
from .client import LLMError, Stream
from .prompt import build_messages, select_passages

FALLBACK = "Written answer unavailable: {reason}. Showing the quoted answer."


@dataclass(frozen=True)
class Generated:
    """The model's answer to one question, checked. ``status``: "streaming" (partial
    ``text`` so far, nothing checked yet), "ok", "refused" (the model says the passages do
    not answer, or the extractive stage abstained and no written sentence is supported) or
    "fallback" (a fault: ``notice`` says which). ``citations`` are the verified source
    cards of the supported sentences, numbered as the passages."""

    status: str
    text: str = ""
    sentences: tuple[Checked, ...] = ()
    passages: tuple[Passage, ...] = ()
    citations: tuple[Citation, ...] = ()
    notice: str = ""
    model: str = ""
    first_token_ms: float | None = None
    total_ms: float | None = None

    @property
    def answer_text(self) -> str:
        """The supported sentences with their verified markers (what counts as the answer)."""
        return " ".join(with_marks(s.text, "".join(f"[{n}]" for n in s.citations)) for s in self.sentences if s.supported)

    @property
    def claims(self) -> list[Checked]:
        return [s for s in self.sentences if s.kind == "claim"]

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "model": self.model or None,
            "answer": self.answer_text if self.status == "ok" else "",
            "reply": self.text,
            "notice": self.notice or None,
            "sentences": [s.to_dict() for s in self.sentences],
            "citations": [c.to_dict() for c in self.citations],
            "passages": [{"n": p.n, "doc_id": p.doc_id, "title": p.title, "start": p.start, "end": p.end}
                         for p in self.passages],
            "first_token_ms": None if self.first_token_ms is None else round(self.first_token_ms, 1),
            "total_ms": None if self.total_ms is None else round(self.total_ms, 1),
        }


def fallback(reason: str, passages: Sequence[Passage] = (), text: str = "", timing: Stream | None = None) -> Generated:
    return Generated("fallback", text, (), tuple(passages), (), FALLBACK.format(reason=reason),
                     timing.model if timing else "", _ms(timing.first_token_s if timing else None),
                     _ms(timing.total_s if timing else None))


def stream_written(answer: Answer, articles: Mapping[str, Article], client, history: Sequence[str] = (),
                   threshold: float = THRESHOLD, limit: int | None = None) -> Iterator[Generated]:
    """Partial ``Generated`` values (status "streaming") as the reply arrives, then the
    checked one. Never raises for a fault of the model or its server."""
    passages = select_passages(answer, articles, **({"limit": limit} if limit else {}))
    if not passages:
        yield fallback("no passages were found to write from")
        return
    messages = build_messages(answer.question, answer.query, passages, history)
    timing = Stream()
    text = ""
    try:
        for piece in client.stream(messages, timing):
            text += piece
            yield Generated("streaming", text, passages=tuple(passages), model=timing.model)
    except LLMError as e:
        yield fallback(str(e), passages, text, timing)
        return
    if other_language(text, passages):
        yield fallback("the model replied in another language than the articles'", passages, text, timing)
        return
    yield judge(answer, articles, text, passages, threshold, timing)


def judge(answer: Answer, articles: Mapping[str, Article], text: str, passages: Sequence[Passage],
          threshold: float = THRESHOLD, timing: Stream | None = None) -> Generated:
    """The checked ``Generated`` for a complete reply."""
    sentences = tuple(check_reply(text, passages, threshold))
    claims = [s for s in sentences if s.kind == "claim"]
    supported = [s for s in claims if s.supported]
    refused = any(s.kind == "refusal" for s in sentences) and not supported
    if not claims and not refused:
        out = fallback("the model's reply states nothing to check", passages, text, timing)
        return out
    if refused or (answer.abstained and not supported):
        status = "refused"
    else:
        status = "ok"
    return Generated(status, text, sentences, tuple(passages), cards(sentences, passages, articles), "",
                     timing.model if timing else "", _ms(timing.first_token_s if timing else None),
                     _ms(timing.total_s if timing else None))


def write_answer(answer: Answer, articles: Mapping[str, Article], client, history: Sequence[str] = (),
                 threshold: float = THRESHOLD) -> Answer:
    """``answer`` with ``generated`` set (the last value of ``stream_written``)."""
    last = None
    for last in stream_written(answer, articles, client, history, threshold):
        pass
    return replace(answer, generated=last)


def cards(sentences: Sequence[Checked], passages: Sequence[Passage], articles: Mapping[str, Article]) -> tuple[Citation, ...]:
    """One verified source card per passage a supported sentence cites: the quote runs
    from the first to the last passage sentence that supports a written one."""
    by_n = {p.n: p for p in passages}
    spans: dict[int, tuple[int, int, float]] = {}
    for s in sentences:
        if not s.supported:
            continue
        for n, a, b in s.support:
            old = spans.get(n)
            spans[n] = (a, b, s.score) if old is None else (min(a, old[0]), max(b, old[1]), max(s.score, old[2]))
    out = []
    for n in sorted(spans):
        p = by_n[n]
        a, b, score = spans[n]
        article = articles.get(p.doc_id)
        if article is None or not (p.start <= a < b <= p.end) or article.text[a:b] != p.text[a - p.start:b - p.start]:
            continue  # never show a quote we cannot verify
        info = info_of(articles, p.doc_id)
        out.append(Citation(n, p.doc_id, p.title, article.text[a:b], a, b, round(score, 4), date=info.date,
                            source=info.source, author=info.author, url=info.url))
    return tuple(out)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0
