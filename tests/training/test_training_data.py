"""The answer scorer's news training data (eval/train/) must not overlap the sets its figures
are reported on: no shared article text (12-word runs: stock phrases such as "construction is
scheduled to begin in the spring of" are shorter), question or article name."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
TRAIN = ROOT / "eval" / "train"
MEASURED = [  # (article folder, question file)
    (ROOT / "corpus", ROOT / "eval" / "seed_questions.jsonl"),
    (ROOT / "corpus", ROOT / "eval" / "near_miss_questions.jsonl"),
    (ROOT / "eval" / "dev" / "news", ROOT / "eval" / "dev" / "news_questions.jsonl"),
    (ROOT / "eval" / "holdout" / "news", ROOT / "eval" / "holdout" / "news_questions.jsonl"),
    (ROOT / "eval" / "holdout2" / "news", ROOT / "eval" / "holdout2" / "news_questions.jsonl"),
    (ROOT / "tests" / "data" / "tram", None),
]


def _runs(text: str, n: int = 12) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def _questions(path: Path) -> set[str]:
    return {json.loads(line)["question"].strip().lower() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


@pytest.mark.parametrize("folder, questions", MEASURED, ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else "-")
def test_news_training_data_does_not_overlap_a_measured_set(folder, questions):
    train_files = sorted((TRAIN / "news").iterdir())
    train_runs = set().union(*(_runs(f.read_text(encoding="utf-8")) for f in train_files))
    files = sorted(p for p in folder.iterdir() if p.is_file())
    assert files
    shared = set().union(*(_runs(f.read_text(encoding="utf-8")) for f in files)) & train_runs
    assert not shared, sorted(shared)[:5]
    assert not {f.stem for f in files} & {f.stem for f in train_files}
    if questions is not None:
        assert not _questions(questions) & _questions(TRAIN / "news_questions.jsonl")
