"""End to end with the real packaged model on the seed corpus."""
import json

import pytest

from assistant.cli import main
from assistant.engine import Assistant
from assistant.settings import Settings
from assistant.store.build import build_index

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory, real_encoder):
    from tests.fakes import SEED_CORPUS

    ix = tmp_path_factory.mktemp("real") / "index"
    build_index(SEED_CORPUS, ix, Settings(), encoder=real_encoder, progress=False)
    return ix


@pytest.fixture(scope="module")
def engine(seed_index, real_encoder):
    return Assistant.open(seed_index, encoder=real_encoder)


def test_cli_answers_the_workforce_question(seed_index, capsys):
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(seed_index), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert not out["abstained"]
    first = out["citations"][0]
    assert first["doc_id"] == "musan-mine" and "20,000" in first["quote"]


@pytest.mark.parametrize(
    "question, doc_id, needle",
    [
        ("Which factory makes the drills used at the Kaechon coal mines?", "kaechon-rock-drills", "Jonchon Rock Drill Factory"),
        ("How much do ordinary mine workers at Musan earn?", "musan-mine", "3,500"),
        ("Why did North Korea close its border with China?", "musan-mine", "COVID-19"),
        ("How long do newly produced drill parts last?", "kaechon-rock-drills", "few hours"),
    ],
)
def test_answerable_questions(engine, question, doc_id, needle):
    a = engine.ask(question)
    assert not a.abstained, a.text
    assert a.hits[0].chunk.doc_id == doc_id
    assert any(needle in c.quote and c.doc_id == doc_id for c in a.citations), a.text
    for c in a.citations:
        assert engine.articles[c.doc_id].text[c.start : c.end] == c.quote


@pytest.mark.parametrize("question", ["What is the capital of France?", "Who won the 2018 FIFA World Cup?"])
def test_unanswerable_questions_abstain(engine, question):
    a = engine.ask(question)
    assert a.abstained and not a.citations


def test_follow_up_is_answered_from_the_right_article(engine):
    a = engine.ask("And what does its leadership earn?", history=["How many people work at Musan Mine?"])
    assert "Musan Mine" in a.query
    assert a.citations[0].doc_id == "musan-mine"
    assert any("12,000" in c.quote for c in a.citations)
    b = engine.ask("Why do its machines break down?", history=["Which factory produces the drills used in Kaechon?"])
    assert b.hits[0].chunk.doc_id == "kaechon-rock-drills"


@pytest.mark.model
def test_index_with_a_model_alias_opens_afterwards(tmp_path, capsys):
    """--model sentence-transformers/all-MiniLM-L6-v2 (an accepted alias) records the
    canonical name, so the index opens again (it used to refuse with IndexMismatchError)."""
    import json

    from assistant.cli import main
    from tests.fakes import SEED_CORPUS

    ix = tmp_path / "ix"
    assert main(["index", "--corpus", str(SEED_CORPUS), "--index", str(ix), "--quiet",
                 "--model", "sentence-transformers/all-MiniLM-L6-v2"]) == 0
    assert json.loads((ix / "manifest.json").read_text())["model"] == "all-MiniLM-L6-v2"
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(ix), "--json"]) == 0
    assert "20,000" in capsys.readouterr().out
