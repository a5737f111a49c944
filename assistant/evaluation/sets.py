"""Reading evaluation sets: JSONL (one ``{"id", "question", "answers", "gold_doc_ids",
"history"?}`` object a line) or SQuAD v1.1/v2.0 JSON. Errors name the file and line and
say what to fix. See eval/README.md."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import AssistantError, EvalFileError
from ..ingest.load import jsonl_objects

JSONL_FORMAT = '{"id": "q1", "question": "...", "answers": ["..."], "gold_doc_ids": ["..."], "history": []}'

@dataclass(frozen=True)
class EvalQuestion:
    """One question of an eval set; unanswerable when ``answers`` is empty."""

    id: str
    question: str
    answers: tuple[str, ...] = ()
    gold_doc_ids: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    where: str = ""  # "file line N", for messages
    as_of: str | None = None  # the date "now" means for this question (YYYY-MM-DD); None: the run's

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class EvalSet:
    path: Path
    format: str  # "jsonl" or "squad"
    sha256: str
    questions: tuple[EvalQuestion, ...]
    articles: tuple = ()  # the SQuAD articles (the corpus); empty for JSONL


# ---------------------------------------------------------------- reading eval files

def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_eval_file(path: str | Path) -> EvalSet:
    """Read a JSONL or SQuAD JSON eval file. Raises EvalFileError naming the file (and
    line) and what to fix; zero questions is an error."""
    path = Path(path)
    if not path.is_file():
        raise EvalFileError(f"Eval file {path} does not exist: pass a .jsonl file ({JSONL_FORMAT} per line) or a SQuAD .json file.")
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise EvalFileError(f"Cannot read eval file {path} as UTF-8 text ({type(e).__name__}): re-save it as UTF-8.") from e
    if _looks_like_squad(path, raw):
        return _load_squad_eval(path)
    questions = parse_jsonl(raw, path.name)
    return EvalSet(path=path, format="jsonl", sha256=file_sha256(path), questions=questions)


def _looks_like_squad(path: Path, raw: str) -> bool:
    if path.suffix.lower() == ".jsonl":
        return False
    if path.suffix.lower() == ".json":
        return True
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return False
    return isinstance(obj, dict) and "data" in obj


def _load_squad_eval(path: Path) -> EvalSet:
    from ..ingest.load import load_squad

    try:
        articles, entries = load_squad(path)
    except AssistantError as e:
        raise EvalFileError(f"Eval file {path}: {e}") from e
    questions = []
    seen: set[str] = set()
    for i, e in enumerate(entries, start=1):
        qid = e["id"] or f"q{i}"
        if qid in seen:
            raise EvalFileError(f"{path.name}: question id {qid!r} appears twice; give every question a unique id.")
        seen.add(qid)
        answers = tuple(a for a in e["answers"] if str(a).strip())
        impossible = e.get("is_impossible", False) or not answers
        questions.append(EvalQuestion(
            id=qid, question=str(e["question"]),
            answers=() if impossible else answers,
            gold_doc_ids=() if impossible else tuple(e["gold_doc_ids"]),
            where=f"{path.name} question {qid}",
        ))
    if not questions:
        raise EvalFileError(f"Eval file {path} has no questions: add \"qas\" to its paragraphs.")
    return EvalSet(path=path, format="squad", sha256=file_sha256(path),
                   questions=tuple(questions), articles=tuple(articles))


def parse_jsonl(text: str, name: str = "<eval file>") -> tuple[EvalQuestion, ...]:
    """Parse JSONL eval questions; blank lines are ignored."""
    questions: list[EvalQuestion] = []
    seen: dict[str, int] = {}
    for lineno, obj, problem in jsonl_objects(text):
        where = f"{name} line {lineno}"
        if problem:
            raise EvalFileError(f"{where}: {problem}; each line must be one object like {JSONL_FORMAT}")
        qid = obj.get("id")
        if not isinstance(qid, str) or not qid.strip():
            raise EvalFileError(f'{where}: "id" must be a non-empty string (got {_shown(qid)})')
        if qid in seen:
            raise EvalFileError(f"{where}: id {qid!r} already used on line {seen[qid]}; give every question a unique id")
        question = obj.get("question")
        if not isinstance(question, str) or not question.strip():
            raise EvalFileError(f'{where}: "question" must be a non-empty string (got {_shown(question)})')
        answers = _str_list(obj, "answers", where, required=True)
        gold = _str_list(obj, "gold_doc_ids", where, required=True)
        history = _str_list(obj, "history", where, required=False)
        if bool(answers) != bool(gold):
            raise EvalFileError(
                f'{where}: "answers" and "gold_doc_ids" must both be non-empty (answerable) '
                f"or both empty (unanswerable: the assistant should abstain)")
        as_of = obj.get("as_of")
        if as_of is not None:
            import datetime as dt

            try:
                as_of = dt.date.fromisoformat(str(as_of)).isoformat() if isinstance(as_of, str) else None
            except ValueError:
                as_of = None
            if as_of is None:
                raise EvalFileError(f'{where}: "as_of" must be a date written YYYY-MM-DD (got {_shown(obj.get("as_of"))})')
        seen[qid] = lineno
        questions.append(EvalQuestion(id=qid, question=question, answers=answers,
                                      gold_doc_ids=gold, history=history, where=where, as_of=as_of))
    if not questions:
        raise EvalFileError(f"{name} has no questions: add one JSON object per line like {JSONL_FORMAT}")
    return tuple(questions)


def _str_list(obj: Mapping[str, Any], key: str, where: str, required: bool) -> tuple[str, ...]:
    if key not in obj:
        if required:
            raise EvalFileError(f'{where}: missing field "{key}" (a list of strings; use [] when there is none)')
        return ()
    value = obj[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EvalFileError(f'{where}: "{key}" must be a list of strings (got {_shown(value)})')
    if any(not v.strip() for v in value):
        raise EvalFileError(f'{where}: "{key}" contains an empty string; remove it')
    return tuple(value)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def check_gold_docs(questions: Sequence[EvalQuestion], articles: Mapping[str, Any]) -> None:
    """Every gold document must be in the index, else the eval set and index do not match."""
    for q in questions:
        missing = [d for d in q.gold_doc_ids if d not in articles]
        if missing:
            known = ", ".join(sorted(articles)[:5]) + (" ..." if len(articles) > 5 else "")
            raise EvalFileError(
                f"{q.where}: gold document {missing[0]!r} is not in the index (its documents: {known}). "
                f"Pass the index or corpus this eval set was written for with --index or --corpus.")
