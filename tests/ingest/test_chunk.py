"""Chunk stage: offsets, budgets, overlap, boilerplate, and the model-token limit."""
import pytest

from assistant.ingest.chunk import ChunkLimits, chunk_article, embed_text, tiktoken_encoding
from assistant.text import content_spans, split_sentences
from assistant.types import Article


def words(texts):
    return [len(t.split()) for t in texts]


def limits(chunk_tokens=60, overlap=12, max_model=10_000, counter=words):
    return ChunkLimits(chunk_tokens, overlap, max_model, counter)


def test_chunks_are_exact_slices_within_budget(seed_corpus):
    enc = tiktoken_encoding()
    for path in seed_corpus.glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        art = Article(path.stem, "T", text)
        chunks = chunk_article(art, limits())
        assert len(chunks) > 3
        for c in chunks:
            assert c.text == text[c.start : c.end]
            assert c.text == c.text.strip()
            assert len(enc.encode(c.text)) <= 60


def test_consecutive_chunks_overlap_and_cover_the_content(seed_corpus):
    text = (seed_corpus / "musan-mine.txt").read_text(encoding="utf-8")
    chunks = chunk_article(Article("m", "T", text), limits(chunk_tokens=100, overlap=40))
    pairs = list(zip(chunks, chunks[1:]))
    assert all(b.start > a.start for a, b in pairs)
    # trailing sentences within the overlap budget are repeated at the next chunk's start
    assert sum(b.start < a.end for a, b in pairs) >= len(pairs) // 2
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    for a, b in split_sentences(text, *content_spans(text)[0]):
        assert a in covered and b - 1 in covered


def test_boilerplate_is_kept_out_of_chunks(seed_corpus):
    for path in seed_corpus.glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        joined = " ".join(c.text for c in chunk_article(Article(path.stem, "T", text), limits()))
        assert "Please direct any" not in joined
        assert "Read in Korean" not in joined
        assert "Translated by" not in joined
        assert "dailynkenglish@" not in joined
        assert "Although North Korea" in joined or "Musan" in joined


def test_long_sentence_is_split_at_token_budget():
    text = " ".join(f"word{i}" for i in range(400)) + "."
    chunks = chunk_article(Article("long", "", text), limits(chunk_tokens=50, overlap=0))
    enc = tiktoken_encoding()
    assert len(chunks) > 4
    assert all(len(enc.encode(c.text)) <= 50 for c in chunks)
    assert all(c.text == text[c.start : c.end] for c in chunks)


def test_model_limit_forces_further_splits():
    """Chunks whose embedded text (title included) exceeds the model's own limit are split."""
    text = " ".join(f"Sentence number {i} has several words in it." for i in range(60))
    art = Article("d", "A title of four", text)
    chunks = chunk_article(art, limits(chunk_tokens=200, overlap=0, max_model=40))
    assert all(len(embed_text(art.title, c.text).split()) <= 40 for c in chunks)
    assert all(c.text == text[c.start : c.end] for c in chunks)


@pytest.mark.model
def test_real_model_never_truncates(seed_corpus, real_encoder):
    """With the real tokenizer: no chunk is longer than the model accepts, even when
    the tiktoken budget is set far above it."""
    text = (seed_corpus / "musan-mine.txt").read_text(encoding="utf-8") * 3
    art = Article("m", "Musan mine", text)
    lim = ChunkLimits(2000, 0, real_encoder.max_tokens, real_encoder.count_tokens)
    chunks = chunk_article(art, lim)
    counts = real_encoder.count_tokens([embed_text(art.title, c.text) for c in chunks])
    assert len(chunks) > 1
    assert max(counts) <= real_encoder.max_tokens == 254


def test_sentences_are_trimmed_spans():
    text = "First one.  Second “quoted” one!\n\nThird line?"
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["First one.", "Second “quoted” one!", "Third line?"]
