"""Load stage: every accepted format, verbatim text, titles, ids, warnings and errors."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from assistant.errors import CorpusError
from assistant.ingest.load import LoadResult, derive_title, load_corpus, load_squad
from assistant.types import Article

from tests.fakes import DATA, SEED_CORPUS as SEED

MIXED = DATA / "corpus_mixed"


def by_id(result: LoadResult) -> dict[str, Article]:
    return {a.doc_id: a for a in result.articles}


@pytest.fixture(scope="module")
def mixed() -> LoadResult:
    return load_corpus(MIXED)


# --- seed corpus ---------------------------------------------------------------------

def test_seed_corpus_is_loaded_verbatim():
    result = load_corpus(SEED)
    docs = by_id(result)
    assert set(docs) == {"kaechon-rock-drills", "musan-mine"}
    assert result.warnings == []
    for doc_id, article in docs.items():
        raw = (SEED / f"{doc_id}.txt").read_bytes().decode("utf-8")
        # the stored text is the file's exact tail after the front matter block
        closing = raw.index("\n---\n", 3) + len("\n---\n")
        assert raw.startswith("---\n") and article.text == raw[closing:]
    assert docs["kaechon-rock-drills"].title == "Kaechon rock drills"
    assert docs["musan-mine"].title == "Musan Mine operating at less than half full capacity"
    for article in docs.values():
        assert article.metadata["source"] == "Daily NK" and article.metadata["url"].startswith("https://www.dailynk.com/")
    assert docs["kaechon-rock-drills"].metadata["date"] == "2021-03"
    assert docs["kaechon-rock-drills"].metadata["author"] == "Mun Dong Hui"
    assert docs["musan-mine"].metadata["date"] == "2020-03"


def test_folder_order_is_sorted_and_accepts_str_path():
    assert [a.doc_id for a in load_corpus(str(SEED)).articles] == ["kaechon-rock-drills", "musan-mine"]


# --- text and markdown ---------------------------------------------------------------

def test_front_matter_metadata_and_body_is_exact_file_tail(mixed):
    article = by_id(mixed)["front-matter"]
    raw = (MIXED / "front-matter.txt").read_bytes().decode("utf-8")
    closing = raw.index("\n---\n") + len("\n---\n")
    assert article.text == raw[closing:]
    assert article.text.startswith("\n  Power plants") and article.text.endswith("Province.\n\n")
    assert article.title == "Coal shortages hit Pyongyang power plants"
    assert article.metadata == {
        "title": "Coal shortages hit Pyongyang power plants", "date": "2021-03-26",
        "url": "https://example.org/coal-shortages", "source": "Daily NK",
        "author": "Jane Doe", "tags": "energy, coal",
    }


def test_plain_text_is_verbatim_with_derived_title(mixed):
    article = by_id(mixed)["plain_notes"]
    assert article.text == (MIXED / "plain_notes.txt").read_text(encoding="utf-8")
    assert article.title == "Plain notes"
    assert article.metadata == {}


def test_markdown_heading_is_the_title_and_stays_in_the_text(mixed):
    article = by_id(mixed)["heading"]
    assert article.title == "Iron ore exports resume"
    assert article.text.startswith("# Iron ore exports resume\n")


def test_nested_ids_use_forward_slashes(mixed):
    article = by_id(mixed)["2024/nested-story"]
    assert article.title == "Nested story"


def test_duplicate_doc_id_keeps_first_and_warns(mixed):
    assert by_id(mixed)["dup"].text.startswith("The markdown copy")
    assert any("dup.txt" in w and "'dup'" in w for w in mixed.warnings)


def test_empty_article_and_jsonl_in_folder_are_skipped_with_warnings(mixed):
    docs = by_id(mixed)
    assert "empty" not in docs and "ignored" not in docs
    assert any(w.startswith("skipped empty.txt") for w in mixed.warnings)
    assert any("ignored.jsonl" in w for w in mixed.warnings)


def test_mixed_folder_ids(mixed):
    assert [a.doc_id for a in mixed.articles] == [
        "2024/nested-story", "dup", "front-matter", "heading", "page", "plain_notes"]


def test_crlf_bom_and_hidden_entries(tmp_path):
    (tmp_path / "crlf.txt").write_bytes("\ufeffLine one.\r\nLine two.\r\n".encode("utf-8"))
    (tmp_path / ".hidden.txt").write_text("hidden", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("hidden too", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [a.doc_id for a in result.articles] == ["crlf"]
    assert result.articles[0].text == "Line one.\r\nLine two.\r\n"


def test_front_matter_with_crlf_and_no_trailing_newline(tmp_path):
    (tmp_path / "a.md").write_bytes(b"---\r\ntitle: T\r\n---\r\nBody\r\n")
    (tmp_path / "b.txt").write_bytes(b"---\ntitle: Only header\n---")
    (tmp_path / "c.txt").write_bytes(b"--- not front matter\nkept whole\n")
    result = load_corpus(tmp_path)
    docs = by_id(result)
    assert docs["a"].text == "Body\r\n" and docs["a"].title == "T"
    assert "b" not in docs and any("b.txt" in w for w in result.warnings)
    assert docs["c"].text == "--- not front matter\nkept whole\n"


def test_invalid_yaml_front_matter_warns_and_keeps_whole_file(tmp_path):
    raw = "---\ntitle: [unclosed\n---\nBody text.\n"
    (tmp_path / "bad-yaml.txt").write_text(raw, encoding="utf-8")
    result = load_corpus(tmp_path)
    assert result.articles[0].text == raw
    assert result.articles[0].title == "Bad yaml"
    assert any("bad-yaml.txt" in w and "not valid YAML" in w for w in result.warnings)


def test_markdown_rules_around_a_paragraph_are_not_front_matter(tmp_path):
    raw = "---\nA paragraph between two rules.\n---\nMore text.\n"
    (tmp_path / "rules.md").write_text(raw, encoding="utf-8")
    result = load_corpus(tmp_path)
    assert result.articles[0].text == raw and result.warnings == []


def test_non_utf8_file_is_skipped_and_the_rest_load(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "bad.txt").write_bytes("Caf\u00e9 au lait".encode("latin-1"))
    (tmp_path / "good.txt").write_text("Good text.", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [a.doc_id for a in result.articles] == ["good"]
    assert result.warnings == ["skipped notes/bad.txt: not UTF-8 text (re-save it as UTF-8)"]


def test_single_text_file(tmp_path):
    path = tmp_path / "one-story.md"
    path.write_text("Just one story.\n", encoding="utf-8")
    result = load_corpus(path)
    assert [(a.doc_id, a.title, a.text) for a in result.articles] == [("one-story", "One story", "Just one story.\n")]


# --- HTML ----------------------------------------------------------------------------

def test_html_main_text_and_metadata(mixed):
    article = by_id(mixed)["page"]
    assert article.title == "Coal output falls"
    assert "rock drills made at the Kaechon factory" in article.text
    assert "Copyright" not in article.text and "Politics" not in article.text
    assert article.metadata["author"] == "Jane Doe"
    assert article.metadata["date"] == "2021-03-26"
    assert article.metadata["url"] == "https://example.org/coal-output"


def test_html_without_text_is_skipped(tmp_path):
    shutil.copy(SEED / "musan-mine.txt", tmp_path / "musan-mine.txt")
    (tmp_path / "blank.html").write_text("<html><head><title>Empty</title></head><body><script>var a = 1;</script></body></html>", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [a.doc_id for a in result.articles] == ["musan-mine"]
    assert any(w.startswith("skipped blank.html") for w in result.warnings)


# --- BEIR ----------------------------------------------------------------------------

def test_beir_jsonl():
    result = load_corpus(DATA / "beir_corpus.jsonl")
    docs = by_id(result)
    assert list(docs) == ["doc-1", "kaechon_rock_drills", "42"]
    assert docs["doc-1"].title == "Musan Mine slows down"
    assert docs["doc-1"].metadata == {"url": "https://example.org/musan", "publish_date": "2021-04-01", "date": "2021-04-01"}
    assert docs["kaechon_rock_drills"].title == "Kaechon rock drills"
    assert docs["42"].title == "42"
    assert docs["kaechon_rock_drills"].text == "Rock drills made in Kaechon break down quickly."


def test_beir_bad_lines_are_warned_with_line_numbers():
    warnings = load_corpus(DATA / "beir_corpus.jsonl").warnings
    assert any("beir_corpus.jsonl line 4" in w and "invalid JSON" in w for w in warnings)
    assert any("beir_corpus.jsonl line 5" in w and '"text"' in w for w in warnings)
    assert any("beir_corpus.jsonl line 7" in w for w in warnings)
    assert len(warnings) == 3


# --- SQuAD ---------------------------------------------------------------------------

def test_squad_v1():
    articles, questions = load_squad(DATA / "squad_v1.json")
    assert [a.doc_id for a in articles] == ["Musan_Mine", "Kaechon"]
    assert articles[0].title == "Musan Mine"
    assert articles[0].text == "Musan Mine is North Korea's largest iron mine.\n\nIt operates at less than 50% of capacity."
    assert questions[0] == {"id": "q1", "question": "What is the largest iron mine?",
                            "answers": ["Musan Mine", "Musan"], "gold_doc_ids": ["Musan_Mine"],
                            "is_impossible": False}
    assert [q["id"] for q in questions] == ["q1", "q2"]
    assert [a.doc_id for a in load_corpus(DATA / "squad_v1.json").articles] == ["Musan_Mine", "Kaechon"]


def test_squad_v2_impossible_question():
    articles, questions = load_squad(DATA / "squad_v2.json")
    assert [a.title for a in articles] == ["Rock drills"]
    assert questions[1] == {"id": "a2", "question": "Who exports the drills to China?", "answers": [],
                            "gold_doc_ids": [], "is_impossible": True}
    assert questions[0]["answers"] == ["Kaechon"] and questions[0]["gold_doc_ids"] == ["Rock_drills"]


def test_json_that_is_not_squad_is_rejected():
    with pytest.raises(CorpusError, match="not a SQuAD file.*BEIR .jsonl"):
        load_corpus(DATA / "not_squad.json")


# --- errors --------------------------------------------------------------------------

def test_missing_path(tmp_path):
    with pytest.raises(CorpusError, match="does not exist: pass --corpus with a folder of .txt/.md/.html"):
        load_corpus(tmp_path / "nope")


def test_empty_folder(tmp_path):
    with pytest.raises(CorpusError, match="has no .txt, .md or .html files"):
        load_corpus(tmp_path)


def test_unsupported_single_file(tmp_path):
    path = tmp_path / "story.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(CorpusError, match=r"Unsupported corpus file .*\.pdf"):
        load_corpus(path)


def test_folder_of_only_empty_articles(tmp_path):
    (tmp_path / "a.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="no articles with text.*skipped a.txt"):
        load_corpus(tmp_path)


def test_errors_are_one_line(tmp_path):
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path / "missing")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("doc_id, title", [
    ("kaechon-rock-drills", "Kaechon rock drills"),
    ("2024/musan_mine", "Musan mine"),
    ("iPhone-story", "IPhone story"),
    ("42", "42"),
])
def test_derive_title(doc_id, title):
    assert derive_title(doc_id) == title


# --- links never leave the corpus ------------------------------------------------------

def test_file_link_outside_the_corpus_is_skipped_with_a_warning_naming_it(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "story.txt").write_text("The mine employs 3,000 people.\n", encoding="utf-8")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "secret.txt").symlink_to(outside)
    result = load_corpus(corpus)
    assert [a.doc_id for a in result.articles] == ["story"]
    assert all("root:x" not in a.text for a in result.articles)
    for name in ("passwd.txt", "secret.txt"):
        assert any(name in w and "outside the corpus" in w for w in result.warnings), result.warnings


def test_folder_link_is_not_walked_and_is_named(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "leak.txt").write_text("Private notes that must not be indexed.\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    (corpus / "real").mkdir(parents=True)
    (corpus / "real" / "story.txt").write_text("The mine employs 3,000 people.\n", encoding="utf-8")
    (corpus / "linked").symlink_to(outside, target_is_directory=True)
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    result = load_corpus(corpus)
    assert [a.doc_id for a in result.articles] == ["real/story"]
    assert any("linked" in w and "outside the corpus" in w for w in result.warnings), result.warnings
    assert any("loop" in w for w in result.warnings), result.warnings


def test_link_inside_the_corpus_is_followed(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "archive").mkdir(parents=True)
    (corpus / "archive" / "story.txt").write_text("The mine employs 3,000 people.\n", encoding="utf-8")
    (corpus / "latest.txt").symlink_to(corpus / "archive" / "story.txt")
    result = load_corpus(corpus)
    assert [a.doc_id for a in result.articles] == ["archive/story", "latest"]
    assert result.warnings == []


def test_link_swapped_in_after_the_walk_is_refused(tmp_path, monkeypatch):
    """The check is made on the file actually opened, not on the name seen by the walk."""
    import assistant.ingest.load as load

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The mine employs 3,000 people.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Harmless.\n", encoding="utf-8")
    real_load_file = load._load_file

    def swap_then_load(path, *args, **kwargs):
        if path.name == "b.txt":
            path.unlink()
            path.symlink_to("/etc/passwd")
        return real_load_file(path, *args, **kwargs)

    monkeypatch.setattr(load, "_load_file", swap_then_load)
    result = load.load_corpus(corpus)
    assert [a.doc_id for a in result.articles] == ["a"]
    assert any("b.txt" in w and "outside the corpus" in w for w in result.warnings)


def _alias_bomb(levels: int) -> str:
    """Front matter of ``levels`` nested YAML aliases, each level nine of the one before
    (9**levels strings once expanded; 8 levels is about 700 bytes)."""
    names = "abcdefghijkl"
    lines = ["---", "title: A harmless title", f"{names[0]}: &{names[0]} [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip(names, names[1:levels]):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines + ["---", "The body of the article."]) + "\n"


@pytest.mark.parametrize("levels", [3, 5, 8, 9])
def test_yaml_alias_bomb_is_refused_with_a_reason_in_bounded_memory(tmp_path, levels):
    import tracemalloc

    (tmp_path / "bomb.md").write_text(_alias_bomb(levels), encoding="utf-8")
    (tmp_path / "fine.md").write_text("---\ntitle: Fine\n---\nA fine article.\n", encoding="utf-8")
    tracemalloc.start()
    try:
        result = load_corpus(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [a.doc_id for a in result.articles] == ["fine"]
    assert any(w.startswith("skipped bomb.md: its front matter uses YAML aliases") for w in result.warnings), result.warnings
    assert peak < 5_000_000  # 5 levels expanded alone is ~59,000 strings


def test_anchor_without_alias_and_long_blocks_are_harmless(tmp_path):
    (tmp_path / "anchor.md").write_text("---\ntitle: &t Anchored title\n---\nBody.\n", encoding="utf-8")
    long_block = "---\n" + "word " * 10_000 + "\n---\nBody after a long ruled section.\n"
    (tmp_path / "ruled.md").write_text(long_block, encoding="utf-8")
    result = load_corpus(tmp_path)
    got = by_id(result)
    assert got["anchor"].title == "Anchored title"
    assert got["ruled"].text == long_block  # not parsed as YAML: kept as text
    assert any("ruled.md" in w and "kept as text" in w for w in result.warnings)


@contextlib.contextmanager
def _fails_if_stuck(seconds: int = 60):
    """A call blocked for good (in open() on a pipe) becomes a test failure, not a hung run."""
    import signal

    def stuck(*_):
        raise AssertionError(f"still blocked after {seconds} s")

    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_a_pipe_in_the_corpus_is_skipped_with_a_warning_not_waited_on(tmp_path):
    import os

    (tmp_path / "real.txt").write_text("A real article.", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    with _fails_if_stuck():
        result = load_corpus(tmp_path)  # before: blocked forever in open()
    assert [a.doc_id for a in result.articles] == ["real"]
    assert any(w.startswith("skipped pipe.txt: not a regular file") for w in result.warnings)
    with pytest.raises(CorpusError, match="not a regular file"):
        load_corpus(tmp_path / "pipe.txt")


def test_a_pipe_swapped_in_after_the_walk_is_not_waited_on(tmp_path, monkeypatch):
    import os

    import assistant.ingest.load as load

    (tmp_path / "a.txt").write_text("An article.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Another article.", encoding="utf-8")
    real = load._read_utf8

    def swap(path, *args):
        if path.name == "b.txt" and not path.is_fifo():
            path.unlink()
            os.mkfifo(path)
        return real(path, *args)

    monkeypatch.setattr(load, "_read_utf8", swap)
    with _fails_if_stuck():
        result = load_corpus(tmp_path)
    assert [a.doc_id for a in result.articles] == ["a"]
    assert any(w.startswith("skipped b.txt: not a regular file") for w in result.warnings)
