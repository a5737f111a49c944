"""The evaluation stage: read an eval file, run every question through the assistant,
score it (``assistant.evaluation.metrics``) and write the report.

Eval files are JSONL (one ``{"id", "question", "answers", "gold_doc_ids", "history"?}``
object a line) or SQuAD v1.1/v2.0 JSON (its articles become the corpus unless an index
is given). See eval/README.md.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import AssistantError, EvalFileError
from ..settings import Settings
from . import metrics
from .sets import EvalQuestion, EvalSet, check_gold_docs, file_sha256, load_eval_file

BATCH_SIZE = 64
LATENCY_SAMPLE = 200  # questions timed one by one (all of them in smaller sets)
PACKAGES = ("sentence-transformers", "faiss-cpu", "bm25s", "gradio", "numpy", "torch")


@dataclass(frozen=True)
class EvalReport:
    summary: dict[str, Any]
    config: dict[str, Any]
    questions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "config": self.config, "questions": self.questions}


# ---------------------------------------------------------------- running

def run_eval(
    questions: Sequence[EvalQuestion],
    assistant,
    k: int | None = None,
    retriever: str | None = None,
    progress: bool = True,
    batch_size: int = BATCH_SIZE,
    latency_sample: int | None = LATENCY_SAMPLE,
    clock: Callable[[], float] = time.perf_counter,
    as_of: str | None = None,
) -> EvalReport:
    """Run every question through ``assistant.ask_batch`` (the code path of ``ask``,
    history included, queries embedded in batches) and score it.

    Latency is measured per question, honestly: a second pass asks questions alone (a
    batch of one, exactly what ``ask`` does) and times each one — every question, or an
    evenly spaced sample of ``latency_sample`` of them (None: all). A question that
    raises is a miss with its error recorded; the run goes on."""
    if not questions:
        raise EvalFileError("The eval set has no questions: zero questions is a failure, never a pass.")
    check_gold_docs(questions, assistant.articles)
    timed = latency_indices(len(questions), latency_sample)
    bar = _progress(len(questions) + len(timed), progress)
    results: list[Any] = []
    for i in range(0, len(questions), batch_size):
        batch = questions[i:i + batch_size]
        results.extend(_ask_many(assistant, batch, k, retriever, as_of))
        bar.update(len(batch))
    latencies: list[float | None] = [None] * len(questions)
    for i in timed:
        t0 = clock()
        out = _ask_many(assistant, [questions[i]], k, retriever, as_of)[0]
        if not isinstance(out, BaseException):
            latencies[i] = (clock() - t0) * 1000.0
        bar.update(1)
    bar.close()

    rows = []
    for q, result, latency in zip(questions, results, latencies):
        answer = None if isinstance(result, BaseException) else result
        scores = metrics.score_question(q.answers, q.gold_doc_ids, answer, assistant.articles, latency)
        rows.append(_question_row(q, answer, result, scores))
    summary = metrics.summarize(rows)
    return EvalReport(summary=summary, config={}, questions=rows)


def latency_indices(n: int, sample: int | None) -> list[int]:
    """Indices of the questions to time: all, or ``sample`` evenly spaced ones."""
    if sample is None or n <= sample:
        return list(range(n))
    if sample <= 1:
        return [0] if sample == 1 else []
    return sorted({round(i * (n - 1) / (sample - 1)) for i in range(sample)})


def _ask_many(assistant, batch: Sequence[EvalQuestion], k, retriever, as_of=None) -> list[Any]:
    """Answers (or exceptions) for a batch; if the whole batch call fails, each question
    is retried alone so one bad question cannot hide the others. Questions with their own
    ``as_of`` are asked against that date, the others against the run's ``as_of``."""
    dates = {q.as_of or as_of for q in batch}
    if len(dates) > 1:
        results: dict[int, Any] = {}
        for day in dates:
            idx = [i for i, q in enumerate(batch) if (q.as_of or as_of) == day]
            for i, r in zip(idx, _ask_many(assistant, [batch[i] for i in idx], k, retriever, as_of)):
                results[i] = r
        return [results[i] for i in range(len(batch))]
    day = dates.pop() if dates else as_of
    items = [(q.question, list(q.history)) for q in batch]
    try:
        kwargs = {"as_of": day} if day else {}
        out = list(assistant.ask_batch(items, k=k, retriever=retriever, **kwargs))
        if len(out) != len(items):
            raise RuntimeError(f"ask_batch returned {len(out)} results for {len(items)} questions")
        return out
    except Exception as e:  # noqa: BLE001 - reported per question, never stops the run
        if len(batch) == 1:
            return [e]
        return [r for q in batch for r in _ask_many(assistant, [q], k, retriever, as_of)]


def _question_row(q: EvalQuestion, answer, result, scores: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": q.id,
        "question": q.question,
        "history": list(q.history),
        "as_of": answer.as_of if answer is not None else q.as_of,
        "query": answer.query if answer is not None else None,
        "answer": answer.text if answer is not None else None,
        "gold_answers": list(q.answers),
        "gold_doc_ids": list(q.gold_doc_ids),
        "citations": [c.to_dict() for c in answer.citations] if answer is not None else [],
        "retrieved_doc_ids": list(answer.retrieved_doc_ids) if answer is not None else [],
    }
    row.update(scores)
    row["error"] = None if answer is not None else _error_text(result)
    return row


def _error_text(e: BaseException) -> str:
    if isinstance(e, AssistantError):
        return str(e)
    return f"{type(e).__name__}: {e}"


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="eval (answers, then timing)", unit="q", file=sys.stderr, leave=False)


def package_versions() -> dict[str, str | None]:
    from importlib import metadata as md

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return versions


def make_config(assistant, eval_set: EvalSet, k: int | None, retriever: str | None, index_dir: str | Path | None) -> dict[str, Any]:
    settings = assistant.settings
    manifest = getattr(assistant, "manifest", {}) or {}
    return {
        "eval_file": str(eval_set.path),
        "eval_file_sha256": eval_set.sha256,
        "eval_format": eval_set.format,
        "model": manifest.get("model", settings.model),
        "k": k if k is not None else settings.k,
        "retriever": retriever or settings.retriever,
        "index_dir": None if index_dir is None else str(index_dir),
        "index_content_hash": manifest.get("content_hash"),
        "index_format_version": manifest.get("format_version"),
        "scorer": _scorer_info(assistant),
        "reader": _reader_info(assistant),
        "settings": asdict(settings),
        "packages": package_versions(),
        "latency": (f"{min(len(eval_set.questions), LATENCY_SAMPLE)} of {len(eval_set.questions)} questions "
                    "asked alone and timed (milliseconds, wall clock)"),
    }


def _scorer_info(assistant) -> dict[str, Any] | None:
    scorer = getattr(assistant, "scorer", None)
    return scorer.describe() if hasattr(scorer, "describe") else None


def _reader_info(assistant) -> dict[str, Any] | None:
    reader = getattr(assistant, "reader", None)
    return reader.describe() if hasattr(reader, "describe") else None


def training_overlap(assistant, eval_set: EvalSet) -> str | None:
    """A warning when the eval file was part of the answer scorer's or the reader's training data."""
    reader = _reader_info(assistant) or {}
    for d in reader.get("trained_on", []):
        if isinstance(d, dict) and d.get("sha256") == eval_set.sha256:
            return (f"{eval_set.path.name} was used to train the reading model ({reader.get('name')}): its answer "
                    "and abstention figures are not a held-out measurement (see models/reader/README.md).")
    info = _scorer_info(assistant) or {}
    for d in info.get("trained_on", []):
        if isinstance(d, dict) and d.get("sha256") == eval_set.sha256:
            return (f"{eval_set.path.name} was used to train the answer scorer ({info.get('name')}): its answer and "
                    "abstention figures are not a held-out measurement (see models/answer-scorer/README.md for the "
                    "article-fold figures).")
    return None


# ---------------------------------------------------------------- output

def format_table(summary: Mapping[str, Any]) -> str:
    """A two-column table of the summary, in the report's key order."""
    width = max(len(k) for k in metrics.SUMMARY_KEYS)
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 8}"]
    for key in metrics.SUMMARY_KEYS:
        lines.append(f"{key:<{width}}  {_fmt(key, summary.get(key))}")
    return "\n".join(lines)


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "null"
    if key == "n":
        return str(value)
    if key.startswith("latency"):
        return f"{value:.1f}"
    return f"{value:.3f}"


CSV_COLUMNS = (
    "id", "question", "history", "query", "answer", "abstained", "answerable", "error",
    "gold_answers", "gold_doc_ids", "retrieved_doc_ids", "cited_doc_ids", "gold_rank",
    "hit@1", "hit@5", "rr@10", "answer_recall", "exact_match", "f1",
    "n_citations", "citation_precision", "quote_exactness", "latency_ms",
)


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """One flat row per question; list fields are joined with " | "."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            flat = dict(r)
            flat["cited_doc_ids"] = [c["doc_id"] for c in r.get("citations", [])]
            for key in ("history", "gold_answers", "gold_doc_ids", "retrieved_doc_ids", "cited_doc_ids"):
                flat[key] = " | ".join(flat.get(key) or [])
            w.writerow({k: "" if flat.get(k) is None else flat.get(k) for k in CSV_COLUMNS})


def check_writable(path: str | Path, flag: str = "--out") -> None:
    """AssistantError unless a report can be written at ``path`` (its folder is made if
    missing, as the report writer does; a probe file is created there and removed)."""
    import tempfile

    path = Path(path)
    if path.is_dir():
        raise AssistantError(f"{flag} {path} is a folder: pass a file name in it, e.g. {flag} {path / 'report'}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".write-check-"):
            pass
        if path.exists() and not os.access(path, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        raise AssistantError(f"Cannot write {flag} {path} ({e.strerror or type(e).__name__}): pass a path in a "
                             "writable folder; nothing was evaluated.") from e


def write_json(report: EvalReport, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


EXACT_MATCH_NOTE = ("note: exact_match and f1 are near zero by design: answers are whole quoted sentences, "
                    "not short spans; answer_recall (the answer contains a gold answer) is the answer metric.")
WORST = 5


def _is_wrong(r: Mapping[str, Any]) -> bool:
    if r.get("error"):
        return True
    if r.get("answerable"):
        return not r.get("answer_recall")
    return not r.get("abstained")


def count_wrong(rows: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for r in rows if _is_wrong(r))


def worst_questions(rows: Sequence[Mapping[str, Any]], n: int = WORST) -> list[str]:
    """The first ``n`` wrong questions, the worst kinds first (errors, answers to
    unanswerable questions, false abstentions, answers without a gold answer), each with
    what the assistant answered."""
    def kind(r):
        if r.get("error"):
            return 0, "error"
        if not r.get("answerable"):
            return 1, "answered, should abstain"
        if r.get("abstained"):
            return 2, "abstained, answerable"
        return 3, "no gold answer in it"

    wrong = sorted((r for r in rows if _is_wrong(r)), key=lambda r: kind(r)[0])
    lines = []
    for r in wrong[:n]:
        said = r.get("error") or r.get("answer") or ""
        said = " ".join(str(said).split())
        said = said if len(said) <= 140 else said[:137] + "..."
        gold = " | ".join(r.get("gold_answers") or []) or "(abstain)"
        lines.append(f"- {r['id']} [{kind(r)[1]}] {r['question']}\n    answered: {said}\n    expected: {gold}")
    return lines


# ---------------------------------------------------------------- floors

def parse_fail_under(specs: Sequence[str] | None) -> dict[str, float]:
    """``["hit@5=0.9", ...]`` -> ``{"hit@5": 0.9}``. For ``false_abstention_rate`` and the
    latencies (lower is better) the value is a ceiling."""
    floors: dict[str, float] = {}
    valid = ", ".join(metrics.SUMMARY_KEYS)
    for spec in specs or ():
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep or name not in metrics.SUMMARY_KEYS:
            raise AssistantError(f"--fail-under {spec!r}: write METRIC=VALUE with METRIC one of {valid}.")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if number != number or number in (float("inf"), float("-inf")) or number < 0 or (name in metrics.RATES and number > 1):
            limit = "a number between 0 and 1" if name in metrics.RATES else "a non-negative number"
            raise AssistantError(f"--fail-under {spec!r}: the value must be {limit}.")
        floors[name] = number
    return floors


_NULL_WHY = {
    "abstention_accuracy": "no unanswerable questions",
    "citation_precision": "no citations",
    "sentences_per_answer": "no question was answered",
    "answer_span_precision": "no answer part was marked",
    "quote_exactness": "no citations",
    "latency_ms_p50": "no question was answered",
    "latency_ms_p95": "no question was answered",
    "n": "no questions",
}


def check_floors(summary: Mapping[str, Any], floors: Mapping[str, float]) -> list[str]:
    """One line per metric that fell short of its floor (or went above its ceiling)."""
    failures = []
    for name, limit in floors.items():
        value = summary.get(name)
        if value is None:
            why = _NULL_WHY.get(name, "no answerable questions")
            failures.append(f"{name} is null ({why}); required {'<=' if name in metrics.LOWER_IS_BETTER else '>='} {limit:g}")
        elif name in metrics.LOWER_IS_BETTER and value > limit:
            failures.append(f"{name} is {value:g}, above the ceiling {limit:g}")
        elif name not in metrics.LOWER_IS_BETTER and value < limit:
            failures.append(f"{name} is {value:g}, below the floor {limit:g}")
    return failures


# ---------------------------------------------------------------- command

def cache_index_dir(cache_root: str | Path, content_sha256: str, settings: Settings, model_name: str) -> Path:
    """``<cache_root>/eval-index/<content hash>-<model slug>-<index settings hash>``."""
    from ..store.build import chunk_settings

    slug = re.sub(r"[^A-Za-z0-9]+", "-", model_name).strip("-").lower() or "model"
    index_settings = dict(chunk_settings(settings), model=model_name)
    shash = hashlib.sha256(json.dumps(index_settings, sort_keys=True).encode()).hexdigest()[:8]
    return Path(cache_root) / "eval-index" / f"{content_sha256[:16]}-{slug[:40]}-{shash}"


def path_sha256(path: str | Path) -> str:
    """Content hash of a file, or of every file under a directory (names and bytes)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode() + b"\0")
        h.update(file_sha256(f).encode())
    return h.hexdigest()


def evaluate_file(
    file: str | Path,
    *,
    index: str | Path | None = None,
    corpus: str | Path | None = None,
    k: int | None = None,
    retriever: str | None = None,
    as_of: str | None = None,
    fail_under: Sequence[str] = (),
    out_json: str | Path | None = None,
    out_csv: str | Path | None = None,
    settings: Settings | None = None,
    encoder=None,
    cache_root: str | Path | None = None,
    progress: bool = True,
    out=None,
    llm=None,
) -> int:
    """Evaluate the eval set in ``file`` against ``index`` (or an index built in
    ``cache_root`` from ``corpus``, or from the SQuAD file's own articles), print the
    summary to ``out`` and write the reports asked for. Returns 0 when done (and every
    floor of ``fail_under`` is met), 1 when a floor is missed. Usage and file problems
    raise AssistantError (the CLI prints them)."""
    out = out or sys.stdout
    floors = parse_fail_under(fail_under)
    for flag, path in (("--out", out_json), ("--csv", out_csv)):
        if path:
            check_writable(path, flag)  # before the questions are run, not after
    settings = settings or Settings()
    eval_set = load_eval_file(file)
    if cache_root is None:
        from ..embed.onnx_runtime import default_cache_dir

        cache_root = default_cache_dir().parent
    cache_root = Path(cache_root)

    index_dir, build_from = _choose_index(index, corpus, eval_set, settings, encoder, cache_root)
    if build_from is not None and progress:
        print(f"eval index for {build_from}: {index_dir} (set ASSISTANT_CACHE_DIR to move it)", file=sys.stderr)
    assistant = _open(index_dir, build_from, settings, encoder, progress)
    overlap = training_overlap(assistant, eval_set)
    if overlap:
        print(f"warning: {overlap}", file=sys.stderr)
    if as_of:
        from ..search.timeparse import parse_as_of

        as_of = parse_as_of(as_of).isoformat()
    report = run_eval(eval_set.questions, assistant, k=k, retriever=retriever, progress=progress, as_of=as_of)
    report = EvalReport(summary=report.summary,
                        config=make_config(assistant, eval_set, k, retriever, index_dir),
                        questions=report.questions)
    written = None
    if llm is not None:  # --llm: the written answers too (assistant/evaluation/written.py)
        from .written import written_eval

        written = written_eval(eval_set.questions, assistant, llm, k=k, as_of=as_of, progress=progress)
        report.summary["written"] = written["summary"]
        report.config["llm"] = llm.describe()
        for row, w in zip(report.questions, written["questions"]):
            row["written"] = {key: w.get(key) for key in ("status", "notice", "written", "reply", "sentences",
                                                          "answer_recall", "first_token_ms", "total_ms")}
    try:
        if out_json:
            write_json(report, out_json)
        if out_csv:
            write_csv(report.questions, out_csv)
    except OSError as e:
        raise AssistantError(f"Cannot write the report ({e.strerror or e}): make room on the disk or pass "
                             "another --out/--csv path.") from e

    errors = sum(1 for r in report.questions if r["error"])
    print(f"{eval_set.path.name}: {len(report.questions)} questions"
          f" ({sum(1 for q in eval_set.questions if q.answerable)} answerable), index {index_dir}"
          + (f", {errors} errored" if errors else ""), file=out)
    print(format_table(report.summary), file=out)
    print(EXACT_MATCH_NOTE, file=out)
    if written is not None:
        from .written import format_summary

        print("\n" + format_summary(written["summary"], llm.model), file=out)
    wrong = worst_questions(report.questions)
    if wrong:
        print(f"\nwrong answers ({len(wrong)} shown of {count_wrong(report.questions)}; all rows in --out/--csv):", file=out)
        for line in wrong:
            print(line, file=out)
    if report.summary["n"] == 0:
        print("FAIL: zero questions", file=out)
        return 1
    failures = check_floors(report.summary, floors)
    for line in failures:
        print(f"FAIL: {line}", file=out)
    return 1 if failures else 0


def _choose_index(index, corpus, eval_set: EvalSet, settings: Settings, encoder, cache_root: Path):
    """(index dir, corpus to build it from or None)."""
    if index:
        return Path(index), None
    model_name = encoder.name if encoder is not None else settings.model
    if corpus:
        corpus = Path(corpus)
        if not corpus.exists():
            raise AssistantError(f"Corpus {corpus} does not exist: pass --corpus with a folder of articles, a .jsonl or a SQuAD .json file.")
        return cache_index_dir(cache_root, path_sha256(corpus), settings, model_name), corpus
    if eval_set.format == "squad":
        return cache_index_dir(cache_root, eval_set.sha256, settings, model_name), eval_set.path
    return Path("index"), None


def _open(index_dir: Path, build_from: Path | None, settings: Settings, encoder, progress: bool):
    """Build (incrementally: an unchanged cached index embeds nothing and loads no model)
    when there is a corpus to build from, then open the index."""
    from ..engine import Assistant

    if build_from is not None:
        from ..store.build import build_index
        from ..embed.factory import encoder_from_settings

        loaded = []

        def factory():
            loaded.append(encoder_from_settings(settings))
            return loaded[-1]

        build_index(build_from, index_dir, settings, encoder=encoder, encoder_factory=factory, progress=progress)
        encoder = encoder if encoder is not None else (loaded[-1] if loaded else None)
    return Assistant.open(index_dir, settings=settings, encoder=encoder)
