"""Metrics on hand-computed examples, including the null cases."""
from __future__ import annotations

import pytest

from assistant.evaluation import metrics
from assistant.evaluation.metrics import (
    SUMMARY_KEYS,
    answer_contains,
    exact_match,
    f1,
    first_gold_rank,
    normalize_answer,
    percentile,
    score_question,
    summarize,
)
from assistant.types import Answer, Article, Chunk, Citation, Hit

TEXT_A = "Musan Mine has over 20,000 employees. The leadership earns KPW 12,000 a month."
TEXT_B = "Most drills are produced at the Jonchon Rock Drill Factory."
ARTICLES = {
    "a": Article("a", "A", TEXT_A),
    "b": Article("b", "B", TEXT_B),
    "c": Article("c", "C", "Unrelated text about weather."),
}


def hit(doc_id: str, rank: int) -> Hit:
    text = ARTICLES[doc_id].text
    return Hit(Chunk(doc_id, 0, len(text), text), doc_id.upper(), 1.0 / rank, rank)


def cite(n: int, doc_id: str, quote: str, start: int | None = None, end: int | None = None) -> Citation:
    text = ARTICLES[doc_id].text
    s = text.find(quote) if start is None else start
    e = s + len(quote) if end is None else end
    return Citation(n, doc_id, doc_id.upper(), quote, s, e, 0.9)


def answer(text: str, hits=(), citations=(), abstained=False) -> Answer:
    return Answer("q", "q", text, abstained, tuple(citations), tuple(hits))


# ---------------------------------------------------------------- SQuAD metrics

def test_normalize_answer_is_squad_v11():
    assert normalize_answer("The  Jonchon Rock-Drill, Factory!") == "jonchon rockdrill factory"
    assert normalize_answer("an apple and a pear") == "apple and pear"
    assert normalize_answer("over 20,000") == "over 20000"
    assert normalize_answer("Theater") == "theater"  # articles only as whole words


def test_exact_match():
    assert exact_match("the Jonchon Rock Drill Factory.", ["Jonchon Rock Drill Factory"]) == 1.0
    assert exact_match("Jonchon", ["Jonchon Rock Drill Factory", "jonchon"]) == 1.0
    assert exact_match("Kaechon", ["Jonchon"]) == 0.0
    assert exact_match("anything", []) is None


def test_f1_hand_computed():
    # pred tokens: over 20000 employees work there (5); gold: 20000 employees (2); common 2
    # precision 2/5, recall 2/2 -> f1 = 2*0.4*1/(1.4) = 0.5714...
    assert f1("Over 20,000 employees work there.", ["20,000 employees"]) == pytest.approx(4 / 7)
    # max over golds
    assert f1("Over 20,000 employees work there.", ["nothing", "over 20,000 employees work there"]) == 1.0
    assert f1("no overlap", ["20,000"]) == 0.0
    assert f1("x", []) is None


def test_answer_contains_whole_tokens():
    text = "Musan Mine has over 20,000 employees."
    assert answer_contains(text, ["over 20,000 employees"]) == 1.0
    assert answer_contains(text, ["20,000"]) == 1.0
    assert answer_contains("It has 120,000 workers.", ["20,000"]) == 0.0
    assert answer_contains(text, ["KPW 3,500"]) == 0.0
    assert answer_contains(text, []) is None


# ---------------------------------------------------------------- retrieval

def test_first_gold_rank_counts_distinct_documents():
    # chunks of "c" twice, then "a": "a" is the 2nd distinct document, not the 3rd hit
    assert first_gold_rank(["c", "c", "a", "b"], ["a"]) == 2
    assert first_gold_rank(["a"], ["a", "b"]) == 1
    assert first_gold_rank(["c"], ["a"]) is None
    assert first_gold_rank([], ["a"]) is None


def test_score_question_answerable():
    ans = answer("Musan Mine has over 20,000 employees.",
                 hits=[hit("c", 1), hit("c", 2), hit("a", 3)],
                 citations=[cite(1, "a", "Musan Mine has over 20,000 employees."), cite(2, "b", "Most drills")])
    row = score_question(["20,000"], ["a"], ans, ARTICLES, latency_ms=12.345)
    assert row["gold_rank"] == 2
    assert row["hit@1"] == 0.0 and row["hit@5"] == 1.0 and row["rr@10"] == 0.5
    assert row["answer_recall"] == 1.0 and row["exact_match"] == 0.0
    assert row["n_citations"] == 2 and row["n_citations_gold"] == 1 and row["n_quotes_exact"] == 2
    assert row["citation_precision"] == 0.5 and row["quote_exactness"] == 1.0
    assert row["latency_ms"] == 12.35 and row["abstained"] is False


def test_mrr_zero_beyond_ten_documents():
    ranked = [f"d{i}" for i in range(10)] + ["gold"]
    assert first_gold_rank(ranked, ["gold"]) == 11
    assert metrics.reciprocal_rank(11) == 0.0
    assert metrics.reciprocal_rank(10) == 0.1


def test_quote_exactness_checks_offsets():
    good = cite(1, "a", "over 20,000 employees")
    shifted = cite(2, "a", "over 20,000 employees", start=good.start + 1, end=good.end + 1)
    unknown = Citation(3, "zzz", "Z", "over", 0, 4, 0.1)
    out_of_range = cite(4, "b", "Factory.", start=55, end=500)
    row = score_question(["20,000"], ["a"], answer("x", citations=[good, shifted, unknown, out_of_range]), ARTICLES)
    assert row["n_quotes_exact"] == 1 and row["quote_exactness"] == 0.25


def test_abstained_answer_scores_no_answer_metrics():
    ans = answer("The articles do not say 20,000.", hits=[hit("a", 1)], abstained=True)
    row = score_question(["20,000"], ["a"], ans, ARTICLES)
    assert row["abstained"] is True
    assert row["answer_recall"] == 0.0 and row["exact_match"] == 0.0 and row["f1"] == 0.0
    assert row["hit@1"] == 1.0  # retrieval is still measured


def test_unanswerable_question_citations_are_never_gold():
    ans = answer("Musan Mine has over 20,000 employees.", hits=[hit("a", 1)],
                 citations=[cite(1, "a", "Musan Mine has over 20,000 employees.")])
    row = score_question([], [], ans, ARTICLES)
    assert row["answerable"] is False
    assert row["hit@1"] is None and row["f1"] is None and row["answer_recall"] is None
    assert row["citation_precision"] == 0.0 and row["quote_exactness"] == 1.0


def test_errored_question_is_a_miss():
    row = score_question(["20,000"], ["a"], None, ARTICLES, latency_ms=3.0)
    assert row["hit@5"] == 0.0 and row["rr@10"] == 0.0 and row["answer_recall"] == 0.0
    assert row["abstained"] is False and row["n_citations"] == 0 and row["latency_ms"] is None
    assert row["citation_precision"] is None


# ---------------------------------------------------------------- summary

def test_summary_hand_computed():
    rows = [
        # answerable, gold first, correct answer, 2 citations (1 gold), 10 ms
        score_question(["20,000"], ["a"], answer(
            "Musan Mine has over 20,000 employees.", hits=[hit("a", 1), hit("b", 2)],
            citations=[cite(1, "a", "over 20,000 employees"), cite(2, "b", "Jonchon")]), ARTICLES, 10.0),
        # answerable, gold second, abstained, 20 ms
        score_question(["Jonchon Rock Drill Factory"], ["b"], answer(
            "The articles do not say.", hits=[hit("a", 1), hit("b", 2)], abstained=True), ARTICLES, 20.0),
        # answerable, errored
        score_question(["KPW 12,000"], ["a"], None, ARTICLES, None),
        # unanswerable, abstained, 30 ms
        score_question([], [], answer("The articles do not say.", hits=[hit("c", 1)], abstained=True), ARTICLES, 30.0),
        # unanswerable, answered with 1 citation (not gold), 40 ms
        score_question([], [], answer("Weather.", hits=[hit("c", 1)],
                                      citations=[cite(1, "c", "Unrelated text")]), ARTICLES, 40.0),
    ]
    s = summarize(rows)
    assert list(s) == list(SUMMARY_KEYS)
    assert s["n"] == 5
    assert s["hit@1"] == round(1 / 3, 4)
    assert s["hit@5"] == round(2 / 3, 4)
    assert s["mrr@10"] == round((1 + 0.5 + 0) / 3, 4)
    assert s["answer_recall"] == round(1 / 3, 4)
    assert s["exact_match"] == 0.0
    # "musan mine has over 20000 employees" (6 tokens) vs "20000": p=1/6, r=1, f1=2/7
    assert s["f1"] == round((2 / 7) / 3, 4)
    assert s["citation_precision"] == round(1 / 3, 4)
    assert s["quote_exactness"] == 1.0
    assert s["abstention_accuracy"] == 0.5
    assert s["false_abstention_rate"] == round(1 / 3, 4)
    assert s["latency_ms_p50"] == 25.0  # 10, 20, 30, 40 (the errored question has none)
    assert s["latency_ms_p95"] == 38.5


def test_summary_null_cases():
    only_answerable = [score_question(["20,000"], ["a"], answer("20,000", hits=[hit("a", 1)]), ARTICLES, 5.0)]
    s = summarize(only_answerable)
    assert s["abstention_accuracy"] is None  # no unanswerable questions
    assert s["citation_precision"] is None and s["quote_exactness"] is None  # no citations
    assert s["hit@1"] == 1.0 and s["false_abstention_rate"] == 0.0

    only_unanswerable = [score_question([], [], answer("No.", abstained=True), ARTICLES, None)]
    s = summarize(only_unanswerable)
    for key in ("hit@1", "hit@5", "mrr@10", "answer_recall", "exact_match", "f1", "false_abstention_rate"):
        assert s[key] is None, key
    assert s["abstention_accuracy"] == 1.0
    assert s["latency_ms_p50"] is None and s["latency_ms_p95"] is None

    empty = summarize([])
    assert empty["n"] == 0 and all(empty[k] is None for k in SUMMARY_KEYS if k != "n")


def test_percentile_matches_linear_interpolation():
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(1, 101))), 95) == pytest.approx(95.05)


def test_answer_contains_ignores_typographic_punctuation():
    text = "Workers make “daily necessities” at home, under the banner of “self-reliance,” they say."
    assert answer_contains(text, ["daily necessities"]) == 1.0
    assert answer_contains(text, ["self-reliance"]) == 1.0
    assert answer_contains("first sequenced in 1986—when two teams", ["1986"]) == 1.0
    # EM/F1 keep the official ASCII-only normalisation
    assert normalize_answer("“self-reliance,”") == "“selfreliance”"
    assert exact_match("“self-reliance,”", ["self-reliance"]) == 0.0


def test_answer_span_precision_counts_marked_parts_that_agree_with_a_gold_answer():
    from dataclasses import replace

    from assistant.evaluation.metrics import span_agrees

    assert span_agrees("about 3,100 homes", ["3,100"]) and span_agrees("Tom Brandt", ["Councillor Tom Brandt"])
    assert not span_agrees("1961", ["$96 million"]) and not span_agrees("", ["x"])
    quote = "over 20,000 employees"
    c = cite(1, "a", quote)
    right = replace(c, answer_span=(c.start, c.end))
    wrong = replace(c, answer_span=(c.start, c.start + len("over")))
    rows = [score_question(["20,000"], ["a"], answer(quote, [hit("a", 1)], [right]), ARTICLES),
            score_question(["20,000"], ["a"], answer(quote, [hit("a", 1)], [wrong]), ARTICLES),
            score_question(["20,000"], ["a"], answer(quote, [hit("a", 1)], [c]), ARTICLES),  # nothing marked
            score_question([], [], answer(quote, [hit("a", 1)], [wrong]), ARTICLES)]  # unanswerable: not counted
    assert summarize(rows)["answer_span_precision"] == 0.5
    assert summarize(rows[2:])["answer_span_precision"] is None
