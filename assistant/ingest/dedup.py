"""Syndicated and near-duplicate articles, found at index time with MinHash (datasketch).

Each article becomes a set of word 5-grams ("shingles"); MinHash signatures estimate the
Jaccard similarity of two sets, and an LSH index finds the pairs above ``threshold``
without comparing every pair. The same wire story with another outlet's header and
footer shares most of its shingles (0.84 in tests/data/news); a follow-up with revised
figures shares few (0.06). An update that keeps the text but changes a figure is never a
copy (``revises``): collapsing it would hide the newer figure. Within a group the
earliest-dated article (then the smallest doc id) is the representative: it is indexed, the
copies are listed as "also reported by".
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from ..text import FIGURE
from ..types import Article
from .newsmeta import article_info, date_interval

THRESHOLD = 0.6  # chosen with bench/dedup.py: docs/news.md
NUM_PERM = 128
SHINGLE = 5
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, k: int = SHINGLE) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) < k:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i:i + k]).encode("utf-8") for i in range(len(words) - k + 1)}


def jaccard(a: str, b: str, k: int = SHINGLE) -> float:
    """Exact Jaccard similarity of two texts' shingle sets (for measuring the estimate)."""
    sa, sb = shingles(a, k), shingles(b, k)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def _order_key(a: Article):
    span = date_interval(article_info(a).date)
    return (0, span[0].toordinal(), a.doc_id) if span else (1, 0, a.doc_id)


def revises(a: str, b: str) -> bool:
    """True when each text has figures the other lacks (a figure was changed: "$412 million"
    became "$468 million"): an updated report, never collapsed into the old one. A copy
    that only adds a footer ("Copyright 2026") or drops a paragraph differs on one side."""
    from collections import Counter

    fa = Counter(m.group(0).replace(",", "").lower() for m in FIGURE.finditer(a))
    fb = Counter(m.group(0).replace(",", "").lower() for m in FIGURE.finditer(b))
    return bool(fa - fb) and bool(fb - fa)


def find_duplicates(articles: Sequence[Article], threshold: float = THRESHOLD,
                    num_perm: int = NUM_PERM) -> dict[str, list[str]]:
    """``{representative doc_id: [copy doc_ids]}`` for every group of two or more articles
    whose estimated Jaccard similarity is at least ``threshold``."""
    from datasketch import MinHash, MinHashLSH

    if len(articles) < 2:
        return {}
    by_id = {a.doc_id: a for a in articles}
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sigs: dict[str, MinHash] = {}
    groups: dict[str, list[str]] = {}
    for a in sorted(articles, key=_order_key):
        sh = shingles(a.text)
        if not sh:
            continue
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch(list(sh))
        reps = [r for r in lsh.query(m) if m.jaccard(sigs[r]) >= threshold
                and not revises(a.text, by_id[r].text)]
        if reps:
            rep = min(reps, key=lambda r: _order_key(by_id[r]))
            groups.setdefault(rep, []).append(a.doc_id)
            continue
        sigs[a.doc_id] = m
        lsh.insert(a.doc_id, m)
    return groups


def estimate_error(articles: Sequence[Article], num_perm: int = NUM_PERM) -> float:
    """Mean absolute error of the MinHash Jaccard estimate over all pairs (for bench/)."""
    from datasketch import MinHash

    sigs, sets = [], []
    for a in articles:
        sh = shingles(a.text)
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch(list(sh))
        sigs.append(m)
        sets.append(sh)
    errs = []
    for i in range(len(articles)):
        for j in range(i + 1, len(articles)):
            exact = len(sets[i] & sets[j]) / max(1, len(sets[i] | sets[j]))
            errs.append(abs(sigs[i].jaccard(sigs[j]) - exact))
    return float(np.mean(errs)) if errs else 0.0
