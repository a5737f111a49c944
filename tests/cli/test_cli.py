"""The command line: bad input gives one line that says what to do, a non-zero exit
code, no traceback, and never damages an existing index. The model is replaced by the
HashEncoder here; tests/test_integration.py runs the real one."""
import json

import pytest

import assistant.embed.factory
from assistant.cli import main


@pytest.fixture(autouse=True)
def fake_model(hash_model):
    """Every command here runs on the hash encoder."""


@pytest.fixture
def index(seed_corpus, tmp_path):
    ix = tmp_path / "ix"
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(ix), "--quiet", "--model", "hash-encoder"]) == 0
    return ix


def one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error: "), err
    assert not any("Traceback" in line for line in err)
    return err[-1]


def test_index_reports_counts(seed_corpus, tmp_path, capsys):
    ix = tmp_path / "ix"
    args = ["index", "--corpus", str(seed_corpus), "--index", str(ix), "--quiet", "--model", "hash-encoder"]
    assert main(args) == 0
    assert "2 added, 0 changed, 0 removed, 0 unchanged" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 added, 0 changed, 0 removed, 2 unchanged" in capsys.readouterr().out


def test_ask_json(index, capsys):
    assert main(["ask", "How many employees does Musan Mine have?", "--index", str(index), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["question"] == "How many employees does Musan Mine have?"
    assert any("20,000" in c["quote"] and c["doc_id"] == "musan-mine" for c in out["citations"])
    musan = next(c for c in out["citations"] if c["doc_id"] == "musan-mine")
    assert (musan["date"], musan["source"], musan["author"]) == ("2020-03", "Daily NK", None)
    assert musan["url"] == "https://www.dailynk.com/english/musan-mine-operating-less-than-half-full-capacity/"
    assert set(musan) >= {"date", "source", "author", "url", "earlier_report", "also_reported_by"}


def test_ask_plain_prints_numbered_quotes(index, capsys):
    assert main(["ask", "What do its leaders earn?", "--history", "How many people work at Musan Mine?", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "[1] Musan Mine operating at less than half full capacity — Daily NK, 2020-03" in out and "searched for:" in out
    assert "https://www.dailynk.com/english/musan-mine" in out


@pytest.mark.parametrize("question", ["", "   ", "x" * 100_000])
def test_bad_question(index, capsys, question):
    assert main(["ask", question, "--index", str(index)]) == 2
    assert "question" in one_line_error(capsys).lower()


def test_missing_or_empty_corpus(tmp_path, capsys):
    assert main(["index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "ix")]) == 2
    assert "does not exist" in one_line_error(capsys)
    (tmp_path / "empty").mkdir()
    assert main(["index", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "ix")]) == 2
    one_line_error(capsys)
    assert not (tmp_path / "ix" / "manifest.json").exists()


def test_non_utf8_file_is_skipped_with_a_warning(seed_corpus, tmp_path, capsys):
    (seed_corpus / "broken.txt").write_bytes(b"\xff\xfe\x00 not utf-8 \xc3\x28")
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "ix"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "broken.txt" in captured.err and "warning" in captured.err
    assert "2 added" in captured.out


def test_missing_partial_and_corrupt_index(index, tmp_path, capsys):
    assert main(["ask", "anything", "--index", str(tmp_path / "none")]) == 2
    assert "assistant index" in one_line_error(capsys)
    manifest = json.loads((index / "manifest.json").read_text())
    vectors = index / manifest["data_dir"] / "vectors.faiss"
    good = vectors.read_bytes()
    vectors.write_bytes(good[: len(good) // 2])  # a partial file
    assert main(["ask", "anything", "--index", str(index)]) == 2
    assert "rebuild" in one_line_error(capsys)
    vectors.write_bytes(good)
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(index)]) == 0


def test_failed_rebuild_keeps_the_index(index, seed_corpus, capsys, monkeypatch):
    before = (index / "manifest.json").read_text()
    (seed_corpus / "musan-mine.txt").write_text("changed", encoding="utf-8")

    def broken(*a, **k):
        from assistant.errors import ModelError

        raise ModelError("Could not load the embedding model 'x': pass a local model directory.")

    monkeypatch.setattr(assistant.embed.factory, "load_encoder", broken)
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(index), "--quiet"]) == 2
    assert "model" in one_line_error(capsys)
    assert (index / "manifest.json").read_text() == before


def test_unknown_model_name_fails_fast_with_advice(seed_corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.undo()  # the real loader, offline: an unknown name must not hang on the network
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "ix"), "--model", "no-such/model-xyz", "--quiet"]) == 2
    line = one_line_error(capsys)
    assert "no-such/model-xyz" in line and "--model" in line


def test_linked_system_file_is_never_indexed_or_quoted(seed_corpus, tmp_path, capsys):
    (seed_corpus / "passwd.txt").symlink_to("/etc/passwd")
    ix = tmp_path / "ix"
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(ix), "--quiet", "--model", "hash-encoder"]) == 0
    captured = capsys.readouterr()
    assert "warning: skipped passwd.txt: it is a link to a file outside the corpus" in captured.err
    assert "2 added" in captured.out
    assert main(["ask", "What is the login shell of the root user?", "--index", str(ix), "--json"]) == 0
    out = capsys.readouterr().out
    assert "root:" not in out and "/bin/" not in out
    manifest = json.loads((ix / "manifest.json").read_text())
    assert set(manifest["articles"]) == {"kaechon-rock-drills", "musan-mine"}


# --- every listed bad input: one line, exit 2, no traceback (issue 7, items 5-6) ----------

def test_question_with_undecodable_bytes(index, capsys):
    question = b"How many people work at Musan Mine? \xff".decode("utf-8", "surrogateescape")  # what argv holds
    assert main(["ask", question, "--index", str(index)]) == 2
    assert "not UTF-8" in one_line_error(capsys)
    # a history turn with such bytes is left out, not fatal
    assert main(["ask", "What do its leaders earn?", "--history", question, "--index", str(index)]) == 0


def test_beir_line_with_a_lone_surrogate_is_skipped_not_fatal(tmp_path, capsys):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"_id": "bad", "text": "a \\ud800 b"}\n'
                      '{"_id": "good", "title": "Musan", "text": "Musan Mine has over 20,000 employees."}\n', encoding="utf-8")
    assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "ix"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "1 added" in captured.out and "skipped 'bad'" in captured.err and "Traceback" not in captured.err
    corpus.write_text('{"_id": "bad", "text": "a \\ud800 b"}\n', encoding="utf-8")
    assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "ix2"), "--quiet"]) == 2
    assert "no articles" in one_line_error(capsys)


def test_deeply_nested_json(tmp_path, capsys):
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.jsonl").write_text(deep + "\n", encoding="utf-8")
    (tmp_path / "deep.json").write_text(deep, encoding="utf-8")
    assert main(["eval", str(tmp_path / "deep.jsonl"), "--index", str(tmp_path / "none")]) == 2
    assert "nested too deeply" in one_line_error(capsys)
    assert main(["eval", str(tmp_path / "deep.json")]) == 2
    assert "nested too deeply" in one_line_error(capsys)
    assert main(["index", "--corpus", str(tmp_path / "deep.json"), "--index", str(tmp_path / "ix"), "--quiet"]) == 2
    assert "nested too deeply" in one_line_error(capsys)
    assert main(["index", "--corpus", str(tmp_path / "deep.jsonl"), "--index", str(tmp_path / "ix"), "--quiet"]) == 2
    assert "nested too deeply" in one_line_error(capsys)


@pytest.mark.parametrize("qas, expected", [
    ("not a list", '"qas" must be a list'),
    ([{"id": "q1", "question": "Who?", "answers": "Musan"}], '"answers" must be a list'),
    ([{"id": "q1", "question": "Who?", "answers": [{"answer_start": 0}]}], '"answers" must be a list of {"text"'),
    ([{"id": "q1", "answers": [{"text": "Musan"}]}], 'has no "question"'),
])
def test_malformed_squad_questions(tmp_path, capsys, qas, expected):
    squad = {"data": [{"title": "Musan", "paragraphs": [{"context": "Musan Mine has 20,000 employees.", "qas": qas}]}]}
    (tmp_path / "s.json").write_text(json.dumps(squad), encoding="utf-8")
    assert main(["eval", str(tmp_path / "s.json")]) == 2
    assert expected in one_line_error(capsys)
    # as a corpus only the articles matter: it still indexes
    assert main(["index", "--corpus", str(tmp_path / "s.json"), "--index", str(tmp_path / "ix"), "--quiet"]) == 0


@pytest.mark.parametrize("var, value, expected", [
    ("ASSISTANT_K", "abc", "ASSISTANT_K='abc' is not a whole number"),
    ("ASSISTANT_SECOND_SENTENCE_RATIO", "high", "ASSISTANT_SECOND_SENTENCE_RATIO='high' is not a number"),
    ("ASSISTANT_K", "0", "k must be between 1 and 50"),
    ("ASSISTANT_CANDIDATES", "-3", "candidates must be between"),
    ("ASSISTANT_SECOND_SENTENCE_RATIO", "nan", "second_sentence_ratio must be float"),
])
def test_bad_environment_values(index, capsys, monkeypatch, var, value, expected):
    monkeypatch.setenv(var, value)
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(index)]) == 2
    assert expected in one_line_error(capsys)


def test_index_on_a_full_disk_keeps_the_old_index(index, seed_corpus, capsys, monkeypatch):
    import errno
    import os

    import numpy as np

    before = (index / "manifest.json").read_text()
    (seed_corpus / "extra.txt").write_text("An extra article about coal exports.", encoding="utf-8")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "save", full)
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(index), "--quiet", "--model", "hash-encoder"]) == 2
    assert "No space left on device" in one_line_error(capsys)
    assert (index / "manifest.json").read_text() == before


def test_index_option_pointing_at_a_file(seed_corpus, tmp_path, capsys):
    f = tmp_path / "a-file"
    f.write_text("x")
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(f), "--quiet"]) == 2
    assert "is a file" in one_line_error(capsys)
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(f)]) == 2
    line = one_line_error(capsys)
    assert "is a file, not an index folder" in line and f"--index {f}`" not in line  # never "build an index into it"


@pytest.mark.parametrize("damage", ["files", "chunk"])
def test_manifest_valid_json_but_wrong(index, seed_corpus, capsys, damage):
    manifest = json.loads((index / "manifest.json").read_text())
    if damage == "files":
        manifest["files"] = [1]
        (index / "manifest.json").write_text(json.dumps(manifest))
    else:  # a chunk row naming an unknown article, the checksum made to agree
        import hashlib

        import numpy as np

        chunks = index / manifest["data_dir"] / "chunks.npy"
        rows = np.load(chunks)
        rows[0, 0] = 99
        np.save(chunks, rows)
        manifest["files"]["chunks.npy"] = hashlib.sha256(chunks.read_bytes()).hexdigest()
        (index / "manifest.json").write_text(json.dumps(manifest))
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(index)]) == 2
    assert "rebuild" in one_line_error(capsys)
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(index), "--quiet", "--model", "hash-encoder"]) == 0
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(index)]) == 0


@pytest.mark.parametrize("as_of", ["0001-01-01", "0001-01-05"])
def test_as_of_in_the_first_week_of_year_one(index, capsys, as_of):
    assert main(["ask", "What happened last week?", "--index", str(index), "--as-of", as_of]) == 2
    assert "out of range" in one_line_error(capsys)
