"""Eval files, the runner, floors and the ``eval`` command (hash encoder, no model)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from assistant.errors import AssistantError, EvalFileError, QuestionError
from assistant.evaluation import evaluate
from assistant.evaluation import sets as evalsets
from assistant.evaluation.sets import EvalQuestion, load_eval_file, parse_jsonl
from assistant.evaluation.evaluate import (
    check_floors,
    evaluate_file,
    format_table,
    parse_fail_under,
    run_eval,
)
from assistant.evaluation.metrics import SUMMARY_KEYS
from assistant.settings import Settings
from assistant.types import Answer, Article, Chunk, Citation, Hit

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = Path(__file__).resolve().parent.parent / "data" / "eval"
SEED = ROOT / "eval" / "seed_questions.jsonl"


# ---------------------------------------------------------------- eval files

def test_jsonl_is_parsed_and_blank_lines_ignored():
    s = load_eval_file(DATA / "good.jsonl")
    assert s.format == "jsonl" and len(s.sha256) == 64
    assert [q.id for q in s.questions] == ["a1", "a2", "u1"]
    a1, a2, u1 = s.questions
    assert a1.answers == ("over 20,000 employees", "20,000") and a1.gold_doc_ids == ("musan-mine",)
    assert a2.history == ("How many people work at Musan Mine?",)
    assert a2.where == "good.jsonl line 3"
    assert a1.answerable and not u1.answerable


def test_bad_json_names_the_line():
    with pytest.raises(EvalFileError, match=r"bad_json\.jsonl line 3: invalid JSON"):
        load_eval_file(DATA / "bad_json.jsonl")


def test_missing_field_names_the_line_and_field():
    with pytest.raises(EvalFileError, match=r'missing_field\.jsonl line 2: missing field "gold_doc_ids"'):
        load_eval_file(DATA / "missing_field.jsonl")


@pytest.mark.parametrize("line, message", [
    ('{"id": 7, "question": "q", "answers": [], "gold_doc_ids": []}', '"id" must be a non-empty string'),
    ('{"id": "x", "question": "", "answers": [], "gold_doc_ids": []}', '"question" must be a non-empty string'),
    ('{"id": "x", "question": "q", "answers": "20,000", "gold_doc_ids": ["d"]}', '"answers" must be a list of strings'),
    ('{"id": "x", "question": "q", "answers": ["a"], "gold_doc_ids": ["d"], "history": "hi"}', '"history" must be a list'),
    ('{"id": "x", "question": "q", "answers": [], "gold_doc_ids": ["d"]}', "both empty"),
    ('{"id": "x", "question": "q", "answers": [""], "gold_doc_ids": ["d"]}', "empty string"),
    ('["not", "an", "object"]', "expected a JSON object"),
])
def test_mistyped_fields_name_the_line(line, message):
    text = '{"id": "ok", "question": "q", "answers": [], "gold_doc_ids": []}\n' + line + "\n"
    with pytest.raises(EvalFileError, match="f.jsonl line 2") as e:
        parse_jsonl(text, "f.jsonl")
    assert message in str(e.value)


def test_duplicate_ids_are_rejected():
    text = '{"id": "x", "question": "q", "answers": [], "gold_doc_ids": []}\n' * 2
    with pytest.raises(EvalFileError, match="line 2: id 'x' already used on line 1"):
        parse_jsonl(text, "f.jsonl")


def test_zero_questions_is_an_error(tmp_path):
    with pytest.raises(EvalFileError, match="no questions"):
        load_eval_file(DATA / "empty.jsonl")
    with pytest.raises(EvalFileError, match="does not exist"):
        load_eval_file(tmp_path / "nope.jsonl")
    squad = tmp_path / "empty.json"
    squad.write_text('{"data": [{"title": "T", "paragraphs": [{"context": "Some text.", "qas": []}]}]}')
    with pytest.raises(EvalFileError, match="no questions"):
        load_eval_file(squad)


def test_squad_v2_file():
    s = load_eval_file(DATA / "tiny_squad_v2.json")
    assert s.format == "squad"
    assert [a.doc_id for a in s.articles] == ["Rock_drills", "Iron_mine"]
    by_id = {q.id: q for q in s.questions}
    assert set(by_id) == {"s1", "s2", "s3", "s4"}
    assert by_id["s1"].gold_doc_ids == ("Rock_drills",)
    assert by_id["s2"].answers == ("a few hours",)  # duplicates merged
    assert not by_id["s3"].answerable and by_id["s3"].gold_doc_ids == ()  # v2 impossible
    assert by_id["s4"].gold_doc_ids == ("Iron_mine",)


def test_not_a_squad_json_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"questions": []}')
    with pytest.raises(EvalFileError, match="not a SQuAD file"):
        load_eval_file(p)


def test_seed_answers_occur_verbatim_in_their_gold_articles():
    s = load_eval_file(SEED)
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "corpus").glob("*.txt")}
    answerable = [q for q in s.questions if q.answerable]
    assert len(s.questions) >= 25
    assert len(s.questions) - len(answerable) >= 4
    assert sum(1 for q in s.questions if q.history) >= 3
    assert all(q.id.startswith("seed-") for q in s.questions)
    for q in answerable:
        assert q.gold_doc_ids and all(d in texts for d in q.gold_doc_ids), q.id
        for a in q.answers:
            assert any(a in texts[d] for d in q.gold_doc_ids), f"{q.id}: {a!r} is not in {q.gold_doc_ids}"


# ---------------------------------------------------------------- floors

def test_parse_fail_under():
    assert parse_fail_under(["hit@5=0.9", "n=25", "false_abstention_rate=0.1"]) == {
        "hit@5": 0.9, "n": 25.0, "false_abstention_rate": 0.1}
    assert parse_fail_under(None) == {}
    with pytest.raises(AssistantError, match="METRIC one of n, hit@1, hit@5"):
        parse_fail_under(["hit@3=0.9"])
    with pytest.raises(AssistantError, match="METRIC=VALUE"):
        parse_fail_under(["hit@5"])
    with pytest.raises(AssistantError, match="between 0 and 1"):
        parse_fail_under(["hit@5=high"])
    with pytest.raises(AssistantError, match="between 0 and 1"):
        parse_fail_under(["hit@5=1.5"])
    with pytest.raises(AssistantError, match="non-negative"):
        parse_fail_under(["latency_ms_p95=-1"])


def test_check_floors_lines():
    summary = {k: None for k in SUMMARY_KEYS} | {"n": 10, "hit@5": 0.8, "hit@1": 0.95, "false_abstention_rate": 0.2}
    floors = {"hit@5": 0.9, "hit@1": 0.9, "false_abstention_rate": 0.1, "abstention_accuracy": 0.75, "mrr@10": 0.5}
    lines = check_floors(summary, floors)
    assert lines == [
        "hit@5 is 0.8, below the floor 0.9",
        "false_abstention_rate is 0.2, above the ceiling 0.1",
        "abstention_accuracy is null (no unanswerable questions); required >= 0.75",
        "mrr@10 is null (no answerable questions); required >= 0.5",
    ]
    assert check_floors(summary, {"hit@1": 0.95}) == []


def test_format_table_lists_every_metric():
    summary = {k: None for k in SUMMARY_KEYS} | {"n": 3, "hit@1": 0.5, "latency_ms_p50": 12.34}
    table = format_table(summary)
    for key in SUMMARY_KEYS:
        assert key in table
    assert "0.500" in table and "12.3" in table and "null" in table


# ---------------------------------------------------------------- runner (fake assistant)

class FakeAssistant:
    """Answers from a table; "boom" raises inside ask_batch, "bad" gives a QuestionError."""

    def __init__(self):
        text = "Musan Mine has over 20,000 employees."
        self.articles = {"musan-mine": Article("musan-mine", "Musan", text), "other": Article("other", "O", "x")}
        self.settings = Settings()
        self.manifest = {"model": "fake", "content_hash": "abc123", "format_version": 1}
        self.batches: list[list] = []
        self._text = text

    def ask_batch(self, items, k=None, retriever=None):
        self.batches.append(list(items))
        if any(q == "boom" for q, _ in items):
            raise RuntimeError("engine bug")
        out = []
        for q, history in items:
            if q == "bad":
                out.append(QuestionError("The question is empty"))
                continue
            chunk = Chunk("musan-mine", 0, len(self._text), self._text)
            hits = (Hit(Chunk("other", 0, 1, "x"), "O", 0.9, 1), Hit(chunk, "Musan", 0.8, 2))
            if "France" in q:
                out.append(Answer(q, q, "The articles do not say.", True, (), hits))
            else:
                cit = Citation(1, "musan-mine", "Musan", self._text, 0, len(self._text), 0.8)
                out.append(Answer(q, " ".join([*history, q]), self._text, False, (cit,), hits))
        return out


def test_run_eval_batches_errors_and_latency():
    qs = [
        EvalQuestion("a1", "How many work there?", ("20,000",), ("musan-mine",), ("Musan Mine?",)),
        EvalQuestion("a2", "boom", ("20,000",), ("musan-mine",)),
        EvalQuestion("a3", "bad", ("20,000",), ("musan-mine",)),
        EvalQuestion("u1", "What is the capital of France?"),
    ]
    fake = FakeAssistant()
    ticks = iter(range(0, 1000, 1))
    report = run_eval(qs, fake, progress=False, batch_size=3, clock=lambda: next(ticks) / 1000)
    rows = {r["id"]: r for r in report.questions}
    assert rows["a1"]["query"] == "Musan Mine? How many work there?"
    assert rows["a1"]["retrieved_doc_ids"] == ["other", "musan-mine"] and rows["a1"]["gold_rank"] == 2
    assert rows["a1"]["citations"][0]["doc_id"] == "musan-mine" and rows["a1"]["error"] is None
    assert rows["a2"]["error"] == "RuntimeError: engine bug" and rows["a2"]["hit@5"] == 0.0
    assert rows["a3"]["error"] == "The question is empty" and rows["a3"]["latency_ms"] is None
    assert rows["u1"]["abstained"] is True
    s = report.summary
    assert s["n"] == 4 and s["hit@5"] == round(1 / 3, 4) and s["mrr@10"] == round(0.5 / 3, 4)
    assert s["answer_recall"] == round(1 / 3, 4) and s["abstention_accuracy"] == 1.0
    assert s["citation_precision"] == 1.0 and s["quote_exactness"] == 1.0
    assert s["latency_ms_p50"] == 1.0  # one clock tick per timed question
    # first batch of 3 failed as a whole and was retried one by one; history was passed
    assert fake.batches[0][0] == ("How many work there?", ["Musan Mine?"])
    assert [len(b) for b in fake.batches[:5]] == [3, 1, 1, 1, 1]


def test_run_eval_rejects_gold_documents_missing_from_the_index():
    qs = [EvalQuestion("a1", "q", ("x",), ("kaechon",), where="f.jsonl line 4")]
    with pytest.raises(EvalFileError, match="f.jsonl line 4: gold document 'kaechon' is not in the index"):
        run_eval(qs, FakeAssistant(), progress=False)


def test_write_csv(tmp_path):
    qs = [EvalQuestion("a1", "How many?", ("20,000",), ("musan-mine",)), EvalQuestion("u1", "France?")]
    report = run_eval(qs, FakeAssistant(), progress=False)
    path = tmp_path / "rows.csv"
    evaluate.write_csv(report.questions, path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["a1", "u1"]
    assert rows[0]["retrieved_doc_ids"] == "other | musan-mine" and rows[0]["cited_doc_ids"] == "musan-mine"
    assert rows[0]["hit@5"] == "1.0" and rows[1]["hit@5"] == ""


# ---------------------------------------------------------------- the command (hash encoder)

def test_eval_command_jsonl_with_corpus(tmp_path, seed_corpus, hash_encoder):
    out, rows = tmp_path / "report.json", tmp_path / "rows.csv"
    buf = io.StringIO()
    code = evaluate_file(SEED, corpus=seed_corpus, out_json=out, out_csv=rows, k=5,
                         encoder=hash_encoder, cache_root=tmp_path / "cache", progress=False, out=buf)
    assert code == 0, buf.getvalue()
    report = json.loads(out.read_text())
    assert list(report["summary"]) == list(SUMMARY_KEYS)
    n = sum(1 for line in SEED.read_text().splitlines() if line.strip())
    assert report["summary"]["n"] == n == len(report["questions"])
    assert report["summary"]["quote_exactness"] == 1.0
    # (hit@5 cannot fail on a two-document corpus.) The gold article ranks first for most
    # questions (0.94 measured with the hash encoder), and hit@1 is what the rows say
    answerable = [r for r in report["questions"] if r["gold_doc_ids"]]
    first_is_gold = [bool(r["retrieved_doc_ids"]) and r["retrieved_doc_ids"][0] in r["gold_doc_ids"] for r in answerable]
    assert report["summary"]["hit@1"] >= 0.9
    assert report["summary"]["hit@1"] == pytest.approx(sum(first_is_gold) / len(answerable), abs=1e-4)
    cfg = report["config"]
    assert cfg["model"] == "hash-encoder" and cfg["k"] == 5 and cfg["retriever"] == "hybrid"
    assert cfg["index_content_hash"] and len(cfg["eval_file_sha256"]) == 64
    assert set(cfg["packages"]) == set(evaluate.PACKAGES)
    q = report["questions"][0]
    for key in ("id", "question", "query", "answer", "abstained", "citations", "retrieved_doc_ids",
                "hit@1", "hit@5", "rr@10", "answer_recall", "exact_match", "f1", "error"):
        assert key in q
    assert "hit@5" in buf.getvalue() and "FAIL" not in buf.getvalue()
    assert len(list(csv.DictReader(rows.open(encoding="utf-8")))) == n
    assert list((tmp_path / "cache" / "eval-index").iterdir())


def test_eval_command_fail_under(tmp_path, seed_corpus, hash_encoder):
    buf = io.StringIO()
    code = evaluate_file(DATA / "good.jsonl", corpus=seed_corpus, fail_under=["latency_ms_p95=0", "hit@5=0.5"],
                         encoder=hash_encoder, cache_root=tmp_path, progress=False, out=buf)
    assert code == 1
    fails = [line for line in buf.getvalue().splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1 and fails[0].startswith("FAIL: latency_ms_p95 is ") and "above the ceiling 0" in fails[0]


def test_eval_command_squad_builds_a_cached_index_and_reuses_it(tmp_path, hash_encoder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    args = dict(out_json="r.json", encoder=hash_encoder, progress=False)
    assert evaluate_file(DATA / "tiny_squad_v2.json", **args, out=io.StringIO()) == 0
    # the index goes to the user cache folder, never into the folder the command runs from
    assert not (tmp_path / ".cache").exists()
    dirs = list((tmp_path / "xdg" / "news-assistant" / "eval-index").iterdir())
    assert len(dirs) == 1 and dirs[0].name.startswith(evalsets.file_sha256(DATA / "tiny_squad_v2.json")[:16])
    assert "hash-encoder" in dirs[0].name
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["n"] == 4
    assert report["summary"]["abstention_accuracy"] is not None  # s3 is unanswerable
    assert report["config"]["eval_format"] == "squad"

    manifest = (dirs[0] / "manifest.json").read_text()
    assert evaluate_file(DATA / "tiny_squad_v2.json", **args, out=io.StringIO()) == 0
    # second run: the cached index is reused as it is (same generation, nothing rebuilt)
    assert (dirs[0] / "manifest.json").read_text() == manifest
    assert list((tmp_path / "xdg" / "news-assistant" / "eval-index").iterdir()) == dirs


def test_eval_command_with_index_and_cli(tmp_path, seed_corpus, hash_encoder):
    from assistant.store.build import build_index

    index = tmp_path / "idx"
    build_index(seed_corpus, index, Settings(), encoder=hash_encoder, progress=False)
    assert evaluate_file(DATA / "good.jsonl", index=index, fail_under=["hit@5=1"], encoder=hash_encoder,
                         progress=False, out=io.StringIO()) == 0

    # through the CLI, BM25 only (no model is loaded)
    from assistant.cli import main

    out = tmp_path / "r.json"
    code = main(["eval", str(DATA / "good.jsonl"), "--index", str(index), "--retriever", "bm25", "--out", str(out)])
    assert code == 0
    assert json.loads(out.read_text())["config"]["retriever"] == "bm25"


def test_eval_command_errors(tmp_path, hash_encoder):
    with pytest.raises(EvalFileError, match="line 3"):
        evaluate_file(DATA / "bad_json.jsonl", encoder=hash_encoder, progress=False)
    with pytest.raises(AssistantError, match="METRIC one of"):
        evaluate_file(DATA / "good.jsonl", fail_under=["recall=1"], encoder=hash_encoder)
    with pytest.raises(AssistantError, match="does not exist"):
        evaluate_file(DATA / "good.jsonl", corpus=tmp_path / "none", encoder=hash_encoder, cache_root=tmp_path,
                      progress=False)


def test_latency_sample_is_evenly_spaced():
    assert evaluate.latency_indices(5, 200) == [0, 1, 2, 3, 4]
    assert evaluate.latency_indices(5, None) == [0, 1, 2, 3, 4]
    assert evaluate.latency_indices(101, 3) == [0, 50, 100]
    assert len(evaluate.latency_indices(1190, 200)) == 200
    qs = [EvalQuestion(f"a{i}", "How many?", ("20,000",), ("musan-mine",)) for i in range(10)]
    report = run_eval(qs, FakeAssistant(), progress=False, latency_sample=2)
    timed = [r["id"] for r in report.questions if r["latency_ms"] is not None]
    assert timed == ["a0", "a9"] and report.summary["latency_ms_p50"] is not None


@pytest.mark.parametrize("where", ["/proc/x/r.json", "/proc/version", "dir"])
def test_eval_output_that_cannot_be_written_is_refused_before_any_question(tmp_path, seed_corpus, hash_encoder,
                                                                        monkeypatch, capsys, where):
    from assistant.store.build import build_index
    from assistant.cli import main

    index = tmp_path / "idx"
    build_index(seed_corpus, index, Settings(), encoder=hash_encoder, progress=False)
    ran = []
    monkeypatch.setattr(evaluate, "run_eval", lambda *a, **k: ran.append(1))
    path = str(tmp_path) if where == "dir" else where
    for flag in ("--out", "--csv"):
        assert main(["eval", str(DATA / "good.jsonl"), "--index", str(index), "--retriever", "bm25", flag, path]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: ") and flag in err[0], err
    assert ran == []


def test_eval_cache_root_is_the_user_cache_or_the_variable():
    from assistant.cli.commands import eval_cache_root

    assert eval_cache_root({"XDG_CACHE_HOME": "/x/cache"}) == Path("/x/cache/news-assistant")
    assert eval_cache_root({"XDG_CACHE_HOME": "/x/cache", "ASSISTANT_CACHE_DIR": "/y"}) == Path("/y")
