"""The written answer (``generate.Generated``) on the page: streaming text, then every
sentence with the checker's verdict — supported sentences link their verified passage,
unsupported ones are struck through with the reason. Nothing the model wrote becomes
markup (all of it is escaped)."""
from __future__ import annotations

from html import escape

from .render import render_source_card

CSS = """
.written { margin-bottom: 8px; }
.written-head { font-size: 13px; font-weight: 700; color: var(--body-text-color, #1f2937); margin-bottom: 4px; }
.written .w-ok::after { content: " ✓"; color: #047857; font-weight: 700; font-size: 13px; }
.written .w-bad { text-decoration: line-through; color: #6b7280; }
.written .w-why { display: inline-block; margin-left: 4px; font-size: 12px; font-weight: 600; color: #b91c1c;
  text-decoration: none; }
.written .w-note { font-style: italic; color: #374151; }
.written .w-fixed { font-size: 12px; color: #92400e; margin-left: 4px; }
.written.streaming .w-raw { color: #374151; white-space: pre-wrap; }
.written-notice { font-size: 13px; color: #1e3a8a; background: #eff6ff; border: 1px solid #93c5fd;
  border-radius: 6px; padding: 4px 8px; margin-bottom: 8px; }
"""


QUOTED = '<div class="written-head">Quoted answer (word for word)</div>'


def render_written(g, articles, turn_id: str, whole_inline: bool = True) -> str:
    """The written answer's block, above the quoted answer: streaming text (escaped), or
    the checked sentences with their source cards, or the one-line fallback notice."""
    if g is None:
        return ""
    if g.status == "fallback":
        return f'<div class="written-notice">ℹ {escape(g.notice)}</div>'
    if g.status == "streaming":
        return ('<div class="written streaming"><div class="written-head">Written answer (checked when complete)…</div>'
                f'<div class="w-raw">{escape(g.text)}</div></div>{QUOTED}')
    tid = f"{turn_id}w"
    parts = []
    for s in g.sentences:
        if s.kind != "claim":
            parts.append(f'<span class="w-note">{escape(s.text)}</span>')
        elif s.supported:
            links = "".join(f'<a class="cite" href="#src-{tid}-{n}" data-n="{n}">[{n}]</a>' for n in s.citations)
            fixed = (f'<span class="w-fixed" title="{escape(s.reason, quote=True)}">(citation corrected)</span>'
                     if s.corrected else "")
            end = len(s.text.rstrip(".!?;:"))
            parts.append(f'<span class="w-ok">{escape(s.text[:end])} {links}{escape(s.text[end:])}</span>{fixed}')
        else:
            parts.append(f'<span class="w-bad" title="{escape(s.reason, quote=True)}">{escape(s.text)}</span>'
                         f'<span class="w-why">unsupported: {escape(s.reason)}</span>')
    head = "Written answer" + (f" ({escape(g.model)})" if g.model else "") + ", each sentence checked"
    refusal = ('<div class="w-note">The passages do not answer this question.</div>' if g.status == "refused" else "")
    cards = "".join(render_source_card(c, articles.get(c.doc_id), tid, whole_inline) for c in g.citations)
    sources = f'<div class="sources"><div class="sources-head">Passages the written answer cites</div>{cards}</div>' if cards else ""
    body = " ".join(parts)
    return (f'<div class="written {escape(g.status)}"><div class="written-head">{head}</div>{refusal}'
            f'<div class="answer-text">{body}</div>{sources}</div>{QUOTED}')


__all__ = ["CSS", "render_written"]
