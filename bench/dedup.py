"""How well MinHash collapses syndicated copies (assistant/ingest/dedup.py), measured.

The 48 XQuAD articles are the originals. Each gets a "syndicated" copy (another outlet's
header and footer lines, typographic quotes, one paragraph dropped), and a "follow-up"
(the same first paragraph, then different text taken from another article: a new report on
the same story must not be collapsed). Reports: copies collapsed (recall), articles wrongly
merged (false merges), the MinHash estimate's error against the exact Jaccard, and time.

    python bench/dedup.py [--threshold 0.7]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.ingest.dedup import THRESHOLD, estimate_error, find_duplicates, jaccard  # noqa: E402
from assistant.ingest.load import load_squad  # noqa: E402
from assistant.types import Article  # noqa: E402

HEADERS = ["Syndicated from the wire.", "Coast Post | News | Sport | Weather", "By our correspondents"]
FOOTERS = ["Copyright Coast Post. Subscribe for daily updates.", "Contact: newsdesk@coastpost.example",
           "Read more: the week's top stories from the region, every Friday."]


def syndicated(a: Article, rng: random.Random) -> Article:
    paras = [p for p in a.text.split("\n\n") if p.strip()]
    if len(paras) > 3:
        paras.pop(rng.randrange(1, len(paras)))  # an editor cut one paragraph
    text = "\n".join([rng.choice(HEADERS), *paras, rng.choice(FOOTERS)]).replace('"', "“")
    return Article(a.doc_id + "~copy", a.title, text, {"date": "2026-03-03", "source": "Coast Post"})


def follow_up(a: Article, other: Article, rng: random.Random) -> Article:
    """A's first paragraph, then new text: another article's sentences with their words
    shuffled (same vocabulary, none of its word sequences), so it copies no other article."""
    first = a.text.split("\n\n")[0]
    new = []
    for sentence in other.text.split(". "):
        words = sentence.split()
        rng.shuffle(words)
        new.append(" ".join(words))
    return Article(a.doc_id + "~followup", a.title, first + "\n\n" + ". ".join(new), {"date": "2026-03-09"})


def updated(a: Article) -> Article | None:
    """The same article with its first figure changed (a revised estimate): not a copy."""
    import re

    m = re.search(r"\d[\d,]*", a.text)
    if not m:
        return None
    bumped = str(int(m.group(0).replace(",", "")) + 7)
    return Article(a.doc_id + "~update", a.title, a.text[:m.start()] + bumped + a.text[m.end():], {"date": "2026-03-05"})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threshold", type=float, default=THRESHOLD)
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    originals, _ = load_squad(root / "eval/data/xquad-en/xquad.en.json")
    originals = [Article(a.doc_id, a.title, a.text, {"date": "2026-03-02"}) for a in originals]
    rng = random.Random(7)
    copies = [syndicated(a, rng) for a in originals]
    follows = [follow_up(a, originals[(i + 1) % len(originals)], rng) for i, a in enumerate(originals)]
    updates = [u for a in originals if (u := updated(a)) is not None]
    corpus = originals + copies + follows + updates

    t0 = time.perf_counter()
    groups = find_duplicates(corpus, threshold=args.threshold)
    seconds = time.perf_counter() - t0
    member = {c: rep for rep, cs in groups.items() for c in cs}
    collapsed = sum(1 for c in copies if member.get(c.doc_id) == c.doc_id[:-len("~copy")])
    wrong = sum(1 for d, rep in member.items() if d.split("~")[0] != rep.split("~")[0] or d.endswith("~followup"))
    updates_merged = sum(1 for u in updates if u.doc_id in member or u.doc_id in groups)
    sims_copy = [jaccard(a.text, c.text) for a, c in zip(originals, copies)]
    sims_follow = [jaccard(a.text, f.text) for a, f in zip(originals, follows)]
    print(f"articles: {len(corpus)} ({len(originals)} originals, {len(copies)} syndicated copies, {len(follows)} follow-ups, "
          f"{len(updates)} updates with one figure changed)")
    print(f"threshold {args.threshold}: copies collapsed {collapsed}/{len(copies)}; wrong merges {wrong} "
          f"(follow-ups or other articles merged); updates collapsed {updates_merged}/{len(updates)}")
    print(f"exact Jaccard, original vs copy: median {statistics.median(sims_copy):.3f}, min {min(sims_copy):.3f}")
    print(f"exact Jaccard, original vs follow-up: median {statistics.median(sims_follow):.3f}, max {max(sims_follow):.3f}")
    print(f"MinHash estimate error (mean |estimate - exact| over all pairs of the first 48): "
          f"{estimate_error(originals[:24] + copies[:24]):.3f}")
    print(f"find_duplicates on {len(corpus)} articles: {seconds:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
