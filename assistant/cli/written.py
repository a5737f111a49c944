"""The written answer (``generate.Generated``) in the terminal: one line per sentence,
✓ supported (with its verified passages listed under it) or ✗ with the reason."""
from __future__ import annotations

from ..generate.checker import with_marks


def format_written(g) -> str:
    """The written answer for the terminal: one line per sentence, ✓ or ✗ with the reason."""
    if g.status == "fallback":
        return f"note: {g.notice}"
    lines = [f"Written answer ({g.model or 'model'}; each sentence checked against the passages):"]
    if g.status == "refused":
        lines.append("  The passages do not answer this question (the written answer is the refusal).")
    for s in g.sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        if s.kind != "claim":
            lines.append(f"  · {s.text}")
        elif s.supported:
            fix = f"  ({s.reason})" if s.corrected else ""
            lines.append(f"  ✓ {with_marks(s.text, marks)}{fix}")
        else:
            lines.append(f"  ✗ {s.text}  — unsupported: {s.reason}")
    for c in g.citations:
        lines.append(f"  [{c.n}] {c.title} ({c.doc_id}, characters {c.start}-{c.end})")
        lines.append(f"      “{c.quote}”")
    return "\n".join(lines)
