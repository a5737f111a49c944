"""Vector index types (assistant/store/ann.py): IVF-PQ with exact re-ranking against flat search,
choice by size, parameters in the manifest, training reused by incremental builds."""
import numpy as np
import pytest

from assistant.engine import Assistant
from assistant.settings import Settings
from assistant.store import ann
from assistant.store.build import build_index
from assistant.store.index import load_index, read_manifest


def clustered(n, dim=64, topics=40, seed=0):
    """Unit vectors around 40 fixed topic centres (the same for every seed)."""
    centres = np.random.default_rng(0).normal(size=(topics, dim))
    rng = np.random.default_rng(seed + 1)
    x = centres[rng.integers(0, topics, n)] + 0.5 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall_at_10(index, vectors, queries):
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    _, got = index.search(queries, 10)
    return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact)])


def test_ivfpq_recall_vs_exact_and_memory_mapped_rerank(tmp_path):
    x = clustered(6000)
    path = tmp_path / "vectors.npy"
    np.save(path, x)
    mapped = np.load(path, mmap_mode="r")
    index, params = ann.build(mapped, "ivfpq")
    assert params["type"] == "ivfpq" and params["nlist"] > 1 and params["trained_for"] == 6000
    assert params["train_size"] < 6000  # trained on a sample
    searchable = ann.wrap(index, params, mapped)
    assert isinstance(searchable, ann.Reranked) and searchable._rows.fd is not None  # rows read with pread
    queries = clustered(200, seed=1)
    r = recall_at_10(searchable, x, queries)
    assert r >= 0.95, r
    # the scores are exact inner products of the returned rows
    scores, rows = searchable.search(queries[:3], 5)
    np.testing.assert_allclose(scores, np.einsum("qd,qkd->qk", queries[:3], x[rows]), rtol=1e-5, atol=1e-6)
    # without re-ranking the compressed codes alone do worse: re-ranking is doing the work
    searchable.rerank = 10
    assert recall_at_10(searchable, x, queries) < r


def test_auto_picks_by_size():
    assert ann.resolve("auto", ann.AUTO_IVFPQ_FROM - 1) == "flat"
    assert ann.resolve("auto", ann.AUTO_IVFPQ_FROM) == "ivfpq"
    assert ann.resolve("hnsw", 10) == "hnsw"
    p = ann.ivfpq_params(1_000_000, 384)
    assert p["m"] == 96 and 1024 <= p["nlist"] <= 4096 and p["nprobe"] <= p["nlist"]


def test_ivfpq_index_built_from_corpus_matches_flat(seed_corpus, tmp_path, hash_encoder):
    build_index(seed_corpus, tmp_path / "flat", Settings(index_type="flat"), encoder=hash_encoder, progress=False)
    build_index(seed_corpus, tmp_path / "pq", Settings(index_type="ivfpq"), encoder=hash_encoder, progress=False)
    m = read_manifest(tmp_path / "pq")
    assert m["index"]["type"] == "ivfpq" and m["settings"]["index_type"] == "ivfpq"
    assert read_manifest(tmp_path / "flat")["index"] == {"type": "flat"}
    flat = Assistant.open(tmp_path / "flat", encoder=hash_encoder)
    pq = Assistant.open(tmp_path / "pq", encoder=hash_encoder)
    assert isinstance(pq.stored.faiss_index, ann.Reranked)
    q = "How many people work at Musan Mine?"
    a, b = flat.ask(q), pq.ask(q)
    assert [h.chunk for h in a.hits] == [h.chunk for h in b.hits]
    assert a.text == b.text


def test_incremental_ivfpq_build_reuses_training(seed_corpus, tmp_path, hash_encoder):
    ix = tmp_path / "ix"
    build_index(seed_corpus, ix, Settings(index_type="ivfpq"), encoder=hash_encoder, progress=False)
    before = read_manifest(ix)["index"]
    (seed_corpus / "extra.txt").write_text("Musan Mine exports iron ore concentrate to China by rail.\n")
    build_index(seed_corpus, ix, Settings(index_type="ivfpq"), encoder=hash_encoder, progress=False)
    after = read_manifest(ix)
    assert after["index"] == before  # same training, recorded for the same corpus size
    stored = load_index(ix)
    assert stored.faiss_index.ntotal == len(stored.chunks) == after["counts"]["chunks"]
    assert any(c.doc_id == "extra" for c in stored.chunks)


def test_unknown_index_type_is_a_usage_error(seed_corpus, tmp_path, capsys):
    from assistant.cli import main

    with pytest.raises(SystemExit) as e:
        main(["index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "ix"), "--index-type", "ivf"])
    assert e.value.code == 2
    assert "ivfpq" in capsys.readouterr().err
