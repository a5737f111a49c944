"""``assistant chat`` driven through stdin: answers with sources, follow-ups use the
conversation, /clear forgets it, /quit ends, errors are one line and the chat goes on."""
import io
import subprocess
import sys

import pytest

from assistant.cli.chat import run_chat
from assistant.engine import Assistant
from assistant.settings import Settings
from assistant.store.build import build_index
from tests.fakes import ROOT, HashEncoder


@pytest.fixture
def engine(seed_corpus, tmp_path):
    build_index(seed_corpus, tmp_path / "ix", Settings(model="hash-encoder"), encoder=HashEncoder(), progress=False)
    return Assistant.open(tmp_path / "ix", encoder=HashEncoder())


def test_follow_ups_clear_and_quit(engine):
    seen = []

    def ask(q, h):
        seen.append((q, list(h)))
        return engine.ask(q, history=h)

    script = "How many people work at Musan Mine?\nAnd its leadership?\n/clear\nAnd its leadership?\n/quit\nnever asked\n"
    out = io.StringIO()
    assert run_chat(ask, io.StringIO(script), out) == 0
    assert seen == [
        ("How many people work at Musan Mine?", []),
        ("And its leadership?", ["How many people work at Musan Mine?"]),
        ("And its leadership?", []),  # after /clear the conversation is forgotten
    ]
    text = out.getvalue()
    assert "[1] " in text and "“" in text and "musan-mine, characters" in text  # sources as in ask
    assert "(searched for: And its leadership? (Musan Mine))" in text
    assert "(new conversation)" in text and "never asked" not in text


def test_errors_are_one_line_and_the_chat_goes_on(engine):
    out = io.StringIO()
    run_chat(lambda q, h: engine.ask(q, history=h), io.StringIO("x" * 5000 + "\nHow many people work at Musan Mine?\n"), out)
    lines = out.getvalue().splitlines()
    errors = [l for l in lines if l.startswith("error: ")]
    assert len(errors) == 1 and "Ask a shorter question" in errors[0]
    from assistant.cli.chat import format_answer

    assert format_answer(engine.ask("How many people work at Musan Mine?")) in out.getvalue()


def test_chat_command_reads_stdin_to_the_end(seed_corpus, tmp_path):
    code = (
        "import sys, assistant.embed.factory\n"
        "from tests.fakes import HashEncoder\n"
        "assistant.embed.factory.load_encoder = lambda *a, **k: HashEncoder()\n"
        "from assistant.store.build import build_index\n"
        "from assistant.settings import Settings\n"
        f"build_index({str(seed_corpus)!r}, {str(tmp_path / 'ix')!r}, Settings(model='hash-encoder'), encoder=HashEncoder(), progress=False)\n"
        "from assistant.cli import main\n"
        f"sys.exit(main(['chat', '--index', {str(tmp_path / 'ix')!r}]))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], input="How many people work at Musan Mine?\n", capture_output=True,
                       text=True, cwd=ROOT, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert "Chatting with 2 articles" in r.stdout and "Musan" in r.stdout and "error" not in r.stdout


def test_chat_answers_from_an_index_rebuilt_while_it_runs(seed_corpus, tmp_path, hash_model, monkeypatch):
    import assistant.cli.chat as chat_module
    from assistant.cli import main

    ix = tmp_path / "ix"
    build_index(seed_corpus, ix, Settings(model="hash-encoder"), encoder=HashEncoder(), progress=False)
    answers = []

    def chat_session(ask, *args, **kwargs):
        answers.append(ask("How many stops does the new tram line have?", []))
        (seed_corpus / "tram.txt").write_text("The new tram line opens on 3 April with 12 stops.", encoding="utf-8")
        for _ in range(2):  # `assistant index`, twice, in another terminal
            build_index(seed_corpus, ix, Settings(model="hash-encoder"), encoder=HashEncoder(), progress=False)
            (seed_corpus / "tram.txt").write_text("The new tram line opens on 3 April with 12 stops in all.", encoding="utf-8")
        answers.append(ask("How many stops does the new tram line have?", []))
        return 0

    monkeypatch.setattr(chat_module, "run_chat", chat_session)
    assert main(["chat", "--index", str(ix)]) == 0
    assert not any(c.doc_id == "tram" for c in answers[0].citations)
    assert answers[1].citations[0].doc_id == "tram"
