"""Retrieval, answers, follow-ups and question checks over a small index built with the
deterministic HashEncoder (no model)."""
import pytest

from assistant.answer.policy import ABSTAIN_PREFIX
from assistant.engine import Assistant
from assistant.errors import QuestionError
from assistant.search.retrieve import diversify
from assistant.search.rewrite import is_follow_up, rewrite_query
from assistant.settings import Settings
from assistant.store.build import build_index


@pytest.fixture
def assistant(seed_corpus, tmp_path, hash_encoder):
    build_index(seed_corpus, tmp_path / "ix", Settings(), encoder=hash_encoder, progress=False)
    return Assistant.open(tmp_path / "ix", Settings(), encoder=hash_encoder)


def test_answer_quotes_are_verbatim_with_offsets(assistant):
    a = assistant.ask("How many employees does Musan Mine have?")
    assert not a.abstained
    assert a.citations and "[1]" in a.text
    assert any("20,000" in c.quote for c in a.citations)
    for c in a.citations:
        assert assistant.articles[c.doc_id].text[c.start : c.end] == c.quote
        assert c.title == assistant.articles[c.doc_id].title
        assert f"[{c.n}]" in a.text


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_retriever_finds_the_right_article(assistant, mode):
    a = assistant.ask("Which factory produces the rock drills used in Kaechon?", retriever=mode)
    assert a.hits[0].chunk.doc_id == "kaechon-rock-drills"
    assert [h.rank for h in a.hits] == list(range(1, len(a.hits) + 1))


def test_off_topic_question_abstains_with_related_passages(assistant):
    a = assistant.ask("Who won the football world cup final?")
    assert a.abstained and a.text.startswith(ABSTAIN_PREFIX)
    assert a.citations == ()
    assert a.hits  # shown as related
    # the JSON carries them too, shaped like citations: numbered, verbatim, with offsets
    related = a.to_dict()["related"]
    assert [r["n"] for r in related] == list(range(1, min(3, len(a.hits)) + 1))
    assert set(related[0]) == {"n", "doc_id", "title", "quote", "start", "end", "score", "date", "source",
                               "author", "url", "earlier_report", "also_reported_by", "answer_span"}
    for r, h in zip(related, a.hits):
        assert r["doc_id"] == h.chunk.doc_id and r["title"] == h.title
        assert assistant.articles[r["doc_id"]].text[r["start"]:r["end"]] == r["quote"]


def test_follow_up_uses_the_conversation(assistant):
    a = assistant.ask("And what does its leadership earn?", history=["How many people work at Musan Mine?"])
    assert "Musan Mine" in a.query and a.query != a.question
    assert a.citations and a.citations[0].doc_id == "musan-mine"
    assert any("12,000" in c.quote for c in a.citations)


def test_doc_filter_restricts_the_search(assistant):
    a = assistant.ask("How many people work at Musan Mine?", doc_ids=["kaechon-rock-drills"])
    assert {h.chunk.doc_id for h in a.hits} == {"kaechon-rock-drills"}
    with pytest.raises(QuestionError, match="choose at least one"):
        assistant.ask("anything", doc_ids=[])


def test_k_bounds_the_quoted_passages(assistant):
    a = assistant.ask("Musan Mine workers wages", k=1)
    assert a.citations  # (at most two sentences is the answer's rule, not k's: checked elsewhere)
    top = a.hits[0].chunk
    for c in a.citations:  # k=1: every quote comes from the one passage given to the answer stage
        assert c.doc_id == top.doc_id and top.start <= c.start and c.end <= top.end, (c, top)
    quoted_from = {c.doc_id for c in a.citations}
    assert quoted_from <= {a.hits[0].chunk.doc_id}


@pytest.mark.parametrize("bad", ["", "   \n\t", "x" * 100_000])
def test_bad_questions_raise_clear_errors(assistant, bad):
    with pytest.raises(QuestionError) as e:
        assistant.ask(bad)
    assert "question" in str(e.value).lower()


def test_ask_batch_reports_errors_in_place(assistant):
    out = assistant.ask_batch([("How many people work at Musan Mine?", []), ("", []), ("Jonchon factory?", [])])
    assert not isinstance(out[0], Exception) and isinstance(out[1], QuestionError)
    assert not isinstance(out[2], Exception)


def test_json_shape(assistant):
    d = assistant.ask("How many people work at Musan Mine?").to_dict()
    assert set(d) == {"question", "query", "answer", "abstained", "citations", "as_of", "time_range",
                      "searched_articles", "total_articles", "confidence", "related"}
    assert d["related"] == []  # answered: the quotes are the citations
    assert set(d["citations"][0]) == {"n", "doc_id", "title", "quote", "start", "end", "score", "date", "source",
                                      "author", "url", "earlier_report", "also_reported_by", "answer_span"}
    assert 0.0 <= d["confidence"] <= 1.0


def test_rewrite_rules():
    assert rewrite_query("How many people work at Musan Mine?", ["Tell me about Kaechon"]) == "How many people work at Musan Mine?"
    assert rewrite_query("How many people work there?", ["Tell me about Musan Mine"]).endswith("(Musan Mine)")
    # the latest turn that names something wins, even two turns back
    q = rewrite_query("What do they earn?", ["How many people work at Musan Mine?", "And its leadership?"])
    assert "Musan Mine" in q
    assert rewrite_query("And its leadership?", []) == "And its leadership?"
    assert is_follow_up("why?") and not is_follow_up("Which factory makes Kaechon's rock drills?")


def test_diversify_caps_chunks_per_document():
    order = [1, 2, 3, 4, 5]
    docs = ["a", "a", "a", "b", "c"]
    assert diversify(order, docs, 5, 2) == [1, 2, 4, 5, 3]
    assert diversify(order, docs, 3, 1) == [1, 4, 5]


def test_huge_history_is_bounded(assistant, monkeypatch):
    """A 10 MB history turn (and thousands of turns) is cut before the follow-up rewrite,
    so the query searched and echoed back stays short."""
    import assistant.engine as engine

    seen = []
    real = engine.resolve
    monkeypatch.setattr(engine, "resolve", lambda q, h, locate=None, own=None: seen.append(list(h)) or real(q, h, locate, own))
    s = assistant.settings
    huge = "How many people work at Musan Mine? " + "Musan Mine " * 1_000_000  # ~11 MB
    answer = assistant.ask("And what do its leaders earn?", history=["Kaechon?"] * 5000 + [huge])
    assert len(seen[-1]) == s.max_history_turns
    assert all(len(h) <= s.max_question_chars for h in seen[-1])
    assert seen[-1][-1] == huge[: s.max_question_chars]
    assert len(answer.query) <= len("And what do its leaders earn?") + s.max_history_turns * (s.max_question_chars + 3)
    assert "Musan Mine" in answer.query


def test_history_turns_that_are_not_text_are_ignored():
    from assistant.engine import bound_history

    s = Settings(max_history_turns=2, max_question_chars=5)
    assert bound_history(None, s) == []
    assert bound_history("a single turn", s) == ["a sin"]
    assert bound_history(["one", 2, "three", "four"], s) == ["three", "four"]
    assert bound_history(iter(["a", "b", "c"]), s) == ["b", "c"]


def test_zero_history_turns_means_no_history(monkeypatch):
    """ASSISTANT_MAX_HISTORY_TURNS=0 turns follow-ups off (``history[-0:]`` would be all of it)."""
    from assistant.engine import bound_history
    from assistant.settings import settings_from_env

    s = settings_from_env({"ASSISTANT_MAX_HISTORY_TURNS": "0"})
    assert bound_history(["How many work at Musan Mine?", "And Kaechon?"], s) == []
    assert bound_history(iter(["a", "b"]), s) == []
    assert bound_history(["a", "b", "c"], Settings(max_history_turns=5)) == ["a", "b", "c"]


@pytest.mark.parametrize("as_of", ["0001-01-01", "0001-01-07", "9999-12-31"])
def test_as_of_at_the_ends_of_the_calendar_is_a_user_error(assistant, as_of):
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="out of range: use a date from 0002-01-01"):
        assistant.ask("What happened last week?", as_of=as_of)


@pytest.fixture(scope="module")
def conversation_assistant(tmp_path_factory):
    """The conversation set's articles (eval/conversations/news), HashEncoder."""
    from pathlib import Path

    from tests.fakes import HashEncoder

    corpus = Path(__file__).resolve().parent.parent / "eval" / "conversations" / "news"
    ix = tmp_path_factory.mktemp("conv") / "ix"
    enc = HashEncoder()
    build_index(corpus, ix, Settings(), encoder=enc, progress=False)
    return Assistant.open(ix, Settings(), encoder=enc)


GLACIER = ["How deep was the ice core drilled from the glacier?", "How old is the ice at the bottom?"]


def test_a_question_that_names_its_own_subject_stands_alone(conversation_assistant):
    """Issue 18 item 4: "the factory" looks like a reference back, but the question names
    its own subject, which the glacier article never mentions."""
    a = conversation_assistant
    query, subject = a.follow_up("What did the union say about the factory closure?", GLACIER)
    assert query == "What did the union say about the factory closure?" and subject.doc_ids == ()
    # ... and a later follow-up leans on the factory, not on the glacier
    query, subject = a.follow_up("How many jobs will be lost there?",
                                 [*GLACIER, "What did the union say about the factory closure?"])
    assert subject.doc_ids == ("factory-closure",) and "glacier" not in query.lower()
    # a real follow-up about the glacier still carries the subject
    query, subject = a.follow_up("Who paid for it?", GLACIER)
    assert subject.doc_ids == ("glacier-expedition",) and query != "Who paid for it?"


def test_a_follow_up_carries_the_subject_not_a_possessive_or_a_verb(conversation_assistant):
    """Issue 18 item 5: the words appended are the subject (names without "'s", words of
    the subject article's title), and the follow-up is answered from that article."""
    a = conversation_assistant
    query, subject = a.follow_up("And how many councillors voted against it?",
                                 ["How big is Northfield's budget for next year?"])
    assert query.endswith("(Northfield budget)"), query
    assert subject.doc_ids == ("budget-vote",)
    answer = a.ask("And how many councillors voted against it?", history=["How big is Northfield's budget for next year?"])
    assert answer.citations and answer.citations[0].doc_id == "budget-vote"
    # the subject moves with a topic switch: after the buses, "it" is the bus expansion
    history = ["How big is Northfield's budget for next year?", "How much will council tax rise?",
               "How many electric buses will the city add?"]
    query, subject = a.follow_up("And how much will it cost?", history)
    assert subject.doc_ids == ("bus-expansion",) and "buses" in query and "council" not in query, query
    # the last word of a question is kept when the article's title uses it ("the wildfire")
    query, _ = a.follow_up("What probably started it?",
                           ["How many people had to leave their homes because of the wildfire?"])
    assert "wildfire" in query.lower(), query
