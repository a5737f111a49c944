"""The Gradio app builds over a fake assistant, and the ``ask`` API endpoint (called with
gradio_client against a launched app) returns exactly ``Answer.to_dict()``."""
from __future__ import annotations

import pytest

from assistant.errors import QuestionError
from assistant.types import Answer, Article, Chunk, Citation, Hit
from assistant.web.render import Turn

gr = pytest.importorskip("gradio")

MUSAN = Article(
    "musan-mine",
    "Musan mine",
    "Intro line.\nMusan Mine has over 20,000 employees and <b>more</b>.\nLast line.",
)
QUOTE = "Musan Mine has over 20,000 employees"


class FakeAssistant:
    """Same ``ask`` signature as ``assistant.engine.Assistant``; records its calls."""

    def __init__(self):
        self.articles = {MUSAN.doc_id: MUSAN, "other": Article("other", "Other <i>article</i>", "Nothing here.")}
        self.calls = []

    def ask(self, question, history=(), k=None, doc_ids=None):
        self.calls.append((question, list(history), k, None if doc_ids is None else sorted(doc_ids)))
        if not question.strip():
            raise QuestionError("The question is empty: type a question about the articles.")
        if question == "boom":
            raise RuntimeError("internal detail that must not leak")
        start = MUSAN.text.index(QUOTE)
        hit = Hit(Chunk(MUSAN.doc_id, 0, len(MUSAN.text), MUSAN.text), MUSAN.title, 0.9, 1, 0.8, 3.0)
        if "France" in question:
            return Answer(question, question, "The articles do not say.", True, (), (hit,))
        cite = Citation(1, MUSAN.doc_id, MUSAN.title, QUOTE, start, start + len(QUOTE), 0.8)
        query = " ".join([*history, question])
        return Answer(question, query, f"{QUOTE} [1].", False, (cite,), (hit,))


def _respond(app):
    """The UI's submit handler, found through the Blocks config (no private API)."""
    for fn in app.fns.values():
        if getattr(fn.fn, "__name__", "") == "respond":
            return fn.fn
    raise AssertionError("respond handler not found")


def test_app_builds_with_settings_and_api():
    from assistant.web.ui import build_app

    app = build_app(FakeAssistant())
    assert isinstance(app, gr.Blocks)
    names = {fn.api_name for fn in app.fns.values()}
    assert "ask" in names


def test_conversation_passes_history_and_escapes():
    from assistant.web.ui import build_app

    fake = FakeAssistant()
    respond = _respond(build_app(fake))
    html1, turns, box = respond("How many work at <script>alert(1)</script>?", (), 5, ["musan-mine", "other"])
    assert box == "" and len(turns) == 1
    assert "<script>" not in html1 and "&lt;script&gt;" in html1
    assert "<mark>" in html1 and "&lt;b&gt;more&lt;/b&gt;" in html1
    html2, turns, _ = respond("And its leadership?", turns, 3, ["musan-mine", "other"])
    # all articles selected → no filter; history = the previous questions
    assert fake.calls[-1] == ("And its leadership?", ["How many work at <script>alert(1)</script>?"], 3, None)
    assert html2.count('class="turn"') == 2
    respond("x", turns, 3, ["musan-mine"])
    assert fake.calls[-1][3] == ["musan-mine"]


def test_empty_question_adds_no_turn_and_rejected_question_stays_in_the_box():
    from assistant.web.ui import build_app

    respond = _respond(build_app(FakeAssistant()))
    html, turns, box = respond("   ", (), 5, ["musan-mine"])
    assert turns == () and 'class="turn"' not in html and "(empty question)" not in html

    class Strict(FakeAssistant):
        def ask(self, question, history=(), k=None, doc_ids=None):
            raise QuestionError("The question is 3,000 characters long; the limit is 2,000. Ask a shorter question.")

    long_q = "x" * 3000
    html, turns, box = _respond(build_app(Strict()))(long_q, (), 5, ["musan-mine"])
    assert "the limit is 2,000" in html and box == long_q and len(turns) == 1


@pytest.mark.parametrize(
    "question, docs, expected",
    [
        ("boom", ["musan-mine"], "something went wrong"),
        ("fine", [], "No articles are selected"),
    ],
)
def test_bad_input_gives_polite_message(question, docs, expected):
    from assistant.web.ui import build_app

    html, turns, _ = _respond(build_app(FakeAssistant()))(question, (), 5, docs)
    assert expected in html and "Traceback" not in html and "internal detail" not in html
    assert isinstance(turns[-1], Turn) and turns[-1].answer is None


def test_abstention_rendered_with_related():
    from assistant.web.ui import build_app

    html, _, _ = _respond(build_app(FakeAssistant()))("What is the capital of France?", (), 5, ["musan-mine", "other"])
    assert "Not in the articles" in html and "Related passages" in html


@pytest.fixture(scope="module")
def launched():
    from assistant.web.ui import build_app

    fake = FakeAssistant()
    app = build_app(fake)
    app.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield fake, app.local_url
    finally:
        app.close()


def test_api_returns_answer_to_dict(launched):
    from gradio_client import Client

    fake, url = launched
    client = Client(url, verbose=False)
    got = client.predict("And its leadership?", ["How many work at Musan Mine?"], 4, ["musan-mine"], api_name="/ask")
    expected = fake.ask("And its leadership?", ["How many work at Musan Mine?"], 4, ["musan-mine"]).to_dict()
    assert got == expected
    assert fake.calls[-2] == ("And its leadership?", ["How many work at Musan Mine?"], 4, ["musan-mine"])
    # history may also be given as a JSON string
    got2 = client.predict("And its leadership?", '["How many work at Musan Mine?"]', 4, [], api_name="/ask")
    assert got2 == expected


def test_api_error_is_a_message_not_a_traceback(launched):
    from gradio_client import Client

    _, url = launched
    client = Client(url, verbose=False)
    with pytest.raises(Exception) as info:
        client.predict("", [], 5, [], api_name="/ask")
    assert "The question is empty" in str(info.value)


def test_two_users_at_once_get_their_own_answers(launched):
    from gradio_client import Client

    _, url = launched
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    ja = a.submit("How many work at Musan Mine?", [], 5, [], api_name="/ask")
    jb = b.submit("What is the capital of France?", ["earlier"], 5, [], api_name="/ask")
    ra, rb = ja.result(timeout=30), jb.result(timeout=30)
    assert ra["question"] == "How many work at Musan Mine?" and not ra["abstained"]
    assert rb["question"] == "What is the capital of France?" and rb["abstained"]


def test_api_matches_real_engine_answer(seed_corpus, tmp_path, hash_encoder):
    """Over a real index (fake encoder), the endpoint returns Answer.to_dict() exactly."""
    from gradio_client import Client

    from assistant.store.build import build_index
    from assistant.engine import Assistant
    from assistant.web.ui import build_app

    build_index(seed_corpus, tmp_path / "index", encoder=hash_encoder, progress=False)
    assistant = Assistant.open(tmp_path / "index", encoder=hash_encoder)
    app = build_app(assistant)
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        for q, hist in [("How many people work at Musan Mine?", []), ("And its leadership?", ["How many people work at Musan Mine?"])]:
            got = client.predict(q, hist, 3, [], api_name="/ask")
            assert got == assistant.ask(q, history=hist, k=3).to_dict()
    finally:
        app.close()


def test_independent_questions_are_answered_at_once():
    """Two API calls are inside ``ask`` at the same time: each waits for the other at a
    barrier, which only completes when the app serves them concurrently."""
    import threading

    from gradio_client import Client

    from assistant.settings import Settings
    from assistant.web.ui import build_app

    barrier = threading.Barrier(2, timeout=20)

    class Meeting(FakeAssistant):
        def ask(self, question, history=(), k=None, doc_ids=None):
            barrier.wait()
            return super().ask(question, history, k, doc_ids)

    app = build_app(Meeting(), Settings(concurrency=2))
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        a, b = Client(app.local_url, verbose=False), Client(app.local_url, verbose=False)
        ja = a.submit("How many work at Musan Mine?", [], 5, [], api_name="/ask")
        jb = b.submit("And at Kaechon?", [], 5, [], api_name="/ask")
        assert ja.result(timeout=60)["question"] == "How many work at Musan Mine?"
        assert jb.result(timeout=60)["question"] == "And at Kaechon?"
    finally:
        app.close()


def test_api_k_zero_or_junk_is_refused_like_the_cli(seed_corpus, tmp_path, hash_encoder):
    from gradio_client import Client

    from assistant.store.build import build_index
    from assistant.engine import Assistant
    from assistant.web.ui import build_app

    build_index(seed_corpus, tmp_path / "index", encoder=hash_encoder, progress=False)
    app = build_app(Assistant.open(tmp_path / "index", encoder=hash_encoder))
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        for k in (0, -1, 2.5, "abc", 51):
            with pytest.raises(Exception) as info:
                client.predict("How many people work at Musan Mine?", [], k, [], api_name="/ask")
            assert "k must be a whole number between 1 and 50" in str(info.value), k
        assert client.predict("How many people work at Musan Mine?", [], None, [], api_name="/ask")["question"]
    finally:
        app.close()


def test_whole_article_server_function_returns_the_escaped_article():
    from assistant.web.ui import build_app

    app = build_app(FakeAssistant())
    chat = next(b for b in app.blocks.values() if getattr(b, "server_fns", None))
    whole = chat.whole_article
    start = MUSAN.text.index(QUOTE)
    html = whole(["musan-mine", start, start + len(QUOTE)])
    assert f"<mark>{QUOTE}</mark>" in html and "&lt;b&gt;more&lt;/b&gt;" in html and "<b>" not in html
    assert whole(["no-such-article", 0, 3]) == "" and whole("junk") == "" and whole(["musan-mine", "x", 2]) == ""
