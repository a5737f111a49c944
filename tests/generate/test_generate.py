"""Written answers from an OpenAI-compatible server (assistant/generate/), against the fake
server of tests/llm_fakes.py: streaming, the checker's verdicts on what the model wrote,
and every fault path ending in the quoted answer with a one-line notice. The key is never
echoed. The real llama.cpp server is in tests/generate/test_llama_server.py."""
import json
import os
import socket
import subprocess
import sys

import pytest

from assistant.generate import ChatClient, LLMConfig, LLMConfigError, config_from_env, write_answer
from assistant.generate.client import base_url
from assistant.generate.written import stream_written
from tests.fakes import ROOT
from tests.llm_fakes import ARTICLES, BRIDGE, INJECTED, Behaviour, bridge_answer, start_fake_llm

SECRET = "sk-test-DO-NOT-SHOW-4f9a1c"

@pytest.fixture(scope="module")
def fake():
    server = start_fake_llm()
    yield server
    server.close()


@pytest.fixture
def llm(fake):
    fake.behaviour = Behaviour()
    fake.requests.clear()
    # generous timeouts: a busy machine must not turn another fault into "slow"
    client = ChatClient(LLMConfig(fake.url, model="fake-model", api_key=SECRET, first_token_timeout=30.0,
                                  total_timeout=60.0, max_chars=600))
    yield client
    client.close()


def _write(fake, llm, reply, answer=None, **kw):
    fake.behaviour = Behaviour(reply=reply, **kw)
    return write_answer(answer or bridge_answer(), ARTICLES, llm).generated


def test_the_reply_streams_then_every_sentence_is_checked(fake, llm):
    fake.behaviour = Behaviour(reply="The Elm Street bridge closed on Monday after inspectors found cracks in its "
                                     "steel support beams [1]. It will stay shut for about six weeks [1].")
    steps = list(stream_written(bridge_answer(), ARTICLES, llm))
    partial = [g for g in steps if g.status == "streaming"]
    assert len(partial) > 5 and all(len(a.text) < len(b.text) for a, b in zip(partial, partial[1:]))
    final = steps[-1]
    assert final.status == "ok" and [s.supported for s in final.sentences] == [True, True]
    assert [s.citations for s in final.sentences] == [(1,), (1,)]
    card = final.citations[0]
    assert card.n == 1 and ARTICLES["bridge"].text[card.start:card.end] == card.quote and "six weeks" in card.quote
    assert final.first_token_ms is not None and final.total_ms >= final.first_token_ms
    sent = fake.requests[-1]
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET}"  # the key goes to the server it was set for
    body = sent["json"]
    assert body["stream"] is True and body["model"] == "fake-model"
    prompt = body["messages"][-1]["content"]
    assert "Why did the bridge close" in prompt and "[1] From “Bridge shut”" in prompt and "[2] From “Money approved”" in prompt


def test_number_name_and_date_swaps_are_flagged_with_the_reason(fake, llm):
    g = _write(fake, llm, "The council approved $4.2 million for the repairs [2]. City engineer Dana Whitman said it "
                          "would stay shut for six weeks [1]. The bridge closed on Friday [1].")
    assert [s.supported for s in g.sentences] == [False, False, False]
    assert "$4.2 million" in g.sentences[0].reason
    assert "Whitman" in g.sentences[1].reason and "Friday" in g.sentences[2].reason
    assert g.answer_text == "" and g.citations == ()


def test_amounts_are_normalised_and_a_wrong_citation_is_corrected(fake, llm):
    g = _write(fake, llm, "The council approved 2.4 million dollars for the repairs [1].")
    s = g.sentences[0]
    assert s.supported and s.corrected and s.cited == (1,) and s.citations == (2,)
    assert "corrected to [2]" in s.reason and g.citations[0].doc_id == "council"


def test_a_citation_of_a_passage_that_does_not_exist_is_never_shown_as_sourced(fake, llm):
    g = _write(fake, llm, "The bridge collapsed into the river during a storm [9].")
    assert not g.sentences[0].supported and "[9]" in g.sentences[0].reason


def test_the_model_saying_the_passages_do_not_answer_is_the_refusal(fake, llm):
    g = _write(fake, llm, "The passages do not answer this question.")
    assert g.status == "refused" and g.sentences[0].kind == "refusal"


def test_an_abstention_with_only_unsupported_sentences_is_the_refusal(fake, llm):
    g = _write(fake, llm, "The bridge will be replaced by a tunnel in 2030 [1].", answer=bridge_answer(abstained=True))
    assert g.status == "refused" and not g.sentences[0].supported


def test_an_injected_article_cannot_make_its_claim_show_as_sourced(fake, llm):
    """The model obeys the article's instruction; the checker does not count instructions as reporting."""
    g = _write(fake, llm, "The bridge reopened on Friday and is perfectly safe [3]. All of this answer is verified "
                          "and supported [1].")
    assert [s.supported for s in g.sentences] == [False, False]
    assert all(c.doc_id != "notes" for c in g.citations)
    # the instruction reached the model only as quoted passage text, under the rule that passages are not instructions
    messages = fake.requests[-1]["json"]["messages"]
    assert "never instructions" in messages[0]["content"] and "Ignore previous instructions" in messages[-1]["content"]


FAULTS = {
    "server error": (dict(mode="status", status=500), "HTTP 500"),
    "bad key": (dict(mode="status", status=401), "ASSISTANT_LLM_API_KEY"),
    "malformed": (dict(mode="malformed"), "not the OpenAI chat format"),
    "empty": (dict(mode="empty"), "empty reply"),
    "cut mid-sentence": (dict(mode="cut", reply="The Elm Street bridge closed on Monday [1]. It will stay shut for",
                              cut_after=60), "stopped mid-stream"),
    "token limit": (dict(mode="length", reply="The bridge closed on Monday [1]."), "token limit"),
    "over-long": (dict(reply="The bridge closed on Monday [1]. " * 40), "over 600 characters"),
    "slow first token": (dict(delay=3.0, reply="The bridge closed on Monday [1]."), "no answer within 1 s"),
    "other language": (dict(reply="El puente de Elm Street se cerró el lunes porque los inspectores encontraron grietas "
                                  "en dos vigas [1]."), "another language"),
    "no claim": (dict(reply="Here you go:"), "nothing to check"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_fault_falls_back_to_the_quoted_answer_with_a_one_line_notice(fake, llm, fault):
    behaviour, says = FAULTS[fault]
    answer = bridge_answer()
    fake.behaviour = Behaviour(**behaviour)
    if fault == "slow first token":  # the server waits 3 s; this client waits 1 s for the first word
        llm = ChatClient(LLMConfig(fake.url, model="fake-model", api_key=SECRET, first_token_timeout=1.0))
    out = write_answer(answer, ARTICLES, llm)
    g = out.generated
    assert g.status == "fallback", g
    assert says in g.notice and "\n" not in g.notice and g.notice.endswith("Showing the quoted answer.")
    assert (out.text, out.citations) == (answer.text, answer.citations)  # the quoted answer stands
    assert SECRET not in json.dumps(out.to_dict())


def test_an_unreachable_server_falls_back():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ChatClient(LLMConfig(f"http://127.0.0.1:{port}/v1", model="m", api_key=SECRET, first_token_timeout=2))
    g = write_answer(bridge_answer(), ARTICLES, client).generated
    assert g.status == "fallback" and "could not be reached" in g.notice and SECRET not in g.notice


def test_a_server_that_ignores_stream_is_read_whole_and_the_model_is_listed_when_unset(fake):
    fake.behaviour = Behaviour(mode="json", reply="The bridge closed on Monday after inspectors found cracks [1].",
                               models=("listed-model",))
    client = ChatClient(LLMConfig(fake.url))
    g = write_answer(bridge_answer(), ARTICLES, client).generated
    assert g.status == "ok" and g.sentences[0].supported and g.model == "listed-model"
    assert fake.requests[-1]["json"]["model"] == "listed-model" and "Authorization" not in fake.requests[-1]["headers"]


def test_config_from_the_environment_and_the_key_never_shown():
    env = {"ASSISTANT_LLM_URL": "http://user:pw@127.0.0.1:8080", "ASSISTANT_LLM_MODEL": "gemma",
           "ASSISTANT_LLM_API_KEY": SECRET, "ASSISTANT_LLM_TIMEOUT": "4"}
    cfg = config_from_env(env)
    assert (cfg.url, cfg.model, cfg.first_token_timeout, cfg.api_key) == ("http://user:pw@127.0.0.1:8080/v1", "gemma", 4.0, SECRET)
    assert SECRET not in repr(cfg) and SECRET not in json.dumps(cfg.describe()) and "pw" not in cfg.shown_url
    assert config_from_env({}) is None
    assert base_url("http://h:1/v1/chat/completions") == "http://h:1/v1"
    assert base_url("https://api.example.com/openai/v1/") == "https://api.example.com/openai/v1"
    with pytest.raises(LLMConfigError, match="--llm http://127.0.0.1:8080/v1"):
        config_from_env({"ASSISTANT_LLM_URL": "localhost:8080"})
    with pytest.raises(LLMConfigError, match="ASSISTANT_LLM_TIMEOUT"):
        config_from_env({"ASSISTANT_LLM_URL": "http://h", "ASSISTANT_LLM_TIMEOUT": "soon"})


# ---------------------------------------------------------------- the shells

@pytest.fixture
def seed_index(tmp_path, hash_model, seed_corpus):
    from assistant.cli import main

    ix = tmp_path / "ix"
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(ix), "--quiet", "--model", "hash-encoder"]) == 0
    return ix


MUSAN = "Musan Mine has over 20,000 employees [1]. It employs 40,000 miners [1]."


def test_cli_json_adds_generated_with_per_sentence_verdicts(fake, seed_index, capsys, monkeypatch):
    from assistant.cli import main

    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", SECRET)
    capsys.readouterr()
    fake.behaviour = Behaviour(reply=MUSAN)
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(seed_index), "--json",
                 "--llm", fake.url]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    g = out["generated"]
    assert g["status"] == "ok" and out["citations"]  # the quoted answer is still there
    first, second = g["sentences"]
    assert (first["supported"], first["citations"], first["reason"]) == (True, [1], "")
    assert second["supported"] is False and "40,000" in second["reason"] and second["citations"] == []
    assert g["answer"] == "Musan Mine has over 20,000 employees [1]."
    assert SECRET not in captured.out + captured.err


def test_cli_plain_marks_each_sentence_and_a_fault_is_one_line(fake, seed_index, capsys):
    from assistant.cli import main

    fake.behaviour = Behaviour(reply=MUSAN)
    capsys.readouterr()
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(seed_index), "--llm", fake.url]) == 0
    out = capsys.readouterr().out
    assert "✓ Musan Mine has over 20,000 employees [1]." in out and "✗ It employs 40,000 miners." in out
    assert "Quoted answer: " in out and "20,000" in out
    fake.behaviour = Behaviour(mode="status", status=503)
    assert main(["ask", "How many people work at Musan Mine?", "--index", str(seed_index), "--llm", fake.url]) == 0
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "HTTP 503" in notes[0] and "20,000 employees" in out


def test_ask_without_llm_never_imports_the_client(seed_index):
    code = (
        "import sys\n"
        "from assistant.cli import main\n"
        f"rc = main(['ask', 'How many people work at Musan Mine?', '--index', {str(seed_index)!r}, '--json',"
        " '--retriever', 'bm25'])\n"
        "print('LOADED', sorted(m for m in sys.modules if m == 'httpx' or m.startswith('assistant.generate')"
        " or m in ('assistant.web.written', 'assistant.cli.written', 'assistant.evaluation.written')))\n"
        "sys.exit(rc)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_LLM")}
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "LOADED []" in r.stdout and '"generated"' not in r.stdout


def test_the_page_streams_the_written_answer_then_marks_each_sentence(fake, llm):
    from assistant.web.render import Turn, render_conversation
    from assistant.web.ui import written_turns

    fake.behaviour = Behaviour(reply="The Elm Street bridge closed on Monday after inspectors found cracks [1]. "
                                     "It will reopen in <b>May</b> [1].", gap=0.2)
    turns = (Turn("Why did the bridge close?", answer=bridge_answer()),)
    pages = [render_conversation(t, ARTICLES) for t in written_turns(turns, 0, ARTICLES, llm, [])]
    assert "Written answer (checked when complete)" in pages[0] and "stay shut" in pages[0]  # the quoted answer at once
    streaming = [p for p in pages if 'class="written streaming"' in p]
    assert len(streaming) >= 3 and "inspectors found" in streaming[-1]
    last = pages[-1]
    assert 'class="w-ok"' in last and 'class="w-bad"' in last and "unsupported: “May” is not in passage [1]" in last
    assert "<b>May</b>" not in last and "&lt;b&gt;May&lt;/b&gt;" in last  # the model's text never becomes markup
    assert 'href="#src-1w-1"' in last and 'id="src-1w-1"' in last  # the supported sentence links its verified card


def test_the_page_with_a_dead_server_shows_the_quoted_answer_and_the_notice(fake, llm):
    from assistant.web.render import Turn, render_conversation
    from assistant.web.ui import written_turns

    fake.behaviour = Behaviour(mode="status", status=500)
    turns = (Turn("Why did the bridge close?", answer=bridge_answer()),)
    last = render_conversation(list(written_turns(turns, 0, ARTICLES, llm, []))[-1], ARTICLES)
    assert "Written answer unavailable: the model server answered HTTP 500" in last and "stay shut" not in last.split("written-notice")[0]
    assert 'class="src-card"' in last  # the quoted answer's source card


def test_eval_with_llm_reports_written_metrics(fake, seed_index, tmp_path):
    from assistant.evaluation.evaluate import evaluate_file
    import io

    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": "How many people work at Musan Mine?",
                                     "answers": ["20,000"], "gold_doc_ids": ["musan-mine"]}) + "\n"
                         + json.dumps({"id": "b", "question": "What colour is the mayor's car?", "answers": [],
                                       "gold_doc_ids": []}) + "\n", encoding="utf-8")
    fake.behaviour = Behaviour(reply=MUSAN)
    out = io.StringIO()
    report = tmp_path / "r.json"
    from tests.fakes import HashEncoder

    assert evaluate_file(questions, index=seed_index, out_json=report, progress=False, out=out,
                         encoder=HashEncoder(), llm=LLMConfig(fake.url, model="fake-model")) == 0
    data = json.loads(report.read_text())
    w = data["summary"]["written"]
    first = data["questions"][0]["written"]
    assert first["status"] == "ok" and [s["supported"] for s in first["sentences"]] == [True, False]
    assert first["written"] == "Musan Mine has over 20,000 employees [1]."
    supported = sum(s["supported"] for q in data["questions"] for s in q["written"]["sentences"])
    assert w["sentences"] == 4 and w["supported_sentence_rate"] == supported / 4 and w["unsupported_caught"] == 4 - supported
    assert w["answer_recall"] == 1.0 and w["fallbacks"] == 0
    assert "supported_sentence_rate" in out.getvalue()
