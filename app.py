"""Start the web chat: ``python app.py [--host H] [--port P] [--index DIR] [--corpus DIR] [--model NAME]
[--users FILE] [--read-only] [--allow-unprotected]``.

Host and port also come from ASSISTANT_HOST / ASSISTANT_PORT (default 127.0.0.1:7860).
Listening on any address but this machine's needs --users (sign-in; editors change the
library) or --allow-unprotected; docs/operating.md says how to run it for others.
Before launching, the index is brought up to date with the corpus: built when missing,
updated when articles changed (unchanged corpora cost a hash check, no model load)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence


def _port(raw: str) -> int:
    """A TCP port number (argparse turns the error into one line and exit 2)."""
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number (0-65535); set --port or ASSISTANT_PORT to one")
    return port


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Chat with the articles in your browser.")
    p.add_argument("--host", default=environ.get("ASSISTANT_HOST") or "127.0.0.1", help="address to listen on (env ASSISTANT_HOST; default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=environ.get("ASSISTANT_PORT") or "7860", help="port (env ASSISTANT_PORT; default 7860)")
    p.add_argument("--index", default="index", help="index folder (default: index/)")
    p.add_argument("--corpus", default="corpus", help="corpus the index is built from when missing or stale (default: corpus/)")
    p.add_argument("--model", default=None, help="embedding model for a new index (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--users", default=environ.get("ASSISTANT_USERS_FILE") or None, metavar="FILE",
                   help="sign-in for the page and its API: one name:password per line, name:password:editor for "
                        "those who may add and remove articles (env ASSISTANT_USERS_FILE)")
    p.add_argument("--read-only", action="store_true", default=_flag(environ.get("ASSISTANT_READ_ONLY")),
                   help="nobody may add or remove articles from the page (env ASSISTANT_READ_ONLY=1)")
    p.add_argument("--allow-unprotected", action="store_true",
                   help="listen beyond 127.0.0.1 without --users (only behind a proxy that signs people in)")
    p.add_argument("--llm", default=None, metavar="URL",
                   help="also write answers with your model server (OpenAI-compatible base URL; env ASSISTANT_LLM_URL), "
                        "each sentence checked against the passages: docs/llm.md")
    return p


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    args = _parser(environ).parse_args(argv)
    from assistant.runtime import quiet_libraries

    quiet_libraries()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)  # some libraries set their own loggers to DEBUG on import
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])

    from assistant.web.access import Access, check_exposure, load_users
    from assistant.errors import AssistantError

    t0 = time.perf_counter()
    try:
        access = load_users(args.users, args.read_only) if args.users else Access(read_only=args.read_only)
        check_exposure(args.host, access, args.allow_unprotected)  # before the slow index check
        llm = None
        if args.llm or environ.get("ASSISTANT_LLM_URL"):  # written answers: only when configured
            from assistant.generate import ChatClient, config_from_env

            llm = ChatClient(config_from_env(environ, url=args.llm))
            print(f"Written answers from {llm.config.shown_url}, each sentence checked against the passages.", flush=True)
        assistant, settings = _prepare(args, environ)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from assistant.web.ui import build_app, launch_options

    app = build_app(assistant, settings, corpus_dir=args.corpus if Path(args.corpus).is_dir() else None,
                    index_dir=args.index, access=access, llm=llm)
    signin = f", sign-in for {len(access.users)} user(s)" if access.protected else ""
    print(f"Loaded {len(assistant.articles)} articles in {time.perf_counter() - t0:.1f}s{signin}"
          f"{'; library read-only' if access.read_only else ''}; "
          f"open http://{args.host}:{args.port} in your browser (Ctrl+C to stop).", flush=True)
    try:
        app.launch(server_name=args.host, server_port=args.port, **launch_options(settings, access))
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port} ({e}); choose another port with --port or ASSISTANT_PORT.", file=sys.stderr)
        return 2
    return 0


def _prepare(args, environ):
    """Bring the index up to date with the corpus (if there is one), then open it.
    The model is loaded at most once, and only when something must be embedded or asked."""
    from assistant.store.build import build_index
    from assistant.embed.factory import encoder_from_settings
    from assistant.engine import Assistant
    from assistant.errors import CorpusError
    from assistant.settings import settings_from_env

    settings = settings_from_env(environ, model=args.model)
    loaded = {}

    def encoder_factory():
        if "encoder" not in loaded:
            print(f"Loading model {settings.model}…", flush=True)
            loaded["encoder"] = encoder_from_settings(settings, log=lambda m: print(m, flush=True))
        return loaded["encoder"]

    index_exists = (Path(args.index) / "manifest.json").exists()
    if Path(args.corpus).exists():
        print("Building index…" if not index_exists else "Checking the index against the corpus…", flush=True)
        report = build_index(args.corpus, args.index, settings, encoder_factory=encoder_factory, progress=True,
                             log=lambda m: print(m, file=sys.stderr))
        for w in report.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if report.added or report.changed or report.removed:
            print(f"Index {args.index}/: {report.added} added, {report.changed} changed, {report.removed} removed, "
                  f"{report.unchanged} unchanged; {report.chunks} chunks ({report.embedded_chunks} embedded) "
                  f"in {report.seconds:.1f}s", flush=True)
            if report.collapsed:
                from assistant.cli.commands import collapse_summary

                print(collapse_summary(report), flush=True)
        else:
            print(f"Index {args.index}/ is up to date ({report.unchanged} articles, {report.chunks} chunks).", flush=True)
    elif not index_exists:
        raise CorpusError(f"Neither an index in {args.index}/ nor a corpus at {args.corpus} exists: "
                          "put articles in corpus/ or pass --corpus PATH.")
    return Assistant.open(args.index, settings, encoder=loaded.get("encoder")), settings


if __name__ == "__main__":
    sys.exit(main())
