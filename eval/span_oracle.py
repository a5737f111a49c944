"""How well the answer part is marked inside a quote, on the sentence that holds the gold
answer (so retrieval and ranking do not blur the figure).

    python eval/span_oracle.py ../shared/datasets/squad2-dev-a/squad2-dev-a.json
    python eval/span_oracle.py ../shared/datasets/xquad-en/xquad.en.json
    python eval/span_oracle.py ../shared/datasets/squad2-dev-a/squad2-dev-a.json --source reader

For every answerable question of a SQuAD-format file whose answer lies inside one sentence,
``assistant.answer.span.answer_span`` marks a part of that sentence; a mark is right when it
overlaps a gold answer. Prints, per question type, how often a part is marked and how often
the mark is right (and, with ``--show N``, N wrong marks). ``--source reader`` marks with
the reading model's span head instead, ``--source both`` uses the rules where they mark a
typed answer and the span head elsewhere (``AnswerPolicy.span_source``)."""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answer.question import question_type  # noqa: E402
from assistant.answer.span import answer_span  # noqa: E402
from assistant.evaluation.metrics import span_agrees  # noqa: E402
from assistant.text import split_sentences  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("squad", help="a SQuAD v1.1/v2.0 JSON file")
    p.add_argument("--show", type=int, default=0, help="print this many wrong marks")
    p.add_argument("--source", choices=("rules", "reader", "both"), default="rules", help="what marks the part")
    args = p.parse_args(argv)
    reader = None
    if args.source != "rules":
        from assistant.answer.reader import load_reader

        reader = load_reader()
    data = json.loads(Path(args.squad).read_text(encoding="utf-8"))["data"]
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # questions, marked, right, agrees
    wrong = []
    for article in data:
        for para in article["paragraphs"]:
            ctx = para["context"]
            sentences = split_sentences(ctx)
            for qa in para["qas"]:
                if qa.get("is_impossible") or not qa.get("answers"):
                    continue
                first = qa["answers"][0]
                a, b = first["answer_start"], first["answer_start"] + len(first["text"])
                sent = next(((s, e) for s, e in sentences if s <= a < e), None)
                if sent is None or b > sent[1]:
                    continue  # the answer crosses a sentence boundary
                text = ctx[sent[0]:sent[1]]
                golds = [(g["answer_start"] - sent[0], g["answer_start"] - sent[0] + len(g["text"])) for g in qa["answers"]]
                kind = question_type(qa["question"])
                row = stats[kind]
                row[0] += 1
                span = answer_span(qa["question"], text) if args.source != "reader" else None
                if reader is not None and span is None:
                    span = reader.read(qa["question"], [(str(article.get("title", "")).replace("_", " "), text)]).span[0]
                if span is None:
                    continue
                row[1] += 1
                if span_agrees(text[span[0]:span[1]], [g["text"] for g in qa["answers"]]):
                    row[3] += 1
                if any(span[0] < g1 and g0 < span[1] for g0, g1 in golds):
                    row[2] += 1
                else:
                    wrong.append((kind, qa["question"], text[span[0]:span[1]], first["text"]))
    # right: the mark overlaps a gold answer; agrees: one contains the other as whole tokens
    # (``answer_span_precision`` of eval reports)
    print(f"{'type':8s} {'questions':>9s} {'marked':>7s} {'right':>6s} {'agrees':>6s}")
    for kind, (n, marked, right, agrees) in sorted(stats.items()):
        if marked:
            print(f"{kind:8s} {n:9d} {marked / n:7.2f} {right / marked:6.2f} {agrees / marked:6.2f}")
    n, marked, right, agrees = (sum(r[i] for r in stats.values()) for i in range(4))
    print(f"{'all':8s} {n:9d} {marked / max(n, 1):7.2f} {right / max(marked, 1):6.2f} {agrees / max(marked, 1):6.2f}")
    random.Random(0).shuffle(wrong)
    for kind, question, got, gold in wrong[: args.show]:
        print(f"- [{kind}] {question}\n    marked: {got}\n    gold:   {gold}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
