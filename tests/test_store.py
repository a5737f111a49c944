"""Index stage: manifest, atomic writes, incremental re-indexing, refusing bad indexes."""
import json
import shutil

import pytest

from assistant.build import build_index
from assistant.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from assistant.settings import Settings
from assistant.store import FORMAT_VERSION, load_index, read_manifest


def build(corpus, index, enc, **kw):
    return build_index(corpus, index, Settings(**kw), encoder=enc, progress=False)


def test_build_writes_manifest_and_loads(seed_corpus, tmp_path, hash_encoder):
    r = build(seed_corpus, tmp_path / "ix", hash_encoder)
    assert (r.added, r.changed, r.removed, r.unchanged) == (2, 0, 0, 0)
    m = read_manifest(tmp_path / "ix")
    assert m["model"] == "hash-encoder" and m["dim"] == 256 and m["format_version"] == FORMAT_VERSION
    assert m["settings"]["chunk_tokens"] == Settings().chunk_tokens
    assert set(m["articles"]) == {"kaechon-rock-drills", "musan-mine"}
    assert all(len(a["hash"]) == 64 for a in m["articles"].values())
    stored = load_index(tmp_path / "ix")
    assert len(stored.chunks) == stored.faiss_index.ntotal == r.chunks
    for c in stored.chunks:
        assert stored.articles[c.doc_id].text[c.start : c.end] == c.text
    # one vector per distinct sentence of the chunks
    assert len(stored.sentences) == len(set(stored.sentences)) == len(stored.sentence_vectors) > len(stored.chunks)
    assert {d for d, _, _ in stored.sentences} == set(stored.articles)
    assert not list((tmp_path / "ix").glob("*.pkl"))


def test_reindex_unchanged_embeds_nothing(seed_corpus, tmp_path, hash_encoder):
    build(seed_corpus, tmp_path / "ix", hash_encoder)
    calls = hash_encoder.calls
    r = build(seed_corpus, tmp_path / "ix", hash_encoder)
    assert (r.added, r.changed, r.removed, r.unchanged, r.embedded_chunks) == (0, 0, 0, 2, 0)
    assert hash_encoder.calls == calls


def test_unchanged_corpus_never_creates_the_model(seed_corpus, tmp_path, hash_encoder):
    build(seed_corpus, tmp_path / "ix", hash_encoder)

    def factory():
        raise AssertionError("the model must not be loaded when nothing changed")

    r = build_index(seed_corpus, tmp_path / "ix", Settings(model="hash-encoder"), encoder_factory=factory, progress=False)
    assert r.unchanged == 2 and r.embedded_chunks == 0


def test_incremental_add_change_remove(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    before = load_index(ix)
    kaechon_rows = [c for c in before.chunks if c.doc_id == "kaechon-rock-drills"]
    (seed_corpus / "new.txt").write_text("A new article about tungsten mining in Chongjin. It is short.", encoding="utf-8")
    (seed_corpus / "musan-mine.txt").write_text("Musan Mine changed. Only this text remains now.", encoding="utf-8")
    (seed_corpus / "kaechon-rock-drills.txt").rename(seed_corpus / "gone.md")
    r = build(seed_corpus, ix, hash_encoder)
    assert (r.added, r.changed, r.removed, r.unchanged) == (2, 1, 1, 0)
    (seed_corpus / "gone.md").rename(seed_corpus / "kaechon-rock-drills.txt")
    (seed_corpus / "new.txt").unlink()
    r = build(seed_corpus, ix, hash_encoder)
    assert (r.added, r.changed, r.removed, r.unchanged) == (1, 0, 2, 1)
    assert r.embedded_chunks == len(kaechon_rows)  # only the re-added article
    after = load_index(ix)
    assert set(after.articles) == {"kaechon-rock-drills", "musan-mine"}
    assert "Only this text remains" in after.articles["musan-mine"].text
    assert len(list(ix.glob("data-*"))) == 1  # old generations are removed


class Boom(Exception):
    pass


def test_failed_build_leaves_previous_index_usable(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    manifest = (ix / "manifest.json").read_text()
    (seed_corpus / "musan-mine.txt").write_text("Changed text that will never be indexed.", encoding="utf-8")

    class Failing(type(hash_encoder)):
        def encode(self, texts):
            raise Boom("power cut")

    with pytest.raises(Boom):
        build(seed_corpus, ix, Failing())
    assert (ix / "manifest.json").read_text() == manifest
    stored = load_index(ix)
    assert "20,000" in stored.articles["musan-mine"].text


def test_interrupted_write_leaves_previous_index_usable(seed_corpus, tmp_path, hash_encoder, monkeypatch):
    """Killed while writing the data files (after embedding): the old manifest still rules."""
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    manifest = (ix / "manifest.json").read_text()
    (seed_corpus / "extra.txt").write_text("An extra article about coal exports.", encoding="utf-8")
    import assistant.store as store

    def die(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_write_json_atomic", die)
    with pytest.raises(KeyboardInterrupt):
        build(seed_corpus, ix, hash_encoder)
    monkeypatch.undo()
    assert (ix / "manifest.json").read_text() == manifest
    assert set(load_index(ix).articles) == {"kaechon-rock-drills", "musan-mine"}
    r = build(seed_corpus, ix, hash_encoder)  # the next build recovers and cleans up
    assert r.added == 1
    assert len(list(ix.glob("data-*"))) == 1 and not list(ix.glob(".building-*"))


def test_missing_index(tmp_path):
    with pytest.raises(IndexNotFoundError, match="assistant index"):
        load_index(tmp_path / "nowhere")


def test_corrupt_and_partial_index(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    data = ix / read_manifest(ix)["data_dir"]
    (data / "chunks.jsonl").write_text("garbage")
    with pytest.raises(IndexCorruptError, match="rebuild"):
        load_index(ix)
    shutil.rmtree(data)
    with pytest.raises(IndexCorruptError, match="rebuild"):
        load_index(ix)
    (ix / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="assistant index"):
        load_index(ix)


def test_other_format_or_model_is_refused(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build(seed_corpus, ix, hash_encoder)
    with pytest.raises(IndexMismatchError, match="--model"):
        load_index(ix, expect_model="all-MiniLM-L6-v2")
    m = json.loads((ix / "manifest.json").read_text())
    m["format_version"] = 99
    (ix / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="assistant index"):
        load_index(ix)


def test_hnsw_index_type(seed_corpus, tmp_path, hash_encoder):
    build(seed_corpus, tmp_path / "ix", hash_encoder, index_type="hnsw")
    stored = load_index(tmp_path / "ix")
    assert type(stored.faiss_index).__name__ == "IndexHNSWFlat"
    assert stored.faiss_index.ntotal == len(stored.chunks)
