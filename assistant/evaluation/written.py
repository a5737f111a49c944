"""``assistant eval --llm URL``: the usual answer metrics on what the page shows as the
written answer (its supported sentences and their verified passages; the quoted answer
when the model failed, the refusal when it refused), plus what the checker did: the share
of the model's sentences it supported, citations it corrected, unsupported sentences it
caught, fallbacks and refusals, and the time to the first token."""
from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any, Sequence

from . import metrics
from ..errors import AssistantError
from ..types import Answer
from ..generate.client import ChatClient, LLMConfig
from ..generate.written import Generated, stream_written

KEYS = ("n", "answer_recall", "citation_precision", "quote_exactness", "abstention_accuracy", "false_abstention_rate",
        "sentences", "supported_sentence_rate", "flagged_share", "corrected_citations", "unsupported_caught",
        "refusals", "fallbacks", "first_token_ms_p50", "total_ms_p50", "total_ms_p95")


def shown_answer(answer: Answer, g: Generated) -> Answer:
    """The answer a reader takes from the page: the supported written sentences (with the
    passages they cite), the refusal, or — after a fault — the quoted answer."""
    if g.status == "fallback":
        return answer
    if g.status == "refused" or not g.answer_text:
        return replace(answer, text=g.answer_text or "The passages do not answer this question.", abstained=True,
                       citations=())
    return replace(answer, text=g.answer_text, abstained=False, citations=g.citations)


def written_eval(questions: Sequence, assistant, config: LLMConfig | None = None, k: int | None = None,
                 as_of: str | None = None, progress: bool = True, client=None) -> dict[str, Any]:
    """{"summary": …, "questions": […]} for the written answers of ``questions``."""
    client = client or ChatClient(config)
    rows = []
    for i, q in enumerate(questions, 1):
        try:
            answer = assistant.ask(q.question, history=list(q.history), k=k, as_of=q.as_of or as_of)
        except AssistantError as e:
            rows.append({**metrics.score_question(q.answers, q.gold_doc_ids, None, assistant.articles),
                         "id": q.id, "status": "error", "error": str(e), "sentences": []})
            continue
        g = None
        for g in stream_written(answer, assistant.articles, client, list(q.history)):
            pass
        shown = shown_answer(answer, g)
        row = metrics.score_question(q.answers, q.gold_doc_ids, shown, assistant.articles, g.total_ms)
        claims = g.claims
        row.update({"id": q.id, "question": q.question, "status": g.status, "notice": g.notice or None,
                    "written": g.answer_text, "reply": g.text, "first_token_ms": g.first_token_ms,
                    "total_ms": g.total_ms, "n_claims": len(claims),
                    "n_supported": sum(1 for s in claims if s.supported),
                    "n_corrected": sum(1 for s in claims if s.corrected),
                    "sentences": [s.to_dict() for s in g.sentences]})
        rows.append(row)
        if progress:
            print(f"\rwritten answers: {i}/{len(questions)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return {"summary": summarize(rows), "questions": rows}


def summarize(rows: Sequence[dict]) -> dict[str, Any]:
    base = metrics.summarize([{**r, "latency_ms": r.get("total_ms")} for r in rows])
    claims = sum(r.get("n_claims", 0) for r in rows)
    supported = sum(r.get("n_supported", 0) for r in rows)
    firsts = [r["first_token_ms"] for r in rows if r.get("first_token_ms") is not None]
    totals = [r["total_ms"] for r in rows if r.get("total_ms") is not None and r.get("status") != "fallback"]

    def pct(values, q):
        v = metrics.percentile(values, q)
        return None if v is None else round(v, 1)

    return {
        "n": len(rows),
        "answer_recall": base["answer_recall"],
        "citation_precision": base["citation_precision"],
        "quote_exactness": base["quote_exactness"],
        "abstention_accuracy": base["abstention_accuracy"],
        "false_abstention_rate": base["false_abstention_rate"],
        "sentences": claims,
        "supported_sentence_rate": round(supported / claims, 4) if claims else None,
        "flagged_share": round((claims - supported) / claims, 4) if claims else None,
        "corrected_citations": sum(r.get("n_corrected", 0) for r in rows),
        "unsupported_caught": claims - supported,
        "refusals": sum(1 for r in rows if r.get("status") == "refused"),
        "fallbacks": sum(1 for r in rows if r.get("status") == "fallback"),
        "first_token_ms_p50": pct(firsts, 50),
        "total_ms_p50": pct(totals, 50),
        "total_ms_p95": pct(totals, 95),
    }


def format_summary(summary: dict[str, Any], model: str = "") -> str:
    width = max(len(k) for k in KEYS)
    lines = [f"written answers{f' ({model})' if model else ''}: the answer a reader takes from the page",
             f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 8}"]
    for key in KEYS:
        v = summary.get(key)
        shown = "null" if v is None else (str(v) if isinstance(v, int) else f"{v:.3f}" if v <= 1.0 and "ms" not in key
                                          else f"{v:.1f}")
        lines.append(f"{key:<{width}}  {shown}")
    return "\n".join(lines)
