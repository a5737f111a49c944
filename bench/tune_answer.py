"""Measure the answer stage's knobs (how much sentence similarity counts when choosing
sentences, and the abstention thresholds) on the seed set, the near-miss set and XQuAD.

    python bench/tune_answer.py [--xquad-sample 500]

It answers every question once with lexical scoring and caches, for the best
candidate sentences, their lexical score, term coverage and cosine similarity to the
query; then it replays the selection and abstention rules for a grid of settings and
prints answer recall / abstention figures for each. The chosen values live in
assistant/settings.py and the README explains them."""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def collect(assistant, questions, top):
    from assistant.answer import score_sentences

    rows = []
    for q in questions:
        a = assistant.ask_batch([(q["question"], q.get("history", []))], retriever="hybrid")[0]
        qvec = assistant.encoder.encode([a.query])[0]
        hits = a.hits[: assistant.settings.k]
        cands = score_sentences(q["question"], a.query, hits, assistant.articles, assistant.lexical.idf)[:top]
        texts = [assistant.articles[c.hit.chunk.doc_id].text[c.start : c.end] for c in cands]
        similarity = assistant._similarity(qvec)
        sims = [similarity(c.hit.chunk.doc_id, c.start, c.end) for c in cands]
        top_dense = max((h.dense_score for h in a.hits if h.dense_score is not None), default=None)
        rows.append({"answers": q["answers"], "top_dense": top_dense,
                     "cands": [(c.score, c.coverage, s, t) for c, s, t in zip(cands, sims, texts)]})
    return rows


def replay(rows, weight, min_dense, min_cov, min_sim, ratio=0.6, max_sent=2):
    from assistant.metrics import answer_contains

    recall = abst_ok = false_abst = n_ans = n_un = 0
    for r in rows:
        c = sorted(((s + weight * sim, cov, sim, t) for s, cov, sim, t in r["cands"]), key=lambda x: -x[0])
        abstain = (not c or (r["top_dense"] is not None and r["top_dense"] < min_dense) or c[0][1] < min_cov
                   or max(x[2] for x in c) < min_sim)
        if r["answers"]:
            n_ans += 1
            if abstain:
                false_abst += 1
                continue
            chosen = [c[0]] + [x for x in c[1:max_sent] if x[0] >= ratio * c[0][0] and x[1] > 0]
            recall += answer_contains(" ".join(x[3] for x in chosen), r["answers"]) or 0
        else:
            n_un += 1
            abst_ok += abstain
    f = lambda a, b: round(a / b, 3) if b else None
    return {"answer_recall": f(recall, n_ans), "false_abstention_rate": f(false_abst, n_ans), "abstention_accuracy": f(abst_ok, n_un)}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--xquad-sample", type=int, default=500)
    args = p.parse_args(argv)
    from assistant.build import build_index
    from assistant.embed import load_encoder
    from assistant.engine import Assistant
    from assistant.load import load_squad
    from assistant.settings import Settings

    enc = load_encoder()
    cache = ROOT / ".cache" / "tune"
    build_index(ROOT / "corpus", cache / "seed", Settings(), encoder=enc, progress=False)
    xq = ROOT / "eval/data/xquad-en/xquad.en.json"
    build_index(xq, cache / "xquad", Settings(), encoder=enc, progress=False)
    seed = Assistant.open(cache / "seed", encoder=enc)
    xqa = Assistant.open(cache / "xquad", encoder=enc)
    load = lambda f: [json.loads(l) for l in open(ROOT / f) if l.strip()]
    _, xqs = load_squad(xq)
    step = max(1, len(xqs) // args.xquad_sample)
    sets = {
        "seed": collect(seed, load("eval/seed_questions.jsonl"), 6),
        "near-miss": collect(seed, load("eval/near_miss_questions.jsonl"), 6),
        "xquad": collect(xqa, xqs[::step], 6),
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "tune-rows.json").write_text(json.dumps(sets))
    print("weight min_dense min_cov min_sim | seed recall/false-abst/abst-acc | near-miss abst-acc | xquad recall/false-abst")
    for w, d, c, s in itertools.product([0.0, 0.5, 1.0], [0.25], [0.1, 0.15], [0.0, 0.35, 0.38, 0.4, 0.45, 0.5]):
        a, n, x = (replay(sets[k], w, d, c, s) for k in ("seed", "near-miss", "xquad"))
        print(f"{w:5} {d:5} {c:5} {s:5} | {a['answer_recall']} / {a['false_abstention_rate']} / {a['abstention_accuracy']}"
              f" | {n['abstention_accuracy']} | {x['answer_recall']} / {x['false_abstention_rate']}")


if __name__ == "__main__":
    main()
