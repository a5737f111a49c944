"""The reading model (models/reader/): it loads and reads on a small fixture, its loading
errors name the fix, and on an article written for this test it finds the answer that
shares few words with the question — a paraphrase (midday / noon) and an answer three
paragraphs below a lead sentence that repeats the question's subject."""
import json
import shutil

import numpy as np
import pytest

from assistant.answer.reader import DEFAULT_DIR, ReaderError, load_reader
from assistant.text import split_sentences
from tests.fakes import DATA

ARTICLE = DATA / "reader" / "harbour-ferry.md"
TITLE = "Port Allard council approves harbour ferry to Saint-Lucien island"


@pytest.fixture(scope="module")
def reader():
    return load_reader()


@pytest.fixture(scope="module")
def sentences():
    body = ARTICLE.read_text(encoding="utf-8").split("---", 2)[2]
    return [body[a:b] for a, b in split_sentences(body)]


def test_reads_a_batch(reader, sentences):
    got = reader.read("How long will the ferry route be?", [(TITLE, s) for s in sentences])
    assert got.logit.shape == (len(sentences),) and np.isfinite(got.logit).all()
    assert len(got.span) == len(sentences)
    again = reader.read("How long will the ferry route be?", [(TITLE, sentences[3])])
    assert again.logit[0] == pytest.approx(got.logit[3])  # the memo gives the same verdict
    assert reader.read("Anything?", []).logit.shape == (0,)
    info = reader.describe()
    assert info["name"].startswith("reader-") and info["trained_on"] and info["max_len"] > 0


def best(reader, sentences, question):
    got = reader.read(question, [(TITLE, s) for s in sentences])
    i = int(np.argmax(got.logit))
    return sentences[i], got.span[i]


@pytest.fixture(scope="module")
def ferry_engine(tmp_path_factory, real_encoder):
    from assistant.engine import Assistant
    from assistant.settings import Settings
    from assistant.store.build import build_index
    from tests.fakes import SEED_CORPUS

    corpus = tmp_path_factory.mktemp("ferry") / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    build_index(corpus, corpus.parent / "index", Settings(), encoder=real_encoder, progress=False)
    # the shipped settings (the reader in the ordering), with its span head marking the answer span
    return Assistant.open(corpus.parent / "index", Settings(answer_span="reader"),
                          encoder=real_encoder)


@pytest.mark.model
def test_answer_three_paragraphs_below_the_lead(ferry_engine):
    # the lead shares "ferry route" with the question; the reader rates the sentence three
    # paragraphs down first, and the answer stage quotes it alone
    a = ferry_engine.ask("How long will the ferry route be?")
    assert not a.abstained
    assert "14-kilometre" in a.citations[0].quote
    assert len(a.citations) == 1 or "14-kilometre" not in a.citations[1].quote


@pytest.mark.model
@pytest.mark.xfail(strict=True, reason="known miss (models/reader/README.md): the reader rates the sentence first, "
                   "but the answerability model (which does not read the reader) finds none of the question's words "
                   "in the article and abstains")
def test_paraphrase_midday_noon_end_to_end(ferry_engine):
    a = ferry_engine.ask("How many visitors had come in by midday?")
    assert not a.abstained and "5,210" in a.citations[0].quote
    start, end = a.citations[0].answer_span
    assert "5,210" in ferry_engine.articles[a.citations[0].doc_id].text[start:end]


@pytest.mark.model
def test_answer_stage_marks_the_asked_for_part(ferry_engine):
    # the span head marks the asked-for part of the quoted sentence: a duration, a place, a time
    for question, part in [("How long will a crossing take?", "35 minutes"),
                           ("Where was the catamaran built?", "Nova Scotia"),
                           ("When will the first boat arrive?", "next spring")]:
        a = ferry_engine.ask(question)
        assert not a.abstained, question
        start, end = a.citations[0].answer_span
        assert ferry_engine.articles[a.citations[0].doc_id].text[start:end] == part, question


def test_paraphrase_midday_noon(reader, sentences):
    sentence, span = best(reader, sentences, "How many visitors had come in by midday?")
    assert "5,210" in sentence
    assert span is not None and "5,210" in sentence[span[0]:span[1]]  # the span marks the amount


def test_the_reader_is_loaded_only_when_answering_uses_it(tmp_path, hash_encoder, seed_corpus):
    from assistant.engine import Assistant
    from assistant.settings import Settings, settings_from_env
    from assistant.store.build import build_index

    build_index(seed_corpus, tmp_path / "ix", Settings(), encoder=hash_encoder, progress=False)
    assert Assistant.open(tmp_path / "ix", encoder=hash_encoder).reader is not None  # on by default
    off = settings_from_env({"ASSISTANT_READER_WEIGHT": "0"})
    assert Assistant.open(tmp_path / "ix", off, encoder=hash_encoder).reader is None
    spans_only = settings_from_env({"ASSISTANT_READER_WEIGHT": "0", "ASSISTANT_ANSWER_SPAN": "reader"})
    assert Assistant.open(tmp_path / "ix", spans_only, encoder=hash_encoder).reader is not None
    missing = Settings(reader=str(tmp_path / "nowhere"))
    with pytest.raises(ReaderError, match="make train-reader"):
        Assistant.open(tmp_path / "ix", missing, encoder=hash_encoder)


def test_missing_reader_names_the_fix(tmp_path):
    with pytest.raises(ReaderError, match="git checkout -- models/reader"):
        load_reader(tmp_path / "nowhere")


def test_damaged_reader_names_the_fix(tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(DEFAULT_DIR, folder)
    data = bytearray((folder / "reader.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "reader.onnx").write_bytes(bytes(data))
    with pytest.raises(ReaderError, match="damaged.*checksum.*make train-reader"):
        load_reader(folder)
    (folder / "reader.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReaderError, match="damaged"):
        load_reader(folder)


def test_reader_of_another_format_is_refused(tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(DEFAULT_DIR, folder)
    meta = json.loads((folder / "reader.json").read_text())
    (folder / "reader.json").write_text(json.dumps(dict(meta, format=99)))
    with pytest.raises(ReaderError, match="format 99"):
        load_reader(folder)
