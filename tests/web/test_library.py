"""Articles managed from the page: uploads checked (type, size, UTF-8, text, duplicate),
written into the corpus folder, indexed incrementally; removal; example questions."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.engine import Assistant
from assistant.store.build import build_index
from assistant.web.examples import example_questions
from assistant.web.library import MAX_UPLOAD_BYTES, Library, safe_name
from tests.fakes import HashEncoder

NEWS = Path(__file__).resolve().parent.parent / "data" / "news"
FERRY = b"---\ntitle: Ferry runs aground\ndate: 2026-03-10\nsource: Island Herald\n---\nThe ferry Morning Star ran aground with 214 passengers on board.\n"


@pytest.fixture
def lib(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(NEWS, corpus)
    enc = HashEncoder()
    build_index(corpus, tmp_path / "ix", encoder=enc, progress=False)
    return Library(Assistant.open(tmp_path / "ix", encoder=enc), corpus, tmp_path / "ix")


def test_upload_lands_in_corpus_and_is_searchable(lib):
    before = lib.assistant.encoder.encoded
    r = lib.upload([("ferry.md", FERRY)], progress=False)
    assert r.added == ("ferry",) and r.refused == ()
    assert (lib.corpus / "ferry.md").read_bytes() == FERRY
    assert lib.assistant.encoder.encoded > before  # only the new article was embedded
    rows = lib.rows()
    assert rows[0][:4] == ["Ferry runs aground", "2026-03-10", "Island Herald", "ferry"]  # newest first
    assert any(r[3] == "coast-post-bridge-copy" and r[4].startswith("copy of harbour-bridge-cost") for r in rows)
    a = lib.assistant.ask("How many passengers were on the ferry Morning Star?")
    assert a.citations[0].doc_id == "ferry" and a.citations[0].source == "Island Herald"


@pytest.mark.parametrize("name, data, why", [
    ("report.pdf", b"%PDF", ".pdf files are not accepted: upload .txt, .md, .html or .jsonl"),
    ("noext", b"text", "no extension files are not accepted"),
    ("big.txt", b"x" * (MAX_UPLOAD_BYTES + 1), "over the 5,000,000-byte limit"),
    ("long.md", b"word " * 250_000, "its text is 1,250,000 characters, over the per-article limit of 1,000,000"),
    ("latin.txt", "caf\u00e9 au lait".encode("latin-1"), "not UTF-8 text"),
    ("empty.md", b"  \n", "the file is empty"),
    ("only-front.md", b"---\ntitle: x\n---\n  \n", "no text"),
    ("page.html", b"<html><head><title>x</title></head><body></body></html>", "no article text found"),
    ("marathon.md", b"Someone else won the marathon in a new time.", "already exists"),
    ("bad.jsonl", b'{"_id": "a"}\n', "needs \"_id\" (or \"id\") and a non-empty \"text\""),
])
def test_refusals_say_why_and_write_nothing(lib, name, data, why):
    files_before = sorted(p.name for p in lib.corpus.iterdir())
    r = lib.upload([(name, data)], progress=False)
    assert r.added == () and len(r.refused) == 1 and why in r.refused[0], r.refused
    assert sorted(p.name for p in lib.corpus.iterdir()) == files_before


def test_jsonl_upload_becomes_one_file_per_article(lib):
    data = (b'{"_id": "wire-1", "title": "Port strike ends", "text": "Dock workers ended their strike on Friday after a pay deal.", '
            b'"publish_date": "2026-03-06", "source": "Wire"}\n'
            b'{"_id": "wire-2", "text": "The port reopened on Saturday morning to cargo ships."}\n')
    r = lib.upload([("wire.jsonl", data)], progress=False)
    assert r.added == ("wire-1", "wire-2")
    art = lib.articles["wire-1"]
    assert art.text == "Dock workers ended their strike on Friday after a pay deal."
    assert (art.title, art.metadata["date"], art.metadata["source"]) == ("Port strike ends", "2026-03-06", "Wire")


def test_remove_deletes_the_file_and_reindexes(lib):
    lib.upload([("ferry.md", FERRY)], progress=False)
    assert lib.remove("ferry", progress=False) == "Ferry runs aground"
    assert not (lib.corpus / "ferry.md").exists() and "ferry" not in lib.articles
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="no article"):
        lib.remove("ferry", progress=False)


def test_safe_name_stays_in_the_folder():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("C:\\Users\\me\\My Story!.MD") == "My-Story.md"
    assert safe_name(".hidden.txt") == "hidden.txt"


def test_example_questions_follow_the_corpus(lib):
    qs = example_questions(lib.articles, lib.assistant.copies)
    assert qs[0] == "What happened with the bridge cost estimate?"  # the newest article's subject, not its title
    assert qs[1] == "What happened with the runner?"
    assert "What is the latest news?" in qs and not any("Musan" in q for q in qs)
    assert not any("coast-post" in q for q in qs)


def test_the_app_follows_command_line_rebuilds_without_failing_a_question(lib, tmp_path):
    """With the app running, `assistant index` runs twice on its index: the app answers from
    the newest generation at its next question, and a question still being answered on the
    generation it started with can read every article of it (its folder is kept)."""
    import threading

    asked = lib.assistant  # what a question in flight holds
    first = asked.manifest["data_dir"]
    errors, answers, stop = [], [], threading.Event()

    def ask_on():  # questions keep coming while the index is rebuilt
        while not stop.is_set():
            try:
                answers.append(lib.assistant.ask("Who won the marathon?"))
            except Exception as e:  # noqa: BLE001 - any failure is what this test is about
                errors.append(e)

    asker = threading.Thread(target=ask_on)
    asker.start()
    try:
        for i, name in enumerate(("ferry", "tram")):
            text = FERRY if name == "ferry" else b"The new tram line to the harbour opens on 3 April with 12 stops.\n"
            (lib.corpus / f"{name}.md").write_bytes(text)
            build_index(lib.corpus, lib.index, encoder=HashEncoder(), progress=False)  # the CLI's build, beside the app
    finally:
        stop.set()
        asker.join()
    assert errors == [] and answers
    assert (lib.index / first).is_dir()  # still held by the question in flight
    late = asked.ask("When does the school lunch change?")  # an article this generation never read yet
    assert late.citations and "tram" not in asked.articles
    now = lib.assistant
    assert now.manifest["data_dir"] != first and {"ferry", "tram"} <= set(now.articles)
    a = now.ask("How many stops does the new tram line have?")
    assert a.citations[0].doc_id == "tram"
    del asked, late, answers
    import gc

    gc.collect()
    (lib.corpus / "tram.md").unlink()
    build_index(lib.corpus, lib.index, encoder=HashEncoder(), progress=False)
    assert not (lib.index / first).exists()  # let go: removed by the next build


def test_a_new_generation_that_cannot_be_opened_leaves_the_app_on_the_old_one(lib, caplog):
    import json

    before = lib.assistant
    manifest = json.loads((lib.index / "manifest.json").read_text())
    (lib.index / "manifest.json").write_text(json.dumps(dict(manifest, data_dir="data-missing000")))
    assert lib.assistant is before
    assert "cannot be opened" in caplog.text
    assert lib.assistant.ask("Who won the marathon?").citations


def test_non_latin_file_names_keep_their_letters(lib):
    assert safe_name("ü名.md") == "ü名.md"
    assert safe_name("Пожар в порту.TXT") == "Пожар-в-порту.txt"
    assert safe_name("u\u0308ber.md") == "über.md"  # one spelling (NFC) whatever the client sent
    assert safe_name("名/../../x.md") == "x.md" and safe_name("a.m\u200bd") == "a.md"
    r = lib.upload([("ü名.md", b"The first article about the harbour ferry.\n"),
                    ("日本.md", b"The second article about the harbour tram.\n")], progress=False)
    assert r.refused == () and set(r.added) == {"ü名", "日本"}
    assert (lib.corpus / "ü名.md").is_file() and (lib.corpus / "日本.md").is_file()


@pytest.mark.parametrize("title, subject", [
    ("Rivermouth Rovers win first national cup in 41 years", "Rivermouth Rovers"),
    ("Harbour bridge to cost $412 million, council says", "the harbour bridge"),
    ("Free school lunches extended to all primary pupils", "the free school lunches"),
    ("Glacier expedition drills deepest ice core", "the glacier expedition"),
    ("Which Factory Makes the Drills?", None),
    ("", None),
])
def test_example_questions_are_short_and_whole(title, subject):
    from assistant.web.examples import MAX_SUBJECT_CHARS, headline_subject

    assert headline_subject(title) == subject
    # a first word the article only writes with a capital is a name, and keeps it
    assert headline_subject("Kaechon rock drills", "The Kaechon complex buys drills.") == "the Kaechon rock drills"
    assert headline_subject("Kaechon rock drills", "kaechon is a word here.") == "the kaechon rock drills"
    long = "Extraordinarily lengthy headline wording describing something uncommonly verbose indeed"
    assert headline_subject(long) is None or len(headline_subject(long)) <= MAX_SUBJECT_CHARS


def test_removed_article_goes_to_the_trash_and_can_be_restored(lib):
    v0 = lib.version
    lib.upload([("ferry.md", FERRY)], progress=False)
    assert lib.version != v0  # a new generation: open tabs refresh their lists
    assert lib.remove("ferry", progress=False) == "Ferry runs aground"
    assert "ferry" not in lib.articles and not (lib.corpus / "ferry.md").exists()
    [t] = lib.trashed()
    assert t.title == "Ferry runs aground" and t.file == "ferry.md"
    # the trash is never indexed: a rebuild from the corpus folder leaves it out
    assert build_index(lib.corpus, lib.index, encoder=lib.assistant.encoder, progress=False).removed == 0
    assert "ferry" not in lib.current().articles
    assert lib.restore(t.key, progress=False) == "Ferry runs aground"
    assert (lib.corpus / "ferry.md").read_bytes() == FERRY and lib.trashed() == []
    assert lib.assistant.ask("How many passengers were on the ferry Morning Star?").citations[0].doc_id == "ferry"
    lib.remove("ferry", progress=False)
    assert lib.empty_trash() == 1 and lib.trashed() == []
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="no longer in the trash"):
        lib.restore(t.key, progress=False)


def test_restore_refuses_when_the_file_is_back(lib):
    from assistant.errors import AssistantError

    lib.upload([("ferry.md", FERRY)], progress=False)
    lib.remove("ferry", progress=False)
    lib.upload([("ferry.md", FERRY)], progress=False)
    with pytest.raises(AssistantError, match="remove that one first"):
        lib.restore(lib.trashed()[0].key, progress=False)
    assert len(lib.trashed()) == 1  # still there


def test_an_index_rebuilt_from_the_command_line_is_served_without_a_restart(lib):
    (lib.corpus / "ferry.md").write_bytes(FERRY)  # as an editor would, then `assistant index`
    assert "ferry" not in lib.articles
    v0 = lib.version
    build_index(lib.corpus, lib.index, encoder=lib.assistant.encoder, progress=False)
    assert "ferry" in lib.articles and lib.version != v0
    v1 = lib.version
    assert lib.current().ask("How many passengers were on the ferry Morning Star?").citations[0].doc_id == "ferry"
    assert lib.version == v1  # nothing changed since
