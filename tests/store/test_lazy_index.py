"""The index opens lazily (memory-mapped vectors, saved BM25, texts read by offset) and
answers exactly as when everything is read into memory; builds stream in batches, and an
oversized article is skipped with a warning."""
import json

import numpy as np
import pytest

from assistant.engine import Assistant
from assistant.evaluation.sets import load_eval_file
from assistant.settings import Settings
from assistant.store import build as build_module
from assistant.store.build import build_index
from assistant.store.index import load_index, read_manifest
from assistant.store.lexical import LexicalIndex
from assistant.terms import terms
from tests.fakes import ROOT, HashEncoder

SETTINGS = Settings(model="hash-encoder")


def _answers(engine, questions):
    out = []
    for q in questions:
        a = engine.ask(q)
        out.append((a.text, a.abstained, [(c.doc_id, c.start, c.end, c.quote) for c in a.citations],
                    [(h.chunk.doc_id, h.chunk.start, h.chunk.end, round(h.score, 9)) for h in a.hits]))
    return out


@pytest.fixture
def seed_index(seed_corpus, tmp_path):
    ix = tmp_path / "ix"
    build_index(seed_corpus, ix, SETTINGS, encoder=HashEncoder(), progress=False)
    return ix


def test_lazy_index_answers_as_a_fully_loaded_one(seed_index):
    enc = HashEncoder()
    questions = [q.question for q in load_eval_file(ROOT / "eval" / "seed_questions.jsonl").questions]
    lazy = Assistant(load_index(seed_index), enc, SETTINGS)
    full = Assistant(load_index(seed_index, lazy=False), enc, SETTINGS)
    assert isinstance(lazy.stored.sentence_vectors, np.memmap) and not isinstance(full.stored.sentence_vectors, np.memmap)
    a, b = _answers(lazy, questions), _answers(full, questions)
    assert a == b
    assert sum(not abstained for _, abstained, _, _ in a) > 0
    # restricted to one article (dense search over vectors read back from FAISS)
    x = lazy.ask("How many people work at Musan Mine?", doc_ids=["musan-mine"])
    y = full.ask("How many people work at Musan Mine?", doc_ids=["musan-mine"])
    assert [c.quote for c in x.citations] == [c.quote for c in y.citations]
    assert {h.chunk.doc_id for h in x.hits} == {"musan-mine"}


def test_saved_bm25_matches_one_built_from_the_texts(seed_index):
    stored = load_index(seed_index)
    texts = [f"{stored.articles[c.doc_id].title}\n\n{c.text}" for c in stored.chunks]
    rebuilt = LexicalIndex(texts)
    for term in ("mine", "musan", "drill", "factori", "nothing-like-it"):
        assert stored.lexical.idf(term) == pytest.approx(rebuilt.idf(term))
    q = terms("How many people work at Musan Mine?")
    assert np.allclose(stored.lexical.scores(q), rebuilt.scores(q))


def test_layout_has_one_copy_of_the_vectors_and_fp16_sentences(seed_index):
    m = read_manifest(seed_index)
    data = seed_index / m["data_dir"]
    assert not (data / "embeddings.npy").exists()
    assert m["format_version"] == 3 and (data / "bm25" / "params.index.json").is_file()
    assert np.load(data / "sentence_vectors.npy", mmap_mode="r").dtype == np.float16
    stored = load_index(seed_index)
    assert len(stored.sentences) == m["counts"]["sentences"] > 0
    # every sentence row can be found by its key, and its text is inside its article
    for i in range(len(stored.sentences)):
        d, a, b = stored.sentences[i]
        assert stored.sentence_row(d, a, b) == i and 0 <= a < b <= len(stored.articles[d].text)


def test_old_format_asks_for_a_rebuild(seed_index):
    from assistant.errors import IndexMismatchError

    m = json.loads((seed_index / "manifest.json").read_text())
    m["format_version"] = 2
    (seed_index / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="rebuild it with `assistant index"):
        load_index(seed_index)


def test_reindex_copies_unchanged_rows_exactly(seed_corpus, seed_index, tmp_path):
    before = load_index(seed_index, lazy=False)
    (seed_corpus / "extra.txt").write_text("Extra article. It is about rice prices in Hyesan markets.", encoding="utf-8")
    enc = HashEncoder()
    report = build_index(seed_corpus, seed_index, SETTINGS, encoder=enc, progress=False)
    assert report.added == 1 and report.unchanged == 2 and report.embedded_chunks == 1
    after = load_index(seed_index)
    old_rows = {(c.doc_id, c.start, c.end): i for i, c in enumerate(before.chunks)}
    for j, c in enumerate(after.chunks):
        if c.doc_id != "extra":
            i = old_rows[(c.doc_id, c.start, c.end)]
            assert np.array_equal(after.chunk_vectors([j]), before.chunk_vectors([i]))
    for j in range(len(after.sentences)):
        key = after.sentences[j]
        if key[0] != "extra":
            assert np.array_equal(after.sentence_vectors[j], before.sentence_vectors[before.sentence_row(*key)])


def test_build_streams_in_batches(seed_corpus, tmp_path, monkeypatch):
    enc = HashEncoder()
    monkeypatch.setattr(build_module, "EMBED_SLAB", 3)
    sizes = []
    real = build_module._embed_batch
    monkeypatch.setattr(build_module, "_embed_batch", lambda e, a, chunks, w, s: sizes.append(len(chunks)) or real(e, a, chunks, w, s))
    report = build_index(seed_corpus, tmp_path / "ix", SETTINGS, encoder=enc, progress=False)
    assert max(sizes) == 3 and sum(sizes) == report.chunks == report.embedded_chunks
    # the same index as one built in bigger batches
    monkeypatch.setattr(build_module, "EMBED_SLAB", 256)
    build_index(seed_corpus, tmp_path / "ix2", SETTINGS, encoder=HashEncoder(), progress=False)
    a, b = load_index(tmp_path / "ix"), load_index(tmp_path / "ix2")
    assert list(a.sentences) == list(b.sentences)
    assert np.array_equal(np.asarray(a.sentence_vectors), np.asarray(b.sentence_vectors))


def test_oversized_article_is_skipped_with_a_warning(seed_corpus, tmp_path):
    (seed_corpus / "huge.txt").write_text("Word after word. " * 2000, encoding="utf-8")
    settings = Settings(model="hash-encoder", max_article_chars=20_000)
    report = build_index(seed_corpus, tmp_path / "ix", settings, encoder=HashEncoder(), progress=False)
    warning = [w for w in report.warnings if w.startswith("huge")]
    assert len(warning) == 1 and "34,000 characters" in warning[0] and "ASSISTANT_MAX_ARTICLE_CHARS" in warning[0]
    assert report.added == 2 and "huge" not in load_index(tmp_path / "ix").articles
    # an unchanged corpus stays unchanged (the skipped article is not "added" again) and warns again
    again = build_index(seed_corpus, tmp_path / "ix", settings, encoder=HashEncoder(), progress=False)
    assert again.added == 0 and again.embedded_chunks == 0 and any(w.startswith("huge") for w in again.warnings)


def test_oversized_article_warning_on_the_command_line(seed_corpus, tmp_path, capsys, monkeypatch, hash_model):
    from assistant.cli import main

    monkeypatch.setenv("ASSISTANT_MAX_ARTICLE_CHARS", "5000")
    (seed_corpus / "huge.txt").write_text("x " * 4000, encoding="utf-8")
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "ix"), "--quiet", "--model", "hash-encoder"]) == 0
    err = capsys.readouterr().err
    assert "warning: huge: skipped, its text is 8,000 characters" in err
