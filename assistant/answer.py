"""The answer stage: pick the sentences of the retrieved passages that best answer the
question, compose a short answer with [n] markers, verify every quote against the stored
article text, or abstain when the passages do not support an answer. No LLM."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

from .lexical import terms
from .text import split_sentences
from .types import Answer, Article, Citation, Hit

ABSTAIN_PREFIX = "The articles do not say"

_NUMBER = re.compile(r"\d")
_CAPITAL = re.compile(r"(?<![.!?“\"]\s)(?<!^)\b[A-Z][a-z]")
_TYPES = [  # question pattern → what the answer sentence should contain
    (re.compile(r"\b(how (many|much|long|old|far|big|large|often)|what (percentage|percent|number|amount|year|proportion)|when|what time)\b", re.I), _NUMBER),
    (re.compile(r"\b(who|whom|whose|which (company|factory|person|organi[sz]ation|country))\b", re.I), _CAPITAL),
]


@dataclass(frozen=True)
class AnswerPolicy:
    """The answer stage's knobs (defaults mirror Settings; see there for their meaning)."""

    max_sentences: int = 2
    second_sentence_ratio: float = 0.5
    rerank_top: int = 40
    similarity_weight: float = 1.0
    min_dense_score: float = 0.25
    min_term_coverage: float = 0.15
    min_sentence_similarity: float = 0.38

    @classmethod
    def from_settings(cls, s) -> "AnswerPolicy":
        return cls(s.max_answer_sentences, s.second_sentence_ratio, s.rerank_top, s.similarity_weight,
                   s.min_dense_score, s.min_term_coverage, s.min_sentence_similarity)


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    start: int
    end: int
    score: float
    coverage: float
    similarity: float | None = None  # cosine of the sentence to the query, when embedded


def score_sentences(
    question: str, query: str, hits: Sequence[Hit], articles: Mapping[str, Article], idf: Callable[[str], float]
) -> list[Candidate]:
    """Every distinct sentence of the hits, scored: idf-weighted share of the question's
    terms it contains (terms the rewrite added count half), a small bonus for a better
    ranked passage, and a bonus when it has what the question asks for (a number for
    "how many", a name for "who")."""
    q_terms = set(terms(question))
    extra = set(terms(query)) - q_terms
    weights = {t: idf(t) for t in q_terms} | {t: 0.5 * idf(t) for t in extra}
    total = sum(weights.values()) or 1.0
    want = [pattern for qpat, pattern in _TYPES if qpat.search(question)]
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        text = articles[hit.chunk.doc_id].text
        for a, b in split_sentences(text, hit.chunk.start, hit.chunk.end):
            if (hit.chunk.doc_id, a) in seen:
                continue
            seen.add((hit.chunk.doc_id, a))
            sentence = text[a:b]
            s_terms = set(terms(sentence))
            coverage = sum(w for t, w in weights.items() if t in s_terms) / total
            score = coverage + 0.1 / hit.rank
            if any(p.search(sentence) for p in want):
                score += 0.1
            if len(s_terms) < 3:
                score -= 0.2
            out.append(Candidate(hit, a, b, score, coverage))
    out.sort(key=lambda c: (-c.score, c.hit.rank, c.start))
    return out


def compose(
    question: str,
    query: str,
    hits: Sequence[Hit],
    articles: Mapping[str, Article],
    idf: Callable[[str], float],
    policy: AnswerPolicy = AnswerPolicy(),
    top_dense: float | None = None,
    related: Sequence[Hit] | None = None,
    similarity: Callable[[str, int, int], float | None] | None = None,
) -> Answer:
    """An extractive answer with verified citations, or an abstention. ``hits`` are the
    passages the answer may quote; ``related`` (default: ``hits``) are returned with it.
    With ``similarity(doc_id, start, end)`` (a sentence's cosine to the query), the best
    lexical candidates are re-scored by it."""
    related = tuple(related if related is not None else hits)
    ranked = score_sentences(question, query, hits, articles, idf)
    if ranked and similarity is not None:
        ranked = rerank(ranked, similarity, policy)
    if not ranked or should_abstain(ranked[0], top_dense, policy, ranked):
        return abstain(question, query, related)
    chosen = [ranked[0]]
    for c in ranked[1:]:
        if len(chosen) >= policy.max_sentences or c.score < policy.second_sentence_ratio * ranked[0].score:
            break
        if c.coverage > 0:
            chosen.append(c)
    citations = []
    parts = []
    for c in chosen:
        article = articles[c.hit.chunk.doc_id]
        quote = c.hit.chunk.text[c.start - c.hit.chunk.start : c.end - c.hit.chunk.start]
        if article.text[c.start : c.end] != quote:  # never show a quote we cannot verify
            continue
        n = len(citations) + 1
        citations.append(Citation(n, article.doc_id, article.title, quote, c.start, c.end, round(c.score, 4)))
        parts.append(f"{quote} [{n}]")
    if not citations:
        return abstain(question, query, related)
    return Answer(question, query, " ".join(parts), False, tuple(citations), related)


def rerank(ranked: list[Candidate], similarity: Callable[[str, int, int], float | None],
           policy: AnswerPolicy) -> list[Candidate]:
    """Add ``similarity_weight`` × cosine(query, sentence) to the best lexical candidates."""
    top = []
    for c in ranked[: policy.rerank_top]:
        sim = similarity(c.hit.chunk.doc_id, c.start, c.end)
        top.append(c if sim is None else replace(c, score=c.score + policy.similarity_weight * sim, similarity=sim))
    top.sort(key=lambda c: (-c.score, c.hit.rank, c.start))
    return top + ranked[policy.rerank_top :]


def should_abstain(best: Candidate, top_dense: float | None, policy: AnswerPolicy, ranked: Sequence[Candidate] = ()) -> bool:
    """Abstain when the passages are far from the question (dense score), when the best
    sentence shares too little of the question's weighted terms, or when no re-scored
    sentence is close enough to the question."""
    if top_dense is not None and top_dense < policy.min_dense_score:
        return True
    if best.coverage < policy.min_term_coverage:
        return True
    sims = [c.similarity for c in ranked if c.similarity is not None]
    return bool(sims) and max(sims) < policy.min_sentence_similarity


def abstain(question: str, query: str, hits: Sequence[Hit]) -> Answer:
    text = f"{ABSTAIN_PREFIX} — no passage answers this question. The closest passages are listed as related."
    return Answer(question, query, text, True, (), tuple(hits))
