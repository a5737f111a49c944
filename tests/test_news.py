"""News behaviour on a dated corpus (tests/data/news): a story, its follow-up a week later
with a revised figure, a syndicated copy with another header and footer, two unrelated
stories. As of Wednesday 2026-03-11, "last week" is 2026-03-02 .. 2026-03-08."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.engine import Assistant
from assistant.store.build import build_index

NEWS = Path(__file__).resolve().parent / "data" / "news"
AS_OF = "2026-03-11"


@pytest.fixture(scope="module")
def news_index(tmp_path_factory):
    from tests.fakes import HashEncoder

    enc = HashEncoder()
    ix = tmp_path_factory.mktemp("news") / "index"
    report = build_index(NEWS, ix, encoder=enc, progress=False)
    return ix, enc, report


@pytest.fixture(scope="module")
def news(news_index):
    ix, enc, _ = news_index
    return Assistant.open(ix, encoder=enc)


def test_latest_estimate_cites_follow_up_first_and_shows_the_earlier_figure(news):
    a = news.ask("What is the latest cost estimate?", as_of=AS_OF)
    assert not a.abstained
    first, second = a.citations[0], a.citations[1]
    assert first.doc_id == "harbour-bridge-revised" and "$468 million" in first.quote
    assert first.date == "2026-03-09" and first.source == "Harbour Times" and not first.earlier_report
    assert second.doc_id == "harbour-bridge-cost" and "$412 million" in second.quote
    assert second.earlier_report and second.date == "2026-03-02"
    assert a.text.index("$468 million") < a.text.index("$412 million")
    assert a.text.startswith(first.quote) and "[1]" in a.text and "[2]" in a.text
    assert a.time_range.latest


def test_last_week_searches_only_that_week(news):
    a = news.ask("What happened last week?", as_of=AS_OF)
    assert (a.time_range.start, a.time_range.end) == ("2026-03-02", "2026-03-08")
    assert a.searched_articles == 2 and a.total_articles == 4  # the copy is collapsed, not counted
    assert a.citations and all("2026-03-02" <= c.date <= "2026-03-08" for c in a.citations)
    assert {c.doc_id for c in a.citations} == {"marathon", "harbour-bridge-cost"}
    # after another question, the digest's query is not rewritten with that question's words
    c = news.ask("What happened last week?", history=["What is the latest cost estimate?"], as_of=AS_OF)
    assert c.query == "What happened?"
    # a topical question in the same week only finds that week's articles
    b = news.ask("What did the council say about the bridge cost last week?", as_of=AS_OF)
    assert b.citations and {c.doc_id for c in b.citations} == {"harbour-bridge-cost"}
    assert all(h.chunk.doc_id in {"marathon", "harbour-bridge-cost"} for h in b.hits)


def test_as_of_changes_what_last_week_means(news):
    a = news.ask("What happened last week?", as_of="2026-03-18")  # week of 2026-03-09
    assert [c.doc_id for c in a.citations] == ["harbour-bridge-revised"]


def test_syndicated_copy_is_collapsed(news_index, news):
    _, _, report = news_index
    assert report.collapsed == (("harbour-bridge-cost", ("coast-post-bridge-copy",)),)
    assert news.manifest["duplicates"] == {"harbour-bridge-cost": ["coast-post-bridge-copy"]}
    assert all(c.doc_id != "coast-post-bridge-copy" for c in news.stored.chunks)
    a = news.ask("How much will the harbour bridge cost?", as_of=AS_OF)
    assert all(c.doc_id != "coast-post-bridge-copy" for c in a.citations)
    orig = next(c for c in a.citations if c.doc_id == "harbour-bridge-cost")
    assert [(r.doc_id, r.source, r.date) for r in orig.also_reported_by] == [("coast-post-bridge-copy", "Coast Post", "2026-03-03")]
    assert orig.to_dict()["also_reported_by"][0]["source"] == "Coast Post"


def test_searchable_articles_are_listed_once_per_index_not_per_question(news, monkeypatch):
    from assistant.answer import recency
    from assistant.search.timeparse import parse_as_of

    assert set(news.searchable()) == set(news.articles) - {"coast-post-bridge-copy"}
    seen = []
    real = recency.scope_question
    monkeypatch.setattr(recency, "scope_question", lambda q, day, ex, base, arts: seen.append(base) or real(q, day, ex, base, arts))
    news.ask("How much will the harbour bridge cost?", as_of=AS_OF)
    news.ask("Who won the marathon?", as_of=AS_OF)
    assert len(seen) == 2 and seen[0] is seen[1] is news.searchable()
    # with no dates to apply, the scope searches that same list, uncopied
    assert recency.scope_question("Who won the marathon?", parse_as_of(AS_OF), None, seen[0], news.articles).doc_ids is seen[0]


def test_relative_range_without_articles_says_so(news):
    a = news.ask("What happened yesterday?", as_of=AS_OF)
    assert a.abstained and a.searched_articles == 0
    assert "No article is dated 2026-03-10" in a.text and "searched 0 of 4 articles" in a.text


def test_relative_range_without_articles_searches_everything_for_a_topical_question(news):
    # "last year" here is when the runners ran, not when the article was published
    a = news.ask("How many runners took part in the marathon last year?", as_of=AS_OF)  # none dated 2025
    assert not a.time_range.applied and a.searched_articles == 4
    assert not a.abstained and a.citations[0].doc_id == "marathon" and "8,000" in a.text


def test_absolute_range_without_articles_searches_everything(news):
    a = news.ask("Who won the city marathon in 2017?", as_of=AS_OF)
    assert not a.time_range.applied and a.searched_articles == 4
    assert a.citations and a.citations[0].doc_id == "marathon"


def test_since_until_override_and_restricted_refusal_counts(news):
    a = news.ask("How much will school lunches cost?", as_of=AS_OF, since="2026-03-01", until="2026-03-31")
    assert a.abstained and a.searched_articles == 3 and "Searched 3 of 4 articles dated 2026-03-01 to 2026-03-31" in a.text
    # (hash vectors stand in for the model here, so the question is one whose words the
    # marathon article lacks entirely; with the real model "…the free lunches…" is refused too)
    b = news.ask("How much will school lunches cost?", doc_ids=["marathon"], as_of=AS_OF)
    assert b.abstained and "Searched 1 of 4 articles" in b.text


def test_incremental_build_keeps_copies_unembedded_and_promotes_a_copy(tmp_path):
    from tests.fakes import HashEncoder

    corpus = tmp_path / "c"
    corpus.mkdir()
    for name in ("harbour-bridge-cost.md", "marathon.md"):
        shutil.copy(NEWS / name, corpus / name)
    enc = HashEncoder()
    build_index(corpus, tmp_path / "ix", encoder=enc, progress=False)
    shutil.copy(NEWS / "coast-post-bridge-copy.html", corpus / "coast-post-bridge-copy.html")
    before = enc.encoded
    r = build_index(corpus, tmp_path / "ix", encoder=enc, progress=False)
    assert r.added == 1 and r.embedded_chunks == 0 and enc.encoded == before  # the copy is not embedded
    (corpus / "harbour-bridge-cost.md").unlink()
    r = build_index(corpus, tmp_path / "ix", encoder=enc, progress=False)
    assert r.removed == 1 and r.collapsed == () and r.embedded_chunks >= 1  # the copy now stands alone
    a = Assistant.open(tmp_path / "ix", encoder=enc).ask("How much will the harbour bridge cost?")
    assert a.citations[0].doc_id == "coast-post-bridge-copy" and a.citations[0].source == "Coast Post"


def test_cli_ask_as_of_since_history_and_index_report(news_index, capsys, tmp_path, hash_model):
    ix, _, _ = news_index
    assert main(["ask", "What is the latest cost estimate?", "--index", str(ix), "--as-of", AS_OF, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == AS_OF and out["time_range"]["latest"] is True
    assert out["citations"][0]["doc_id"] == "harbour-bridge-revised" and out["citations"][1]["earlier_report"]
    assert main(["ask", "What happened last week?", "--index", str(ix), "--as-of", AS_OF]) == 0
    text = capsys.readouterr().out
    assert "Articles dated 2026-03-02 to 2026-03-08 (“last week”, as of 2026-03-11)" in text
    assert "also reported by: Coast Post, 2026-03-03" in text
    assert main(["ask", "bridge", "--index", str(ix), "--since", "2026-3-1"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    # --history: one turn per flag; the question is never swallowed
    assert main(["ask", "How much will it cost?", "--history", "Tell me about the harbour bridge",
                 "--history", "Who won the marathon?", "--index", str(ix), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["question"] == "How much will it cost?"
    assert main(["ask", "--history", "Tell me about the harbour bridge", "How much will it cost?",
                 "--index", str(ix), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["question"] == "How much will it cost?" and "harbour bridge" in out["query"].lower()
    assert main(["index", "--corpus", str(NEWS), "--index", str(tmp_path / "ix2"), "--quiet"]) == 0
    assert "near-duplicates: 1 copy collapsed into 1 article(s): harbour-bridge-cost kept, coast-post-bridge-copy collapsed" \
        in capsys.readouterr().out


def test_eval_line_with_as_of_is_answered_against_that_date(tmp_path):
    from tests.fakes import HashEncoder

    from assistant.evaluation.sets import parse_jsonl
    from assistant.errors import EvalFileError
    from assistant.evaluation.evaluate import run_eval

    qs = parse_jsonl(
        '{"id": "a", "question": "What happened last week?", "answers": ["$468 million"], '
        '"gold_doc_ids": ["harbour-bridge-revised"], "as_of": "2026-03-18"}\n'
        '{"id": "b", "question": "What happened last week?", "answers": ["Grace Wanjiru"], '
        '"gold_doc_ids": ["marathon"], "as_of": "2026-03-11"}\n'
        '{"id": "c", "question": "What happened last week?", "answers": [], "gold_doc_ids": []}\n')
    assert [q.as_of for q in qs] == ["2026-03-18", "2026-03-11", None]
    enc = HashEncoder()
    build_index(NEWS, tmp_path / "ix", encoder=enc, progress=False)
    report = run_eval(qs, Assistant.open(tmp_path / "ix", encoder=enc), progress=False, as_of="2026-01-07")
    rows = {r["id"]: r for r in report.questions}
    assert rows["a"]["as_of"] == "2026-03-18" and rows["a"]["answer_recall"] == 1.0
    assert rows["b"]["as_of"] == "2026-03-11" and rows["b"]["answer_recall"] == 1.0
    assert rows["c"]["as_of"] == "2026-01-07" and rows["c"]["abstained"]  # the run's date: nothing that week
    with pytest.raises(EvalFileError, match="YYYY-MM-DD"):
        parse_jsonl('{"id": "x", "question": "q?", "answers": [], "gold_doc_ids": [], "as_of": "March"}\n')


def test_json_and_api_give_the_same_citation_fields(news_index, capsys, hash_model):
    """`assistant ask --json` and the web API return the same JSON, news fields included."""
    from gradio_client import Client

    from assistant.web.ui import build_app

    ix, enc, _ = news_index
    assert main(["ask", "What is the latest cost estimate?", "--index", str(ix), "--as-of", AS_OF, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    app = build_app(Assistant.open(ix, encoder=enc))
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        api = Client(app.local_url, verbose=False).predict("What is the latest cost estimate?", [], 5, [], AS_OF, "", "",
                                                           api_name="/ask")
    finally:
        app.close()
    assert api == cli
    c = api["citations"][1]
    assert (c["date"], c["source"], c["author"], c["earlier_report"]) == ("2026-03-02", "Harbour Times", "Mira Okafor", True)
    assert c["also_reported_by"][0]["doc_id"] == "coast-post-bridge-copy"


@pytest.mark.parametrize("question, field", [
    ("Who wrote the marathon story?", "author"), ("Who wrote about the marathon?", "author"),
    ("When was the bridge cost story published?", "date"), ("When was it published?", "date"),
    ("Which paper published the school lunch story?", "source"), ("Who published the marathon article?", "source"),
    ("Which newspaper boasted about the drilling competition?", None),  # about the story, not the article
    ("Who reported the blasting at Cholsan Peak?", None), ("When did the council publish the estimate?", None),
])
def test_questions_about_the_article(question, field):
    from assistant.answer.aboutarticle import asks_about_article

    assert asks_about_article(question) == field


def test_author_date_and_source_answered_from_metadata(news):
    a = news.ask("Who wrote about the marathon?", as_of=AS_OF)
    assert a.text == "“Runner from Kenya wins city marathon in record time” is by Ana Lindqvist [1]."
    assert a.citations[0].doc_id == "marathon" and a.citations[0].author == "Ana Lindqvist"
    b = news.ask("When was the school lunch story published?", as_of=AS_OF)
    assert "was published on 2026-02-20 [1]" in b.text and b.citations[0].doc_id == "school-lunch"
    c = news.ask("Who published the marathon article?", as_of=AS_OF)
    assert "was published by Valley Courier" in c.text


def test_topic_of_keeps_the_story_words():
    from assistant.answer.aboutarticle import topic_of

    assert topic_of("When was the story about free school lunches published?") == "free school lunches?"
    assert topic_of("Who wrote the marathon story?") == "marathon?"
    assert topic_of("When was it published?") == "it?"


def test_minhash_groups_copies_but_never_an_update_with_a_changed_figure():
    from assistant.ingest.dedup import find_duplicates, jaccard
    from assistant.ingest.load import load_corpus

    arts = {a.doc_id: a for a in load_corpus(NEWS).articles}
    orig = arts["harbour-bridge-cost"]
    assert jaccard(orig.text, arts["coast-post-bridge-copy"].text) > 0.8
    assert jaccard(orig.text, arts["harbour-bridge-revised"].text) < 0.1
    from assistant.types import Article

    updated = Article("bridge-updated", orig.title, orig.text.replace("$412 million", "$468 million"), {"date": "2026-03-04"})
    later_copy = Article("late-copy", orig.title, "Reprinted.\n" + orig.text, {"date": "2026-03-05"})
    groups = find_duplicates([*arts.values(), updated, later_copy])
    assert groups == {"harbour-bridge-cost": ["coast-post-bridge-copy", "late-copy"]}
