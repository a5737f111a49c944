"""``assistant`` command line: a thin shell over build_index, Assistant and eval.
Heavy modules are imported inside each subcommand; user-facing errors become one line
on stderr and a non-zero exit code, never a traceback."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    from ..settings import BACKENDS, INDEX_TYPES, RETRIEVERS

    backend_help = "embedding runtime: auto (ONNX when ready, default), onnx or torch (sentence-transformers)"

    p = argparse.ArgumentParser(prog="assistant", description="Answer questions about news articles, with cited quotes.")
    sub = p.add_subparsers(dest="command", required=True)

    ix = sub.add_parser("index", help="build or update the index from a corpus (only new or changed articles are embedded)")
    ix.add_argument("--corpus", default="corpus", help="folder of .txt/.md/.html articles, a BEIR .jsonl or a SQuAD .json (default: corpus/)")
    ix.add_argument("--index", default="index", help="index folder (default: index/)")
    ix.add_argument("--model", default=None, help="sentence-transformers model name or path (default: the packaged all-MiniLM-L6-v2)")
    ix.add_argument("--index-type", choices=INDEX_TYPES, default=None, 
                    help="auto (default: flat below 200,000 chunks, else ivfpq), flat (exact), "
                         "ivfpq (compressed + exact re-ranking: large corpora, little memory) or hnsw (approximate, all vectors in memory)")
    ix.add_argument("--allow-download", action="store_true", help="let --model fetch a model from the Hugging Face hub (needs network)")
    ix.add_argument("--backend", choices=BACKENDS, default=None, help=backend_help)
    ix.add_argument("--quiet", action="store_true", help="no progress bars")
    ix.add_argument("--ray", default=None, metavar="auto|ADDRESS",
                    help="chunk and embed on a Ray cluster (needs the scale extra): auto (the cluster on this machine, "
                         "or a new local one) or its address (host:6379, ray://host:10001)")
    ix.add_argument("--ray-workers", type=int, default=None, metavar="N",
                    help="encoder actors on the Ray cluster (default: one per CPU)")

    ask = sub.add_parser("ask", help="ask a question")
    ask.add_argument("question")
    ask.add_argument("--index", default="index", help="index folder (default: index/)")
    ask.add_argument("--k", type=int, default=None, help="passages to answer from (default: 5)")
    ask.add_argument("--history", action="append", default=[], metavar="TURN",
                     help="an earlier question of the conversation; repeat the flag for each, oldest first")
    ask.add_argument("--as-of", default=None, metavar="YYYY-MM-DD", help="the date 'now' means for 'last week', 'latest', ... (default: today)")
    ask.add_argument("--since", default=None, metavar="YYYY-MM-DD", help="search only articles published on or after this date")
    ask.add_argument("--until", default=None, metavar="YYYY-MM-DD", help="search only articles published on or before this date")
    ask.add_argument("--retriever", choices=RETRIEVERS, default=None, help="hybrid (default), dense or bm25")
    ask.add_argument("--backend", choices=BACKENDS, default=None, help=backend_help)
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--llm", default=None, metavar="URL",
                    help="also write an answer with your model server (OpenAI-compatible base URL, e.g. "
                         "http://127.0.0.1:8080/v1; env ASSISTANT_LLM_URL), each sentence checked: docs/llm.md")

    ch = sub.add_parser("chat", help="a conversation in the terminal (follow-ups, /clear, /quit); loads everything once")
    ch.add_argument("--index", default="index", help="index folder (default: index/)")
    ch.add_argument("--k", type=int, default=None, help="passages to answer from (default: 5)")
    ch.add_argument("--as-of", default=None, metavar="YYYY-MM-DD", help="the date 'now' means (default: today)")
    ch.add_argument("--retriever", choices=RETRIEVERS, default=None, help="hybrid (default), dense or bm25")
    ch.add_argument("--backend", choices=BACKENDS, default=None, help=backend_help)
    ch.add_argument("--llm", default=None, metavar="URL",
                    help="also write an answer with your model server (OpenAI-compatible base URL, e.g. "
                         "http://127.0.0.1:8080/v1; env ASSISTANT_LLM_URL), each sentence checked: docs/llm.md")

    pm = sub.add_parser("prepare-model", help="export the embedding model to ONNX once and check it (make setup runs it)")
    pm.add_argument("--model", default=None, help="model name or path (default: the packaged all-MiniLM-L6-v2)")

    ev = sub.add_parser("eval", help="run an evaluation set and report retrieval and answer metrics")
    ev.add_argument("file", metavar="FILE",
                   help="eval set: JSONL (id, question, answers, gold_doc_ids, history?) or SQuAD v1.1/v2.0 JSON")
    where = ev.add_mutually_exclusive_group()
    where.add_argument("--index", metavar="DIR", default=None,
                       help="index to evaluate (default: the SQuAD file's own articles, else --corpus, else index/)")
    where.add_argument("--corpus", metavar="PATH", default=None,
                       help="corpus to index into a cache directory and evaluate (JSONL eval sets)")
    ev.add_argument("--k", type=int, default=None, help="passages retrieved per question (default: settings)")
    ev.add_argument("--out", metavar="REPORT.json", default=None, help="write the JSON report here")
    ev.add_argument("--csv", metavar="ROWS.csv", default=None, help="write one CSV row per question here")
    ev.add_argument("--fail-under", metavar="METRIC=VALUE", action="append", default=[], dest="fail_under",
                   help="exit 1 when METRIC is below VALUE (above it for false_abstention_rate and "
                             "latency_ms_*); repeatable, e.g. --fail-under hit@5=0.9")
    ev.add_argument("--retriever", choices=RETRIEVERS, default=None, help="retriever (default: hybrid)")
    ev.add_argument("--model", default=None, help="embedding model used when an index is built for the eval")
    ev.add_argument("--as-of", default=None, metavar="YYYY-MM-DD", dest="as_of",
                   help="the date 'now' means for questions without their own \"as_of\" (default: today)")
    ev.add_argument("--llm", default=None, metavar="URL",
                    help="also score written answers from your model server (OpenAI-compatible base URL, e.g. "
                         "http://127.0.0.1:8080/v1; env ASSISTANT_LLM_URL), each sentence checked: docs/llm.md")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from ..errors import AssistantError

    from ..runtime import quiet_libraries

    args = _parser().parse_args(argv)
    quiet_libraries()
    try:
        return {"index": _index, "ask": _ask, "eval": _eval, "prepare-model": _prepare_model, "chat": _chat}[args.command](args)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: the previous index (if any) is unchanged.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`assistant ask … | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 0


def _index(args) -> int:
    from ..store.build import build_index
    from ..errors import AssistantError
    from ..settings import settings_from_env

    from ..embed.factory import encoder_from_settings

    settings = settings_from_env(model=args.model, index_type=args.index_type, backend=args.backend)
    embedder = None
    if args.ray:  # Ray is imported only here
        from ..store.distributed import ray_embedder

        if args.ray_workers is not None and args.ray_workers < 1:
            raise AssistantError(f"--ray-workers must be at least 1 (got {args.ray_workers}).")
        embedder = ray_embedder(args.ray, args.ray_workers, log=lambda m: print(m, file=sys.stderr))
    report = build_index(args.corpus, args.index, settings, progress=not args.quiet, embedder=embedder,
                         encoder_factory=lambda: encoder_from_settings(settings, allow_download=args.allow_download,
                                                                       log=lambda m: print(m, file=sys.stderr)),
                         log=lambda m: print(m, file=sys.stderr))
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(
        f"indexed {args.corpus} into {args.index}/: {report.added} added, {report.changed} changed, "
        f"{report.removed} removed, {report.unchanged} unchanged; {report.chunks} chunks "
        f"({report.embedded_chunks} embedded) in {report.seconds:.1f}s"
    )
    print(collapse_summary(report))
    return 0


def _ask(args) -> int:
    from ..engine import Assistant
    from ..answer.recency import describe_scope
    from ..search.timeparse import explicit_range, parse_as_of
    from ..settings import settings_from_env

    from ..engine import check_question

    settings = settings_from_env(k=args.k, retriever=args.retriever, backend=args.backend)
    check_question(args.question, settings)  # before the slow model load
    parse_as_of(args.as_of)
    explicit_range(args.since, args.until)
    writer = _writer(args)  # None (and nothing imported) unless --llm / ASSISTANT_LLM_URL
    assistant = Assistant.open(args.index, settings)
    answer = assistant.ask(args.question, history=args.history, k=args.k, as_of=args.as_of,
                           since=args.since, until=args.until)
    if writer:
        answer = writer(answer, assistant.articles, args.history)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    from .chat import format_answer

    print(format_answer(answer))
    return 0


def _llm_url(args) -> str | None:
    return getattr(args, "llm", None) or os.environ.get("ASSISTANT_LLM_URL") or None


def _writer(args):
    """``write(answer, articles, history) -> answer`` with the checked written answer, or
    None when no model server is configured (then nothing of it is imported)."""
    if not _llm_url(args):
        return None
    from ..generate import ChatClient, config_from_env, write_answer

    client = ChatClient(config_from_env(url=args.llm))
    return lambda answer, articles, history=(): write_answer(answer, articles, client, history)


def _chat(args) -> int:
    from .chat import run_chat
    from ..embed.onnx_runtime import default_cache_dir
    from ..engine import LiveAssistant
    from ..settings import settings_from_env
    from ..search.timeparse import parse_as_of

    settings = settings_from_env(k=args.k, retriever=args.retriever, backend=args.backend)
    parse_as_of(args.as_of)
    writer = _writer(args)
    assistant = LiveAssistant.open(args.index, settings)  # a rebuild meanwhile is answered from at the next question
    n = len(assistant.articles)
    banner = f"Chatting with {n} article{'s' if n != 1 else ''} in {args.index}/."

    def ask(q, h):
        answer = assistant.ask(q, history=h, k=args.k, as_of=args.as_of)
        return writer(answer, assistant.articles, h) if writer else answer

    return run_chat(ask, history_file=default_cache_dir().parent / "chat_history", banner=banner)


def collapse_summary(report) -> str:
    """One line on the near-duplicate copies collapsed at index time."""
    if not report.collapsed:
        return "near-duplicates: none (every article is indexed)"
    n = sum(len(c) for _, c in report.collapsed)
    groups = "; ".join(f"{rep} kept, {', '.join(copies)} collapsed" for rep, copies in report.collapsed[:5])
    more = f"; … {len(report.collapsed) - 5} more groups" if len(report.collapsed) > 5 else ""
    return f"near-duplicates: {n} cop{'y' if n == 1 else 'ies'} collapsed into {len(report.collapsed)} article(s): {groups}{more}"


def _prepare_model(args) -> int:
    from ..embed.factory import encoder_from_settings
    from ..settings import settings_from_env

    settings = settings_from_env(model=args.model, backend="onnx")
    encoder = encoder_from_settings(settings, log=lambda m: print(m, file=sys.stderr))
    print(f"ONNX model for {encoder.name} is ready (checked against sentence-transformers).")
    return 0


def _eval(args) -> int:
    from ..evaluation.evaluate import evaluate_file
    from ..settings import settings_from_env

    settings = settings_from_env(model=args.model, k=args.k, retriever=args.retriever)
    llm = None
    if _llm_url(args):
        from ..generate import config_from_env

        llm = config_from_env(url=args.llm)
    return evaluate_file(args.file, index=args.index, corpus=args.corpus, k=args.k, retriever=args.retriever,
                         as_of=args.as_of, fail_under=args.fail_under, out_json=args.out, out_csv=args.csv,
                         settings=settings, cache_root=eval_cache_root(os.environ), llm=llm)


def eval_cache_root(environ) -> Path:
    """Where ``assistant eval --corpus`` keeps the indexes it builds: ``ASSISTANT_CACHE_DIR``,
    else the user cache folder (``$XDG_CACHE_HOME/news-assistant``, ``~/.cache/news-assistant``),
    never the folder the command runs from."""
    from ..embed.onnx_runtime import default_cache_dir

    return Path(environ.get("ASSISTANT_CACHE_DIR") or default_cache_dir(environ).parent)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
