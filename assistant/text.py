"""Text utilities shared by the chunk and answer stages: publisher boilerplate
detection and sentence splitting, both returning character spans of the stored text,
and the pattern of a figure in running text (``FIGURE``: near-duplicates and recency)."""
from __future__ import annotations

import re

# Lines that are publisher furniture rather than reporting. They stay in the stored
# article text (quotes are checked against it) but are kept out of the chunks.
_BOILERPLATE = re.compile(
    r"""^\W*(
        translated\ by\b
      | read\ (this\ article\ )?in\ (korean|chinese|japanese|english)\b
      | please\ direct\ any\ (comments|questions)\b
      | .*\bis\ one\ of\ [\w\s'’]+\b(journalists|reporters|correspondents)\b
      | (copyright|©|all\ rights\ reserved)
      | (subscribe|sign\ up)\ (to|for)\ (our|the)\b
      | follow\ us\ on\b
      | share\ this\ (article|story)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# a figure in running text (amounts, percentages, money), compared by recency and dedup
FIGURE = re.compile(r"(?<![\w.])[$€£¥]?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|million|billion|thousand|bn|m\b))?", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")


def is_boilerplate(line: str) -> bool:
    s = line.strip()
    if not s:
        return False
    if _BOILERPLATE.match(s):
        return True
    # a short line that is mostly contact details
    return bool(_EMAIL.search(s)) and len(s) < 200


def content_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of ``text`` made of consecutive non-boilerplate lines, each
    trimmed of surrounding whitespace. Boilerplate lines split the spans."""
    spans: list[tuple[int, int]] = []
    start = None
    pos = 0
    for line in text.splitlines(keepends=True):
        if is_boilerplate(line):
            if start is not None:
                spans.append((start, pos))
                start = None
        elif start is None and line.strip():
            start = pos
        pos += len(line)
    if start is not None:
        spans.append((start, pos))
    return [t for t in (_trim(text, a, b) for a, b in spans) if t[1] > t[0]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


_PARAGRAPH = re.compile(r"[^\n]+")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (absolute character offsets) of ``text[start:end]``. Lines are
    split separately (a sentence never crosses a line break), then each line with
    blingfire; every span is trimmed and non-empty."""
    import blingfire

    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    for m in _PARAGRAPH.finditer(text, start, end):
        line = m.group()
        if not line.strip():
            continue
        base = m.start()
        try:
            _, offsets = blingfire.text_to_sentences_and_offsets(line)
        except Exception:  # pragma: no cover - blingfire refuses odd input
            offsets = [(0, len(line))]
        if not offsets or offsets[-1][1] > len(line):
            offsets = [(0, len(line))]  # defensive: offsets must be character offsets
        for a, b in offsets:
            a, b = _trim(text, base + a, base + b)
            if b > a:
                out.append((a, b))
    return out
