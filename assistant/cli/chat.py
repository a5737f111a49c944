"""``assistant chat``: a conversation in the terminal over one opened ``Assistant``
(index and model loaded once). Follow-ups use the earlier questions, ``/clear`` starts a
new conversation, ``/quit`` (or Ctrl-D) leaves. Answers and sources print as in ``ask``.
Reads a terminal with readline (line editing, history kept across sessions) or any other
stdin line by line, so it can be scripted and tested."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterator, TextIO

HELP = "Ask a question about the articles. Follow-ups use the conversation; /clear starts over, /quit leaves."


def format_answer(answer, terminal: bool | None = None) -> str:
    """An answer with its quoted sources (or related passages when it abstains), as printed
    by ``assistant ask`` and ``assistant chat``. The part of a quote that answers is shown
    in bold on a terminal, else on an ``answer:`` line under the quote."""
    import sys

    terminal = sys.stdout.isatty() if terminal is None else terminal
    from ..answer.recency import describe_scope

    lines = [answer.text]
    if answer.generated is not None:  # the checked written answer (--llm) first
        from .written import format_written

        lines = [format_written(answer.generated), ""]
        lines.append(answer.text if answer.generated.status == "fallback" else f"Quoted answer: {answer.text}")
    if answer.query != answer.question:
        lines.append(f"(searched for: {answer.query})")
    scope = describe_scope(answer)
    if scope:
        lines.append(f"({scope})")
    if answer.citations:
        lines.append("")
        for c in answer.citations:
            lines.append(f"[{c.n}] {citation_line(c)} ({c.doc_id}, characters {c.start}-{c.end})")
            lines.append(f"    “{emphasise(c.quote, c.answer_span, c.start, terminal)}”")
            if c.answer_span is not None and not terminal:
                lines.append(f"    answer: {c.quote[c.answer_span[0] - c.start:c.answer_span[1] - c.start]}")
            if c.url:
                lines.append(f"    {c.url}")
            if c.also_reported_by:
                lines.append("    also reported by: " + "; ".join(report_line(r) for r in c.also_reported_by))
    elif answer.hits:
        lines.append("\nRelated passages:")
        for h in answer.hits[:3]:
            snippet = " ".join(h.chunk.text.split())
            lines.append(f"- {h.title}: {snippet[:160]}…")
    return "\n".join(lines)


def emphasise(quote: str, span, start: int, terminal: bool) -> str:
    """The quote with its answering part in bold and underlined (terminals only)."""
    if span is None or not terminal:
        return quote
    a, b = span[0] - start, span[1] - start
    return f"{quote[:a]}\033[1;4m{quote[a:b]}\033[0m{quote[b:]}"


def citation_line(c) -> str:
    """``Title — Source, 2021-03-25, by Author`` (unknown parts left out), plus
    ``[earlier report (DATE)]`` for an older report of a revised figure."""
    meta = ", ".join(p for p in (c.source, c.date, f"by {c.author}" if c.author else None) if p)
    line = f"{c.title} — {meta}" if meta else c.title
    if c.earlier_report:
        line += f" [earlier report ({c.date})]"
    return line


def report_line(r) -> str:
    return ", ".join(p for p in (r.source or r.title, r.date) if p)


def run_chat(ask: Callable, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout,
             history_file: Path | None = None, banner: str = "") -> int:
    """The conversation loop. ``ask(question, history)`` answers one turn (an
    ``Assistant.ask`` with the options bound). Returns the exit code."""
    from ..errors import AssistantError

    if banner:
        print(banner, file=out)
    print(HELP, file=out, flush=True)
    history: list[str] = []
    for line in _lines(stdin, out, history_file):
        text = line.strip()
        if not text:
            continue
        command = text.lower()
        if command in ("/quit", "/exit", "/q"):
            break
        if command == "/clear":
            history.clear()
            print("(new conversation)", file=out, flush=True)
            continue
        if command in ("/help", "/?"):
            print(HELP, file=out, flush=True)
            continue
        try:
            answer = ask(text, list(history))
        except AssistantError as e:
            print(f"error: {e}", file=out, flush=True)
            continue
        history.append(text)
        print(format_answer(answer) + "\n", file=out, flush=True)
    return 0


def _lines(stdin: TextIO, out: TextIO, history_file: Path | None) -> Iterator[str]:
    if not (stdin is sys.stdin and stdin.isatty()):
        yield from (line.rstrip("\n") for line in stdin)
        return
    try:
        import readline
    except ImportError:  # pragma: no cover - platforms without readline
        readline = None
    if readline is not None and history_file is not None:
        try:
            readline.read_history_file(history_file)
        except OSError:
            pass
    try:
        while True:
            try:
                yield input("\nyou> ")
            except EOFError:
                print(file=out)
                return
            except KeyboardInterrupt:
                print("\n(Ctrl-C: type /quit to leave)", file=out)
    finally:
        if readline is not None and history_file is not None:
            try:
                history_file.parent.mkdir(parents=True, exist_ok=True)
                readline.set_history_length(1000)
                readline.write_history_file(history_file)
            except OSError:
                pass
