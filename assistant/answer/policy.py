"""The answer stage: score every sentence of the retrieved passages with the learned
answer scorer (``assistant.answer.scorer``), answer with the best one — a second only when it
adds a needed fact and is not a near-repeat — or abstain when the probability that the
passages answer the question is under the scorer's threshold. Every quote is verified
against the stored article text; the part that answers is marked where the question's
type is clear. No LLM."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from ..terms import answer_terms as terms
from ..types import Answer, Article, Citation, Hit
from .features import FEATURES, candidates, featurize, is_furniture, read
from .span import answer_span

ABSTAIN_PREFIX = "The articles do not say"
_COL = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class AnswerPolicy:
    """How answers are formed (from ``Settings``; the scorer holds the learned parts)."""

    max_sentences: int = 2
    # a second sentence must have at least this share of the best one's probability ...
    second_sentence_ratio: float = 0.5
    # ... (from another article, holding a question term the chosen ones lack: this share) ...
    other_article_ratio: float = 0.08
    # ... and hold a question term the first one lacks — unless it is a close call: the learned
    # ranker gives it at least this share of the best one's probability (or its score is at
    # least half the best's), so the answer quotes both rather than guess ...
    close_call: float = 0.3
    # ... and overlap a chosen one by less than this (terms, Jaccard)
    max_repeat: float = 0.5
    # abstain below this answerability probability (None: the scorer's own, chosen on held-out articles)
    threshold: float | None = None
    # captions, bylines and footers: probability multiplier unless the question asks for them
    furniture_penalty: float = 0.2
    # how candidates are ordered: "terms" (term share + cosine, sharpened) or "learned" (the ranker)
    ranking: str = "terms"
    temperature: float = 0.1
    learned_weight: float = 0.3  # the learned ranker's probability, added to the term score
    # the reading model's probability that a sentence answers, added to the term score (0: off).
    # 1.0 was chosen on eval/train and eval/dev only (0, 0.5, 0.75, 1, 1.5, 2, 4: answer recall
    # 0.695 -> 0.721 and 0.875 -> 0.875 with fewer sentences per answer; 2 and above lose recall):
    # docs/answers.md#the-reading-model
    reader_weight: float = 1.0
    # how many candidates (best by term share and cosine) the reading model reads
    reader_top: int = 12
    # where the answer span comes from: "rules" (``span.answer_span``, the default), "reader"
    # (the reading model's span head), or "both" (the rules where they mark a typed answer,
    # else the span head). On the gold sentences of SQuAD 2.0 part A the span head agrees with
    # the gold answer more often (0.78 of all answers against 0.70 of the 38 % the rules
    # mark), but on the news training set end to end the rules win (answer_span_precision
    # 0.505 against 0.415; "both" 0.426): docs/answers.md#the-reading-model
    span_source: str = "rules"

    @classmethod
    def from_settings(cls, s) -> "AnswerPolicy":
        return cls(max_sentences=s.max_answer_sentences, second_sentence_ratio=s.second_sentence_ratio,
                   threshold=s.answer_threshold, ranking=s.answer_ranking, reader_weight=s.reader_weight,
                   span_source=s.answer_span)

    @property
    def reads(self) -> bool:
        """Whether answering uses the reading model at all."""
        return bool(self.reader_weight) or self.span_source != "rules"


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    probability: float


@dataclass(frozen=True)
class Ranked:
    """A candidate sentence with the scorer's probability that it answers (``score``)."""

    hit: Hit
    start: int
    end: int
    score: float
    coverage: float
    probability: float = 0.0  # the learned ranker's probability that it holds the answer


def rank(question: str, query: str, hits: Sequence[Hit], articles: Mapping[str, Article],
         idf: Callable[[str], float], scorer, policy: AnswerPolicy = AnswerPolicy(),
         top_dense: float | None = None, similarity=None, article_terms=None,
         reader=None) -> tuple[list[Ranked], float]:
    """Every candidate sentence of ``hits``, best first, and the probability that the
    question is answered by them."""
    cands = candidates(hits, articles)
    if not cands:
        return [], 0.0
    X = featurize(question, query, cands, articles, idf, similarity, top_dense, article_terms)
    scored = scorer.score(X)
    reading = read(query, cands, articles, X, reader, policy.reader_top) if policy.reader_weight else None
    probs = sentence_scores(X, scored.sentence, policy, reading)
    order = np.argsort(-probs, kind="stable")
    learned = np.asarray(scored.sentence, dtype=np.float64)
    ranked = [Ranked(cands[i].hit, cands[i].start, cands[i].end, float(probs[i]), float(X[i, _COL["coverage"]]),
                     float(learned[i])) for i in order]
    return ranked, float(scored.answerable)


def sentence_scores(X: np.ndarray, learned: np.ndarray, policy: AnswerPolicy,
                    reader_logit: np.ndarray | None = None) -> np.ndarray:
    """How well each candidate answers, relative to the best (1.0). ``ranking="terms"``:
    the idf-weighted share of the question's terms the sentence holds plus its cosine to
    the query (plus small bonuses for the passage's rank and for holding what the question
    asks for), sharpened by ``temperature``. Measured on sets the scorer never saw, it picks
    the answering sentence more often than the learned ranker (docs/answers.md), whose output is
    still what the answerability model reads. ``ranking="learned"``: the ranker's
    probabilities. Captions, bylines, footers (unless asked for) and quotes made only of
    the question's own words are ranked down either way."""
    furniture = (X[:, _COL["furniture"]] > 0) & (X[:, _COL["asks_furniture"]] <= 0)
    echo = X[:, _COL["novelty"]] <= 0
    if policy.ranking == "learned":
        probs = np.asarray(learned, dtype=np.float64).copy()
        probs[furniture | echo] *= policy.furniture_penalty
        return probs
    fit = (X[:, _COL["fit_amount"]] + X[:, _COL["fit_when"]] + X[:, _COL["fit_who"]]) > 0
    h = (X[:, _COL["coverage"]] + X[:, _COL["similarity"]] + 0.1 * X[:, _COL["passage_rank"]] + 0.1 * fit
         - 0.2 * (X[:, _COL["length"]] < np.log1p(3)) - 0.5 * furniture - 0.5 * echo
         + policy.learned_weight * np.asarray(learned, dtype=np.float64)
         + policy.reader_weight * reader_probability(reader_logit, len(X)))
    return np.exp((h - h.max()) / policy.temperature)


def reader_probability(logit: np.ndarray | None, n: int) -> np.ndarray:
    """The reading model's probability that each candidate answers (0 where it did not read)."""
    if logit is None:
        return np.zeros(n)
    logit = np.asarray(logit, dtype=np.float64)
    return np.where(np.isnan(logit), 0.0, 1.0 / (1.0 + np.exp(-np.nan_to_num(logit))))


def compose(
    question: str,
    query: str,
    hits: Sequence[Hit],
    articles: Mapping[str, Article],
    idf: Callable[[str], float],
    scorer,
    policy: AnswerPolicy = AnswerPolicy(),
    top_dense: float | None = None,
    related: Sequence[Hit] | None = None,
    similarity: Callable[[str, int, int], float | None] | None = None,
    article_terms: Callable[[str], set[str]] | None = None,
    ranked: tuple[list[Ranked], float] | None = None,
    reader=None,
) -> Answer:
    """An extractive answer with verified citations, or an abstention. ``hits`` are the
    passages the answer may quote; ``related`` (default: ``hits``) are returned with it;
    ``ranked`` is ``rank(...)``'s result when the caller already has it."""
    related = tuple(related if related is not None else hits)
    if ranked is None:
        ranked = rank(question, query, hits, articles, idf, scorer, policy, top_dense, similarity, article_terms,
                      reader)
    ranked, answerable = ranked
    threshold = scorer.threshold if policy.threshold is None else policy.threshold
    if not ranked or answerable < threshold:
        return abstain(question, query, related, answerable)
    chosen = choose(question, query, ranked, articles, idf, policy)
    citations, parts = [], []
    for c in chosen:
        article = articles[c.hit.chunk.doc_id]
        quote = c.hit.chunk.text[c.start - c.hit.chunk.start : c.end - c.hit.chunk.start]
        if article.text[c.start : c.end] != quote:  # never show a quote we cannot verify
            continue
        n = len(citations) + 1
        span = _span(question, query, quote, article.title, reader, policy.span_source)
        citations.append(Citation(n, article.doc_id, article.title, quote, c.start, c.end, round(c.score, 4),
                                  answer_span=None if span is None else (c.start + span[0], c.start + span[1])))
        parts.append(f"{quote} [{n}]")
    if not citations:
        return abstain(question, query, related, answerable)
    return Answer(question, query, " ".join(parts), False, tuple(citations), related,
                  confidence=round(answerable, 4))


def choose(question: str, query: str, ranked: Sequence[Ranked], articles: Mapping[str, Article],
           idf: Callable[[str], float], policy: AnswerPolicy) -> list[Ranked]:
    """The best sentence; then, at most ``max_sentences - 1`` more, each only when it is
    at least ``second_sentence_ratio`` as probable (``other_article_ratio`` for a quote
    from another article), is not a near-repeat of a chosen one, and adds a needed fact: a
    question term none of the chosen quotes (or their articles' titles) holds — e.g. the
    other article of a two-article question — or, when the learned ranker can hardly tell the
    two apart (``close_call``: at least that share of the best's probability), the other
    candidate answer itself. Measured on held-out folds, a close call at 0.3 quotes a second
    sentence for about a third of the questions and lifts answer recall by about 4 points."""
    best = ranked[0]
    chosen = [best]
    wanted = set(terms(question)) | set(terms(query))
    memo: dict[tuple[str, int], tuple[set[str], set[str]]] = {}

    def terms_of(c: Ranked) -> tuple[set[str], set[str]]:
        """(the sentence's terms, those plus its article title's): each candidate read once."""
        key = (c.hit.chunk.doc_id, c.start)
        if key not in memo:
            own = set(terms(articles[key[0]].text[c.start:c.end]))
            memo[key] = (own, own | set(terms(articles[key[0]].title)))
        return memo[key]

    covered = terms_of(best)[1] & wanted
    # a quote from another article is weighed by the learned probability (the term score
    # favours the article the question's words come from)
    def likely(c: Ranked, ratio: float) -> bool:
        return c.score >= ratio * best.score or c.probability >= ratio * best.probability

    probable = [c for c in ranked[1:] if likely(c, policy.other_article_ratio)]
    # first the sentences that hold a question term none of the chosen ones holds, then close calls
    for close_calls in (False, True):
        for c in probable:
            if len(chosen) >= policy.max_sentences:
                break
            if c in chosen:
                continue
            st, facts = terms_of(c)
            adds = (facts & wanted) - covered
            needed = bool(adds) and max(idf(t) for t in adds) >= 1.0
            if (not close_calls and not needed) or (close_calls and not _close(c, best, policy.close_call)):
                continue
            same_article = any(ch.hit.chunk.doc_id == c.hit.chunk.doc_id for ch in chosen)
            if same_article and not close_calls and c.score < policy.second_sentence_ratio * best.score:
                continue
            if any(_jaccard(st, terms_of(ch)[0]) >= policy.max_repeat for ch in chosen):
                continue
            chosen.append(c)
            covered |= facts & wanted
    return chosen


def _span(question: str, query: str, quote: str, title: str, reader, source: str) -> tuple[int, int] | None:
    """The part of ``quote`` that answers (characters in it), by ``AnswerPolicy.span_source``."""
    rules = answer_span(question, quote) if source != "reader" else None
    if source == "rules" or reader is None or (source == "both" and rules is not None):
        return rules
    return reader.read(query, [(title, quote)]).span[0]


def _close(c: Ranked, best: Ranked, ratio: float) -> bool:
    """A close call: ``c``'s ordering score is at least half the best's, or the learned
    ranker gives it at least ``ratio`` of the best's probability while its ordering score is
    not negligible (≥ 5 % of the best's: under the sharpened "terms" ordering, a term score
    within 0.3 of the best)."""
    return c.score >= max(ratio, 0.5) * best.score or (
        c.probability >= ratio * best.probability and c.score >= 0.05 * best.score)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def abstain(question: str, query: str, hits: Sequence[Hit], confidence: float | None = None) -> Answer:
    text = f"{ABSTAIN_PREFIX} — no passage answers this question. The closest passages are listed as related."
    return Answer(question, query, text, True, (), tuple(hits),
                  confidence=None if confidence is None else round(float(confidence), 4))


__all__ = ["ABSTAIN_PREFIX", "AnswerPolicy", "Ranked", "abstain", "choose", "compose", "is_furniture", "rank"]


def related_passages(hits, articles: Mapping[str, Article], limit: int = 3) -> tuple[Citation, ...]:
    """The closest passages offered under an abstention, as citations: the whole passage
    quoted verbatim (``quote == article.text[start:end]``) with the article's news fields."""
    from ..ingest.newsmeta import info_of

    out = []
    for h in hits[:limit]:
        c = h.chunk
        info = info_of(articles, c.doc_id) if c.doc_id in articles else None
        meta = info.to_dict() if info else {}
        out.append(Citation(len(out) + 1, c.doc_id, h.title, c.text, c.start, c.end, round(float(h.score), 4), **meta))
    return tuple(out)
