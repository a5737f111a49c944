"""A synthetic news corpus of a chosen size, for the startup and indexing benchmarks:
articles assembled (fixed seed) from the sentences of the XQuAD paragraphs and the seed
articles, written as a BEIR .jsonl file. Real English sentences, so tokenisation, chunking
and BM25 behave as on news; the content is shuffled, so it is for timing only.

    python bench/synth.py OUT.jsonl [--chunks 25000]"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHARS_PER_CHUNK = 560  # measured: 160-token chunks with 32 tokens of overlap advance ~560 characters


def sentences() -> list[str]:
    from assistant.ingest.load import load_corpus
    from assistant.text import split_sentences

    out = []
    for source in (ROOT / "eval" / "data" / "xquad-en" / "xquad.en.json", ROOT / "corpus"):
        for a in load_corpus(source).articles:
            out.extend(a.text[s:e].strip() for s, e in split_sentences(a.text, 0, len(a.text)))
    return [s for s in out if 20 <= len(s) <= 400]


def write_corpus(path: Path, chunks: int, seed: int = 0) -> int:
    """Write about ``chunks`` chunks' worth of articles (15 chunks each); returns the article count."""
    pool = sentences()
    rng = random.Random(seed)
    n_articles = max(1, chunks // 15)
    target = 15 * CHARS_PER_CHUNK
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for i in range(n_articles):
            body, size = [], 0
            while size < target:
                s = rng.choice(pool)
                body.append(s)
                size += len(s) + 1
            paras = [" ".join(body[j : j + 5]) for j in range(0, len(body), 5)]
            title = " ".join(rng.choice(pool).split()[:6]).strip(".,;:")
            f.write(json.dumps({"_id": f"synth-{i:05d}", "title": title, "text": "\n\n".join(paras),
                                "publish_date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"}) + "\n")
    tmp.replace(path)
    return n_articles


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--chunks", type=int, default=25000)
    a = p.parse_args()
    print(write_corpus(Path(a.out), a.chunks), "articles")
