"""Evaluation metrics: pure, deterministic functions (no I/O, no model).

``score_question`` turns one answered (or failed) question into a flat row of
per-question values; ``summarize`` aggregates rows into the report's ``summary``.

Conventions (also in eval/README.md):

* A question is answerable when it has gold answers; retrieval and answer metrics
  (``hit@1``, ``hit@5``, ``mrr@10``, ``answer_recall``, ``exact_match``, ``f1``,
  ``false_abstention_rate``, ``answered_in_gold``: answered, first quote from a gold
  article) are averaged over answerable questions,
  ``abstention_accuracy`` over unanswerable ones, ``citation_precision`` and
  ``quote_exactness`` over all citations of all questions.
* Retrieval is scored at the document level: the rank of the first gold document among
  the *distinct* retrieved document ids, in rank order.
* An abstained answer scores 0 on ``answer_recall``/``exact_match``/``f1`` (it gives no
  answer, whatever its wording).
* A question that raised an error is a miss: 0 on every answerable metric, not abstained
  (so it also fails ``abstention_accuracy``), no citations, and no latency (a fast failure
  must not flatter the latency figures).
* ``answer_span_precision``: of the answer parts marked inside the quotes (``answer_span``)
  of answerable questions, the share that agree with a gold answer (one contains the
  other, as whole normalised tokens).
* A metric with nothing to measure it (no answerable questions, no citations, ...) is
  ``None`` (JSON null), never 0 or 1.
"""
from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from typing import Any, Mapping, Sequence

from ..types import Answer, Article

SUMMARY_KEYS = (
    "n",
    "hit@1",
    "hit@5",
    "mrr@10",
    "answer_recall",
    "exact_match",
    "f1",
    "citation_precision",
    "quote_exactness",
    "abstention_accuracy",
    "false_abstention_rate",
    "answered_in_gold",
    "sentences_per_answer",
    "answer_span_precision",
    "latency_ms_p50",
    "latency_ms_p95",
)
# metrics where a smaller value is better (a --fail-under value is a ceiling for them)
LOWER_IS_BETTER = frozenset({"false_abstention_rate", "sentences_per_answer", "latency_ms_p50", "latency_ms_p95"})
# metrics that are shares in [0, 1]
RATES = frozenset(SUMMARY_KEYS) - {"n", "sentences_per_answer", "latency_ms_p50", "latency_ms_p95"}

# ---------------------------------------------------------------- SQuAD v1.1 answer metrics

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str, unicode_punct: bool = False) -> str:
    """Lower-case, drop punctuation, drop articles (a/an/the), collapse whitespace —
    exactly the official SQuAD v1.1 evaluation script (ASCII punctuation only). With
    ``unicode_punct`` other Unicode punctuation (typographic quotes, dashes: “self-reliance,”
    or "1986—when") becomes a space, since it separates words."""
    s = s.lower()
    if unicode_punct:
        s = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in s if ch not in _PUNCT)
    else:
        s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _f1_one(pred: str, gold: str) -> float:
    pred_tokens = normalize_answer(pred).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(pred: str, golds: Sequence[str]) -> float | None:
    """1.0 when the normalised prediction equals a normalised gold answer; None without golds."""
    if not golds:
        return None
    p = normalize_answer(pred)
    return 1.0 if any(p == normalize_answer(g) for g in golds) else 0.0


def f1(pred: str, golds: Sequence[str]) -> float | None:
    """SQuAD token F1, the maximum over the gold answers; None without golds."""
    if not golds:
        return None
    return max(_f1_one(pred, g) for g in golds)


def answer_contains(pred: str, golds: Sequence[str]) -> float | None:
    """1.0 when the normalised prediction contains a normalised gold answer as whole
    tokens (so "20000" is not found inside "120000"); None without golds. Non-ASCII
    punctuation separates words here, so an answer quoting “daily necessities” with
    typographic quotes contains the gold "daily necessities" and "in 1986—when" contains
    "1986" (EM and F1 keep the official ASCII-only normalisation)."""
    if not golds:
        return None
    p = normalize_answer(pred, unicode_punct=True)
    for g in golds:
        ng = normalize_answer(g, unicode_punct=True)
        found = f" {ng} " in f" {p} " if ng else p == ng  # an empty gold: only articles/punctuation
        if found:
            return 1.0
    return 0.0


# ---------------------------------------------------------------- retrieval

def first_gold_rank(retrieved_doc_ids: Sequence[str], gold_doc_ids: Sequence[str]) -> int | None:
    """1-based rank of the first gold document among the distinct retrieved ids (rank order)."""
    gold = set(gold_doc_ids)
    seen: set[str] = set()
    for doc_id in retrieved_doc_ids:
        if doc_id in seen:
            continue
        seen.add(doc_id)
        if doc_id in gold:
            return len(seen)
    return None


def reciprocal_rank(rank: int | None, cutoff: int = 10) -> float:
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


# ---------------------------------------------------------------- per question

def score_question(
    answers: Sequence[str],
    gold_doc_ids: Sequence[str],
    answer: Answer | None,
    articles: Mapping[str, Article],
    latency_ms: float | None = None,
) -> dict[str, Any]:
    """The per-question values for one question. ``answer`` is None when asking raised.
    The question is answerable when ``answers`` is non-empty."""
    answerable = bool(answers)
    gold = set(gold_doc_ids) if answerable else set()
    abstained = bool(answer is not None and answer.abstained)
    row: dict[str, Any] = {"answerable": answerable, "abstained": abstained}

    if answerable:
        if answer is None:
            rank = None
            recall = em = f = 0.0
        else:
            rank = first_gold_rank(answer.retrieved_doc_ids, gold_doc_ids)
            if abstained:
                recall = em = f = 0.0
            else:
                recall = answer_contains(answer.text, answers)
                em = exact_match(answer.text, answers)
                f = f1(answer.text, answers)
        row.update({
            "gold_rank": rank,
            "hit@1": 1.0 if rank is not None and rank <= 1 else 0.0,
            "hit@5": 1.0 if rank is not None and rank <= 5 else 0.0,
            "rr@10": reciprocal_rank(rank, 10),
            "answer_recall": recall,
            "exact_match": em,
            "f1": round(f, 4),
            # answered, and from the right article (its first quote): for a conversation turn,
            # the follow-up kept (or changed) the subject as it should
            "answered_in_gold": 1.0 if answer is not None and not abstained and answer.citations
            and answer.citations[0].doc_id in gold else 0.0,
        })
    else:
        row.update({"gold_rank": None, "hit@1": None, "hit@5": None, "rr@10": None,
                    "answer_recall": None, "exact_match": None, "f1": None, "answered_in_gold": None})

    citations = answer.citations if answer is not None else ()
    spans = [articles[c.doc_id].text[c.answer_span[0]:c.answer_span[1]] for c in citations
             if answerable and c.answer_span is not None and c.doc_id in articles]
    n_gold = sum(1 for c in citations if c.doc_id in gold)
    n_exact = sum(1 for c in citations if quote_is_exact(c.quote, c.doc_id, c.start, c.end, articles))
    row.update({
        "n_citations": len(citations),
        "n_citations_gold": n_gold,
        "n_quotes_exact": n_exact,
        "citation_precision": _share(n_gold, len(citations)),
        "quote_exactness": _share(n_exact, len(citations)),
        "n_spans": len(spans),
        "n_spans_right": sum(1 for t in spans if span_agrees(t, answers)),
        "latency_ms": None if answer is None or latency_ms is None else round(float(latency_ms), 2),
    })
    return row


def span_agrees(marked: str, golds: Sequence[str]) -> bool:
    """Whether a marked answer part and a gold answer agree: either contains the other as
    whole normalised tokens ("about 3,100 homes" and "3,100"; "Tom Brandt" and "Councillor
    Tom Brandt")."""
    m = normalize_answer(marked, unicode_punct=True)
    if not m:
        return False
    for g in golds:
        ng = normalize_answer(g, unicode_punct=True)
        if ng and (f" {ng} " in f" {m} " or f" {m} " in f" {ng} "):
            return True
    return False


def quote_is_exact(quote: str, doc_id: str, start: int, end: int, articles: Mapping[str, Article]) -> bool:
    article = articles.get(doc_id)
    if article is None or not (0 <= start <= end <= len(article.text)):
        return False
    return bool(quote) and article.text[start:end] == quote


# ---------------------------------------------------------------- summary

def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Aggregate ``score_question`` rows into the report summary (keys ``SUMMARY_KEYS``)."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    n_cit = sum(r["n_citations"] for r in rows)
    latencies = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
    answered = [r for r in rows if r["n_citations"] > 0]

    def mean(key: str, group) -> float | None:
        return _round(_share(sum(r[key] for r in group), len(group)))

    return {
        "n": len(rows),
        "hit@1": mean("hit@1", answerable),
        "hit@5": mean("hit@5", answerable),
        "mrr@10": mean("rr@10", answerable),
        "answer_recall": mean("answer_recall", answerable),
        "exact_match": mean("exact_match", answerable),
        "f1": mean("f1", answerable),
        "citation_precision": _round(_share(sum(r["n_citations_gold"] for r in rows), n_cit)),
        "quote_exactness": _round(_share(sum(r["n_quotes_exact"] for r in rows), n_cit)),
        "abstention_accuracy": _round(_share(sum(1 for r in unanswerable if r["abstained"]), len(unanswerable))),
        "false_abstention_rate": _round(_share(sum(1 for r in answerable if r["abstained"]), len(answerable))),
        "answered_in_gold": mean("answered_in_gold", answerable),
        "sentences_per_answer": _round(_share(sum(r["n_citations"] for r in answered), len(answered))),
        "answer_span_precision": _round(_share(sum(r.get("n_spans_right", 0) for r in answerable),
                                               sum(r.get("n_spans", 0) for r in answerable))),
        "latency_ms_p50": _round(percentile(latencies, 50), 1),
        "latency_ms_p95": _round(percentile(latencies, 95), 1),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _share(part: float, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)
