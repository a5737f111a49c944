"""Retrieval: the fusion function, the retriever interface and the explicit depth."""
import pytest

from assistant.engine import Assistant
from assistant.search.retrieve import MODES, DenseRetriever, LexicalRetriever, fuse
from assistant.settings import RETRIEVERS, Settings
from assistant.store.build import build_index


def test_fuse_sums_reciprocal_ranks():
    dense = [(7, 0.9), (3, 0.8), (5, 0.1)]
    lexical = [(3, 12.0), (9, 4.0)]
    fused = fuse([dense, lexical], rrf_k=60)
    scores = dict(fused)
    assert scores[3] == pytest.approx(1 / 62 + 1 / 61)  # 2nd in dense, 1st in BM25
    assert scores[7] == pytest.approx(1 / 61)
    assert scores[9] == pytest.approx(1 / 62)
    assert scores[5] == pytest.approx(1 / 63)
    assert [row for row, _ in fused] == [3, 7, 9, 5]  # in both rankings beats either alone
    # the retrievers' own scores do not matter, only ranks; ties go to the lower row
    assert [row for row, _ in fuse([[(4, 1.0)], [(2, 99.0)]])] == [2, 4]
    assert fuse([]) == [] and fuse([[], []]) == []


def test_fuse_with_rrf_k_zero_is_plain_reciprocal_rank():
    assert fuse([[(1, 0.0), (2, 0.0)]], rrf_k=0) == [(1, 1.0), (2, 0.5)]


def test_modes_name_the_retrievers_of_each_setting():
    assert set(MODES) == set(RETRIEVERS)
    assert MODES["hybrid"] == ("dense", "bm25")


@pytest.fixture
def opened(seed_corpus, tmp_path, hash_encoder):
    build_index(seed_corpus, tmp_path / "ix", Settings(), encoder=hash_encoder, progress=False)
    return Assistant.open(tmp_path / "ix", Settings(), encoder=hash_encoder)


def test_depth_is_explicit(opened):
    r = opened.retriever
    qvec = opened.encoder.encode(["How many people work at Musan Mine?"])[0]
    n = len(opened.stored.chunks)
    for depth in (1, 3, n):
        assert len(r.search("How many people work at Musan Mine?", qvec, depth)) == depth
    assert len(opened.ask("How many people work at Musan Mine?", k=2).hits) == min(n, Settings().depth)
    deep = Assistant(opened.stored, opened.encoder, Settings(depth=3))
    assert len(deep.ask("How many people work at Musan Mine?", k=2).hits) == 3
    assert len(deep.ask("How many people work at Musan Mine?", k=5).hits) == 5  # never fewer than k


def test_each_retriever_answers_through_the_same_interface(opened):
    q = "How many people work at Musan Mine?"
    qvec = opened.encoder.encode([q])[0]
    rows = opened.retriever.rows_for(["musan-mine"])
    for retriever in (DenseRetriever(opened.stored), LexicalRetriever(opened.lexical)):
        ranking = retriever.search(q, qvec, 3)
        assert 0 < len(ranking) <= 3
        assert [s for _, s in ranking] == sorted((s for _, s in ranking), reverse=True)
        assert {row for row, _ in retriever.search(q, qvec, 50, rows)} <= set(rows.tolist())
    assert DenseRetriever(opened.stored).search(q, None, 3) == []


def test_hybrid_hits_follow_the_fused_order(opened, monkeypatch):
    """A stand-in retriever plugs into the same slot; the hits are the fused order."""
    class Fixed:
        def __init__(self, ranking):
            self.ranking = ranking

        def search(self, query, qvec, n, rows=None):
            return self.ranking[:n]

    monkeypatch.setitem(opened.retriever.retrievers, "dense", Fixed([(0, 0.9), (1, 0.5)]))
    monkeypatch.setitem(opened.retriever.retrievers, "bm25", Fixed([(1, 3.0), (2, 1.0)]))
    opened.retriever.max_per_doc = 10
    hits = opened.retriever.search("anything", None, 3, "hybrid")
    expected = [row for row, _ in fuse([[(0, 0.9), (1, 0.5)], [(1, 3.0), (2, 1.0)]], opened.retriever.rrf_k)]
    got = [(h.chunk.doc_id, h.chunk.start) for h in hits]
    want = [(opened.stored.chunks[r].doc_id, opened.stored.chunks[r].start) for r in expected]
    assert got == want
    assert hits[0].dense_score == 0.5 and hits[0].lexical_score == 3.0  # row 1: in both rankings
