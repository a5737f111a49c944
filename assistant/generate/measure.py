"""Measure the sentence checker on a labelled set (``eval/written/sentences.json``):
precision and recall of the verdict "unsupported", on the tuning groups (where the
threshold is chosen) and the test groups (reported). ``python -m assistant.generate.measure
[FILE] [--sweep]``: ``--sweep`` prints the tuning figures for a range of thresholds."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .checker import THRESHOLD, Passage, check_sentence

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "eval" / "written" / "sentences.json"


def load(path: str | Path = DEFAULT_FILE) -> list[dict]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = []
    for g in data["groups"]:
        passages = {p["n"]: Passage(p["n"], f"{g['id']}-{p['n']}", p["title"], p["text"], 0, len(p["text"]))
                    for p in g["passages"]}
        for i, s in enumerate(g["sentences"]):
            rows.append({"id": f"{g['id']}-{i}", "split": g["split"], "passages": passages, **s})
    return rows


def score(rows: list[dict], threshold: float = THRESHOLD) -> dict:
    tp = fp = fn = tn = 0
    wrong = []
    for r in rows:
        c = check_sentence(r["text"], r["passages"], threshold)
        flagged = not c.supported
        truth = r["label"] == "unsupported"
        tp += flagged and truth
        fp += flagged and not truth
        fn += truth and not flagged
        tn += not flagged and not truth
        if flagged != truth:
            wrong.append(f"{r['id']} ({r['kind']}, labelled {r['label']}): {r['text']} -> "
                         f"{'flagged: ' + c.reason if flagged else 'supported'}")
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return {"n": len(rows), "unsupported": tp + fn, "precision": precision, "recall": recall,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn, "wrong": wrong}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", nargs="?", default=str(DEFAULT_FILE))
    p.add_argument("--sweep", action="store_true", help="tuning-split figures for thresholds 0.5 to 0.95")
    p.add_argument("--threshold", type=float, default=THRESHOLD)
    args = p.parse_args(argv)
    rows = load(args.file)
    if args.sweep:
        tune = [r for r in rows if r["split"] == "tune"]
        for t in [x / 100 for x in range(40, 100, 5)]:
            s = score(tune, t)
            print(f"threshold {t:.2f}: precision {s['precision']:.3f} recall {s['recall']:.3f} (tune, n={s['n']})")
    for split in ("tune", "test", "holdout", None):
        part = [r for r in rows if split is None or r["split"] == split]
        s = score(part, args.threshold)
        print(f"{split or 'all'}: n={s['n']} ({s['unsupported']} unsupported): precision {s['precision']:.3f}, "
              f"recall {s['recall']:.3f} of 'unsupported' at threshold {args.threshold:.2f}")
        if split is None:
            for line in s["wrong"]:
                print("  " + line)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
