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


def _handler(app, name):
    for fn in app.fns.values():
        if getattr(fn.fn, "__name__", "") == name:
            return fn.fn
    raise AssertionError(f"{name} handler not found")


@pytest.fixture
def library_app(tmp_path, hash_encoder):
    """A real index over a corpus folder, and a builder of apps over it with some access."""
    import shutil

    from assistant.store.build import build_index
    from assistant.engine import Assistant
    from assistant.web.ui import build_app
    from tests.fakes import DATA

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "news", corpus)
    build_index(corpus, tmp_path / "ix", encoder=hash_encoder, progress=False)

    def make(access=None, settings=None):
        from assistant.settings import Settings

        assistant = Assistant.open(tmp_path / "ix", encoder=hash_encoder)
        return build_app(assistant, settings or Settings(), corpus_dir=corpus, index_dir=tmp_path / "ix", access=access)

    make.corpus = corpus
    return make


def _status(app, out) -> str:
    """The library status line in a handler's outputs (a dict of component updates)."""
    status = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "library-status")
    return out[status]


def _upload(app, files, request=None) -> str:
    return _status(app, _handler(app, "on_upload")(files, None, None, request, lambda *a, **k: None))


def _remove(app, doc_id, request=None) -> str:
    """Remove as the page does after "Yes" in the confirmation."""
    return _status(app, _handler(app, "on_confirm")(("remove", doc_id), None, None, request, lambda *a, **k: None))


def _uploaded(tmp_path, name: str, data: bytes):
    """A file as Gradio hands it to the handler: in its own temporary folder."""
    from types import SimpleNamespace

    folder = tmp_path / "gradio-tmp" / name.replace(".", "-")
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    return SimpleNamespace(name=str(folder / name), orig_name=name)


def test_upload_route_refuses_a_file_over_the_limit_and_keeps_nothing(library_app, tmp_path, monkeypatch):
    """The app's own upload limit is Gradio's max_file_size: the route answers 413 while the
    file streams in, and no copy of it stays in the temporary folder."""
    import httpx

    from assistant.settings import Settings
    from assistant.web.ui import launch_options

    temp = tmp_path / "gradio-temp"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(temp))
    settings = Settings(max_upload_bytes=200_000)
    app = library_app(settings=settings)
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, **launch_options(settings))
    try:
        url = app.local_url.rstrip("/") + "/gradio_api/upload"
        big = httpx.post(url, files={"files": ("big.txt", b"x" * 300_000)}, timeout=60)
        assert big.status_code == 413, big.text
        small = httpx.post(url, files={"files": ("small.txt", b"A small article.")}, timeout=60)
        assert small.status_code == 200
    finally:
        app.close()
    kept = [p for p in temp.rglob("*") if p.is_file()] if temp.exists() else []
    assert all(p.stat().st_size < 300_000 for p in kept), kept


def test_uploads_are_removed_from_the_temporary_folder_once_read(library_app, tmp_path):
    app = library_app()
    ok = _uploaded(tmp_path, "tram.md", b"The new tram line opens on 3 April with 12 stops.\n")
    refused = _uploaded(tmp_path, "report.pdf", b"%PDF")
    message = _upload(app, [ok, refused])
    assert "Added and indexed 1" in message and "Refused report.pdf" in message
    assert not any(p.is_file() for p in (tmp_path / "gradio-tmp").rglob("*"))


def test_upload_over_the_article_limit_is_refused_not_reported_added(library_app, tmp_path):
    from assistant.settings import Settings

    app = library_app(settings=Settings(max_article_chars=1000))
    message = _upload(app, [_uploaded(tmp_path, "long.md", b"A long article about the harbour. " * 100)])
    assert "Added" not in message and "Refused long.md" in message and "over the per-article limit of 1,000" in message
    assert not (library_app.corpus / "long.md").exists()


def test_only_editors_change_the_library(library_app, tmp_path):
    from types import SimpleNamespace

    from assistant.web.access import Access

    access = Access({"ann": "pw1", "ed": "pw2"}, frozenset({"ed"}))
    app = library_app(access)
    reader, editor = SimpleNamespace(username="ann"), SimpleNamespace(username="ed")
    tram = b"The new tram line opens on 3 April with 12 stops.\n"
    message = _upload(app, [_uploaded(tmp_path, "tram.md", tram)], reader)
    assert message.startswith("Not added: ann may ask questions but not change the library")
    assert not (library_app.corpus / "tram.md").exists()
    assert _remove(app, "marathon", reader).startswith("Not removed: ann may ask")
    assert (library_app.corpus / "marathon.md").exists()
    assert "Added and indexed 1" in _upload(app, [_uploaded(tmp_path, "tram2.md", tram)], editor)
    assert _remove(app, "marathon", editor).startswith("Removed")


def test_read_only_library_cannot_be_changed_and_shows_no_upload(library_app, tmp_path):
    from assistant.web.access import Access

    app = library_app(Access(read_only=True))
    assert not any(getattr(b, "elem_id", None) in ("upload", "remove", "restore") for b in app.blocks.values())
    for name in ("on_upload", "on_confirm", "on_restore"):  # no event a client could call
        with pytest.raises(AssertionError, match="not found"):
            _handler(app, name)
    assert any("read-only" in str(getattr(b, "value", "")) for b in app.blocks.values())


def test_sign_in_protects_the_page_and_the_api(library_app):
    """With users, the API answers only a signed-in client (Gradio's auth covers both)."""
    import httpx
    from gradio_client import Client

    from assistant.web.access import Access
    from assistant.settings import Settings
    from assistant.web.ui import launch_options

    access = Access({"ann": "s3cret"})
    app = library_app(access)
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, **launch_options(Settings(), access))
    try:
        base = app.local_url.rstrip("/")
        assert httpx.get(base + "/config", timeout=30).status_code in (401, 403)
        assert httpx.post(base + "/gradio_api/upload", files={"files": ("a.txt", b"x")}, timeout=30).status_code in (401, 403)
        with pytest.raises(Exception):
            Client(base, auth=("ann", "wrong"), verbose=False)
        client = Client(base, auth=("ann", "s3cret"), verbose=False)
        assert client.predict("Who won the marathon?", [], 3, [], api_name="/ask")["question"] == "Who won the marathon?"
    finally:
        app.close()


def test_an_article_added_in_another_tab_is_searched_before_this_tab_refreshes():
    """A tab lists the articles it has shown (``known``); one added since is searched too,
    and one the user unticked stays out."""
    from assistant.web.ui import build_app

    fake = FakeAssistant()
    respond = _respond(build_app(fake))
    known = ("musan-mine", "other")
    fake.articles["ferry"] = Article("ferry", "Ferry runs aground", "The ferry ran aground.")  # another tab's upload
    respond("x", (), 5, ["musan-mine", "other"], "", "", "", known)
    assert fake.calls[-1][3] is None  # everything, the new article included
    respond("x", (), 5, ["musan-mine"], "", "", "", known)
    assert fake.calls[-1][3] == ["ferry", "musan-mine"]  # "other" stays unticked
    html, _, _ = respond("x", (), 5, [], "", "", "", ("musan-mine", "other", "ferry"))
    assert "No articles are selected" in html
