"""The web UI: ``build_app(assistant, settings) -> gr.Blocks``. A thin shell over
``assistant.ask``: each browser tab keeps its own conversation in ``gr.State``; the HTML
comes from ``render``; errors become polite messages, never tracebacks.

One ``Library`` serves every tab. Each tab reads the article list, counts, examples and
the searchable set from it when the page loads, after each change, and every few seconds
when another tab (or ``assistant index`` on the command line) changed the articles; a tab
remembers which articles it has shown (``known``), so an article added since is searched
even before its list is refreshed, and the articles a user unticked stay unticked."""
from __future__ import annotations

import json
import logging
from typing import Any, Sequence

from ..errors import AssistantError
from ..settings import Settings
from .assets import CSS, JS, LIB_CSS, page_theme  # noqa: F401  (page_theme: app.py launches with it)
from .render import Turn, render_conversation, render_library, render_whole_article
from .written import CSS as WRITTEN_CSS

log = logging.getLogger(__name__)

MAX_FILTER_ARTICLES = 50  # above this the per-article checkboxes are not shown (all are searched)
GENERIC_ERROR = "Sorry, something went wrong while answering. Please try again or rephrase the question."
NO_ARTICLES = "No articles are selected. Open Settings and tick at least one article to search."
REFRESH_SECONDS = 5  # how often an open tab checks whether the articles changed (a cheap version check)


def written_turns(turns: Sequence[Turn], index: int, articles, llm, history: Sequence[str]):
    """``turns`` again and again as the written answer of ``turns[index]`` streams in
    (the quoted answer first, then the text so far, at most every 0.15 s, then the checked
    sentences). Without a new answered turn, ``turns`` once. Never raises: an unexpected
    fault ends in the quoted answer with the one-line notice."""
    import time
    from dataclasses import replace

    from ..generate.written import Generated, fallback, stream_written

    turns = tuple(turns)
    if len(turns) <= index or turns[index].answer is None:
        yield turns
        return
    turn, answer = turns[index], turns[index].answer

    def with_(g):
        return turns[:index] + (replace(turn, answer=replace(answer, generated=g)),) + turns[index + 1:]

    yield with_(Generated("streaming"))
    shown, last = 0.0, None
    try:
        for last in stream_written(answer, articles, llm, history):
            if last.status == "streaming" and time.monotonic() - shown < 0.15:
                continue
            shown = time.monotonic()
            yield with_(last)
    except Exception:  # never a traceback in the page; the quoted answer stands
        log.exception("written answer failed")
        yield with_(fallback("an unexpected error while writing"))
        return
    if last is not None and last.status == "streaming":  # pragma: no cover - stream_written always ends checked
        yield with_(fallback("the reply was not checked"))


def _parse_history(history: Any) -> list[str]:
    """The API accepts the history as a list of strings or a JSON string of one."""
    if history is None or history == "":
        return []
    if isinstance(history, str):
        try:
            history = json.loads(history)
        except (json.JSONDecodeError, RecursionError):
            raise AssistantError('history must be a list of previous questions, e.g. ["How many work there?"].')
    if not isinstance(history, (list, tuple)) or not all(isinstance(h, str) for h in history):
        raise AssistantError('history must be a list of previous questions, e.g. ["How many work there?"].')
    return list(history)


def _parse_k(k: Any) -> int | None:
    """The API's ``k``: None or "" for the default, else a whole number (0 is refused by
    the engine like on the command line, never silently replaced)."""
    if k is None or k == "":
        return None
    try:
        number = float(k)
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer():
        raise AssistantError(f"k must be a whole number between 1 and 50 (got {k!r}).")
    return int(number)


def launch_options(settings: Settings | None = None, access=None) -> dict:
    """What ``app.launch`` needs besides host and port: the upload route's own size limit
    (Gradio refuses a larger file while it streams in), the theme and, with users, the sign-in."""
    settings = settings or Settings()
    options = {"max_file_size": settings.max_upload_bytes, "show_error": False, "quiet": True,
               "theme": page_theme()}  # the system's fonts: the page loads nothing from the network
    if access is not None and access.protected:
        options["auth"] = access.check
        options["auth_message"] = "Sign in to ask the articles."
    return options


def _remove_uploaded(path) -> None:
    """Remove an upload from Gradio's temporary folder (and its folder, if now empty)."""
    from pathlib import Path

    p = Path(path)
    try:
        p.unlink(missing_ok=True)
        p.parent.rmdir()
    except OSError:
        pass


def build_app(assistant, settings: Settings | None = None, corpus_dir=None, index_dir=None, access=None, llm=None):
    """The Gradio app over an opened ``Assistant`` (anything with ``ask`` and ``articles``).
    With ``corpus_dir`` and ``index_dir``, articles can be uploaded, removed (to a trash
    folder, after a confirmation) and restored from the page, by those ``access`` lets edit
    (access.py; None: everyone, as on one's own machine).
    With ``llm`` (a ``generate.ChatClient``), a written answer streams in above the quoted
    one and each of its sentences is then marked supported or not (``written_turns``).
    Up to ``settings.concurrency`` questions (page and API together) are answered at once:
    the engine is read-only, so one slow question does not hold up the others. Launch it
    with ``launch_options(settings, access)``."""
    import gradio as gr

    from .access import Access
    from .examples import example_questions
    from .library import ALLOWED, Library

    settings = settings or getattr(assistant, "settings", None) or Settings()
    access = access or Access()
    lib = Library(assistant, corpus_dir, index_dir, settings)
    max_upload = lib.max_upload_bytes

    def may_edit(request) -> str | None:
        """None when this request's user may change the library, else why not."""
        name = getattr(request, "username", None)
        return None if access.can_edit(name) else access.edit_refusal(name)
    default_k = max(1, min(10, settings.k))

    def titles_now():  # the index keeps titles in memory; texts are read only when shown
        arts = lib.articles
        return getattr(arts, "titles", None) or {d: arts[d].title for d in arts}

    def ids():
        titles = titles_now()
        copies = {c for cs in (getattr(lib.current(), "copies", {}) or {}).values() for c in cs}
        return sorted((d for d in titles if d not in copies), key=lambda d: (titles[d].lower(), d))

    def examples_now():
        return [[q] for q in example_questions(lib.articles, getattr(lib.current(), "copies", {}))]

    def header():
        n = len(ids())
        return ("## Ask the articles\n"
                f"Questions are answered only from {n} stored article{'s' if n != 1 else ''}, with word-for-word "
                "quotes, each with its date and source. Follow-up questions use the conversation; "
                "time words (“last week”, “in March”, “latest”) choose the dates searched.")

    def chosen(doc_ids, known) -> list[str]:
        """The articles this tab searches: every current one but those it showed and the user
        unticked (an article added since the tab last refreshed is searched too)."""
        all_ids = ids()
        if known is None:
            known = all_ids
        unticked = set(known) - set(doc_ids or ())
        return [d for d in all_ids if d not in unticked]

    def respond(question: str, turns: Sequence[Turn], k: float, doc_ids: Sequence[str] | None,
                as_of: str = "", since: str = "", until: str = "", known: Sequence[str] | None = None):
        question = question if isinstance(question, str) else ""
        turns = tuple(turns or ())
        current = lib.assistant  # one generation of the index for the whole question
        articles = current.articles
        if not question.strip():  # nothing asked: no turn, the box as it was
            return render_conversation(turns, articles), turns, question
        all_ids = ids()
        show_filter = len(all_ids) <= MAX_FILTER_ARTICLES
        history = [t.question for t in turns if t.answer is not None]
        keep = ""
        search = chosen(doc_ids, known) if show_filter else all_ids
        if show_filter and (not doc_ids or not search):
            turn = Turn(question, notice=NO_ARTICLES)
        else:
            selected = None if len(search) == len(all_ids) else search
            dates = {k_: v.strip() for k_, v in (("as_of", as_of), ("since", since), ("until", until))
                     if isinstance(v, str) and v.strip()}
            try:
                turn = Turn(question, answer=current.ask(question, history=history, k=int(k), doc_ids=selected, **dates))
            except AssistantError as e:
                turn = Turn(question, notice=str(e))
                keep = question  # rejected: the text stays in the box to be fixed
            except Exception:  # never show a traceback in the page
                log.exception("ask failed")
                turn = Turn(question, notice=GENERIC_ERROR)
        turns = turns + (turn,)
        return render_conversation(turns, articles), turns, keep

    def whole_article(ref: Any) -> str:
        """HTML of one article of this index with its quotes highlighted (escaped text, or
        "" for an unknown id). The page calls it with ``[doc_id, start, end, "s-e,s-e"]``
        (the spans optional) when an earlier turn's "Open the whole article" is clicked."""
        try:
            doc_id, start, end, *rest = ref
            spans = [(int(start), int(end))]
            if rest and rest[0]:
                spans = [tuple(int(x) for x in part.split("-")) for part in str(rest[0]).split(",")]
        except (TypeError, ValueError):
            return ""
        article = lib.articles.get(doc_id) if isinstance(doc_id, str) else None
        return render_whole_article(article, spans)

    def clear():
        return render_conversation((), lib.articles), (), ""

    def ask(question: str, history: list[str], k: int, doc_ids: list[str], as_of: str = "",
            since: str = "", until: str = "") -> dict:
        """Answer a question about the articles. history: the previous questions of the
        conversation (oldest first); k: number of passages; doc_ids: articles to search
        (empty = all); as_of: the date "now" means (YYYY-MM-DD, empty = today); since/until:
        publication dates to search (YYYY-MM-DD, empty = any). Returns the same JSON as
        `assistant ask --json`."""
        dates = {k_: v.strip() for k_, v in (("as_of", as_of), ("since", since), ("until", until))
                 if isinstance(v, str) and v.strip()}
        try:
            answer = lib.current().ask(
                question if isinstance(question, str) else "",
                history=_parse_history(history),
                k=_parse_k(k),
                doc_ids=list(doc_ids) if doc_ids else None,
                **dates,
            )
            if llm is not None:
                from ..generate import write_answer

                answer = write_answer(answer, lib.articles, llm, _parse_history(history))
        except AssistantError as e:
            raise gr.Error(str(e))
        except Exception:
            log.exception("api ask failed")
            raise gr.Error(GENERIC_ERROR)
        return answer.to_dict()

    def respond_written(question, turns, k, doc_ids, as_of="", since="", until="", known=None):
        """``respond``, then the written answer streamed into the new turn (``llm`` set)."""
        before = len(tuple(turns or ()))
        html, done, keep = respond(question, turns, k, doc_ids, as_of, since, until, known)
        history = [t.question for t in done[:before] if t.answer is not None]
        for now in written_turns(done, before, lib.articles, llm, history):
            yield render_conversation(now, lib.articles), now, keep

    # delete_cache: uploads nothing read (a client calling the upload route alone) go within two hours
    with gr.Blocks(title="Ask the articles", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        head = gr.Markdown(header(), elem_id="header")
        turns = gr.State(())
        known = gr.State(tuple(ids()))  # the articles this tab has listed
        seen = gr.State(lib.version)  # the library version this tab shows
        pending = gr.State(None)  # the change waiting for "Yes" in the confirmation
        chat = gr.HTML(
            render_conversation((), lib.articles),
            css_template=CSS + (WRITTEN_CSS if llm is not None else ""),
            js_on_load=JS,
            server_functions=[whole_article],
            elem_id="chat",
            container=True,
            padding=False,
        )
        with gr.Row():
            question = gr.Textbox(
                show_label=False,
                container=False,
                placeholder="Your question…",
                scale=6,
                min_width=320,  # on a phone the buttons wrap below and the box gets the full width
                lines=1,
                max_lines=4,
                elem_id="question",
                autofocus=True,
            )
            ask_btn = gr.Button("Ask", variant="primary", scale=0, min_width=80, elem_id="ask")
            clear_btn = gr.Button("Clear", variant="secondary", scale=0, min_width=80, elem_id="clear")
        examples = gr.Dataset(
            components=["textbox"],
            samples=examples_now(),
            label="Examples, made from the newest articles (click one)",
            type="values",
            elem_id="examples",
        )
        all_ids = ids()
        show_filter = len(all_ids) <= MAX_FILTER_ARTICLES
        with gr.Accordion("Settings", open=False, elem_id="settings"):
            k = gr.Slider(1, 10, value=default_k, step=1, label="Number of passages to search")
            with gr.Row():
                since = gr.Textbox(label="Published since (YYYY-MM-DD)", placeholder="any", elem_id="since", min_width=140)
                until = gr.Textbox(label="Published until (YYYY-MM-DD)", placeholder="any", elem_id="until", min_width=140)
                as_of = gr.Textbox(label="As of (what “last week” is relative to)", placeholder="today",
                                   elem_id="as-of", min_width=140)
            docs = gr.CheckboxGroup(
                choices=[(titles_now()[d], d) for d in all_ids],
                value=list(all_ids),
                label="Articles to search",
                elem_id="docs",
                visible=show_filter,
            )
            all_note = gr.Markdown(f"All {len(all_ids)} articles are searched.", visible=not show_filter,
                                   elem_id="all-searched")
        with gr.Accordion("Articles", open=False, elem_id="articles"):
            listing = gr.HTML(render_library(lib.rows()), css_template=LIB_CSS, elem_id="article-list")
            status = gr.Markdown("", elem_id="library-status")
            view = [head, docs, all_note, listing, examples, known, seen]
            if lib.manageable and not access.read_only:
                upload = gr.File(label=f"Add articles ({', '.join(ALLOWED)}; up to {max_upload / 1_000_000:g} MB and "
                                       f"{settings.max_article_chars:,} characters each)",
                                 file_count="multiple", elem_id="upload")  # types checked on the server, with a reason
                with gr.Row():
                    remove_choice = gr.Dropdown(choices=[], value=None, label="Article to remove", elem_id="remove-choice",
                                                min_width=240)
                    remove_btn = gr.Button("Remove…", variant="stop", scale=0, min_width=100, elem_id="remove")
                with gr.Group(visible=False, elem_id="confirm") as confirm:
                    confirm_text = gr.Markdown("", elem_id="confirm-text")
                    with gr.Row():
                        yes_btn = gr.Button("Yes", variant="stop", scale=0, min_width=100, elem_id="confirm-yes")
                        no_btn = gr.Button("Cancel", variant="secondary", scale=0, min_width=100, elem_id="confirm-no")
                with gr.Row():
                    trash_choice = gr.Dropdown(choices=[], value=None, label="Trash (removed articles)",
                                               elem_id="trash-choice", min_width=240)
                    restore_btn = gr.Button("Restore", variant="secondary", scale=0, min_width=100, elem_id="restore")
                    empty_btn = gr.Button("Empty trash…", variant="secondary", scale=0, min_width=100, elem_id="empty-trash")
                view += [remove_choice, trash_choice]
            elif access.read_only:
                gr.Markdown("The library is read-only on this server.")
            else:
                gr.Markdown("Start the app with a corpus folder (`python app.py --corpus DIR`) to add or remove articles here.")

        editable = lib.manageable and not access.read_only

        def library_view(doc_ids, known_ids, message: str | None = None) -> dict:
            """Every part of the page that shows the library, read from it now; ``message``
            goes to the status line (None leaves it)."""
            all_ids = ids()
            titles = titles_now()
            show = len(all_ids) <= MAX_FILTER_ARTICLES
            out = {
                head: header(),
                docs: gr.update(choices=[(titles[d], d) for d in all_ids], value=chosen(doc_ids, known_ids), visible=show),
                all_note: gr.update(value=f"All {len(all_ids)} articles are searched.", visible=not show),
                listing: render_library(lib.rows()),
                examples: gr.update(samples=examples_now()),
                known: tuple(all_ids),
                seen: lib.version,
            }
            if editable:
                out[remove_choice] = gr.update(choices=[(f"{titles[d]} ({d})", d) for d in all_ids], value=None)
                out[trash_choice] = gr.update(choices=[(f"{t.title} (removed {t.removed})", t.key) for t in lib.trashed()],
                                              value=None)
            if message is not None:
                out[status] = message
            return out

        def on_load(doc_ids, known_ids):
            return library_view(doc_ids, known_ids)

        def on_tick(doc_ids, known_ids, seen_version):
            lib.current()  # picks up an index rebuilt from the command line
            if seen_version == lib.version:
                return {}  # nothing changed: the page is left as it is
            return library_view(doc_ids, known_ids)

        # every tab: read the library when the page loads, and keep it current
        app.load(on_load, inputs=[docs, known], outputs=view, api_visibility="private")
        timer = gr.Timer(REFRESH_SECONDS)
        timer.tick(on_tick, inputs=[docs, known, seen], outputs=view, api_visibility="private",
                   show_progress="hidden", concurrency_limit=None, queue=False)

        if editable:
            def change_library(change, done: str, unchanged: str):
                """(message, ok): a bad article is the user's to fix, anything else is logged
                (the build is atomic)."""
                try:
                    return change(), True
                except AssistantError as e:
                    return f"Not {done}: {e}", False
                except Exception:
                    log.exception("library change failed (not %s)", done)
                    return f"Not {done}: indexing failed; {unchanged}.", False

            def on_upload(files, doc_ids, known_ids, request=None, progress=gr.Progress(track_tqdm=True)):
                from pathlib import Path

                if not files:
                    return library_view(doc_ids, known_ids, "")
                items, refused = [], []
                why_not = may_edit(request)
                for f in files if isinstance(files, list) else [files]:
                    path = getattr(f, "name", f)
                    name = getattr(f, "orig_name", None) or str(path)
                    try:
                        if why_not:
                            continue
                        size = Path(path).stat().st_size
                        if size > max_upload:
                            refused.append(f"{Path(name).name}: {size:,} bytes is over the {max_upload:,}-byte limit: "
                                           "split it into smaller files.")
                            continue
                        items.append((name, Path(path).read_bytes()))
                    except OSError:
                        refused.append(f"{name}: the upload could not be read; try again.")
                    finally:
                        _remove_uploaded(path)  # read or refused: the library keeps its own copy
                if why_not:
                    return library_view(doc_ids, known_ids, f"Not added: {why_not}")
                progress(0, desc="Indexing")

                def add():
                    result = lib.upload(items, progress=True)
                    lines = []
                    if result.added:
                        titles = [lib.articles[d].title for d in result.added if d in lib.articles]
                        lines.append(f"Added and indexed {len(result.added)}: " + "; ".join(titles))
                    return "\n\n".join(lines + [f"Refused {r}" for r in [*refused, *result.refused]])

                message, ok = change_library(add, "added", "the previous articles are unchanged")
                out = library_view(doc_ids, known_ids, message)
                if ok:  # the box is emptied, so the next upload does not send these files again
                    out[upload] = None
                return out

            def hide_confirm():
                return {confirm: gr.update(visible=False), pending: None}

            def ask_remove(doc_id):
                if not doc_id or doc_id not in lib.articles:
                    return {status: "Choose an article to remove first.", **hide_confirm()}
                title = titles_now()[doc_id]
                return {confirm_text: f"Remove “{title}”? It is moved to the trash and no longer searched; "
                                      "you can restore it from the trash below until the trash is emptied.",
                        confirm: gr.update(visible=True), pending: ("remove", doc_id)}

            def ask_empty():
                n = len(lib.trashed())
                if not n:
                    return {status: "The trash is empty.", **hide_confirm()}
                return {confirm_text: f"Delete the {n} article{'s' if n != 1 else ''} in the trash for good? "
                                      "This cannot be undone.",
                        confirm: gr.update(visible=True), pending: ("empty",)}

            def on_confirm(action, doc_ids, known_ids, request=None, progress=gr.Progress(track_tqdm=True)):
                if not action:
                    return {**library_view(doc_ids, known_ids), **hide_confirm()}
                why_not = may_edit(request)
                if why_not:
                    done = "removed" if action[0] == "remove" else "emptied"
                    return {**library_view(doc_ids, known_ids, f"Not {done}: {why_not}"), **hide_confirm()}
                if action[0] == "remove":
                    message, _ = change_library(
                        lambda: f"Removed “{lib.remove(action[1], progress=True)}” and re-indexed; it is in the trash "
                                "until the trash is emptied.",
                        "removed", "the articles are unchanged")
                else:
                    n = lib.empty_trash()
                    message = f"Deleted {n} article{'s' if n != 1 else ''} from the trash for good."
                return {**library_view(doc_ids, known_ids, message), **hide_confirm()}

            def on_restore(key, doc_ids, known_ids, request=None, progress=gr.Progress(track_tqdm=True)):
                why_not = may_edit(request)
                if why_not:
                    return library_view(doc_ids, known_ids, f"Not restored: {why_not}")
                if not key:
                    return library_view(doc_ids, known_ids, "Choose an article in the trash to restore first.")
                message, _ = change_library(lambda: f"Restored “{lib.restore(key, progress=True)}” and re-indexed.",
                                            "restored", "the articles are unchanged")
                return library_view(doc_ids, known_ids, message)

            for handler in (on_upload, on_confirm, on_restore):  # Gradio passes the request (its user) by this annotation
                handler.__annotations__["request"] = gr.Request
            change = dict(api_visibility="private", concurrency_id="ask")
            lib_out = [*view, status]
            upload.upload(on_upload, inputs=[upload, docs, known], outputs=[*lib_out, upload], **change)
            remove_btn.click(ask_remove, inputs=[remove_choice], outputs=[status, confirm_text, confirm, pending],
                             api_visibility="private")
            empty_btn.click(ask_empty, outputs=[status, confirm_text, confirm, pending], api_visibility="private")
            no_btn.click(hide_confirm, outputs=[confirm, pending], api_visibility="private")
            yes_btn.click(on_confirm, inputs=[pending, docs, known], outputs=[*lib_out, confirm, pending], **change)
            restore_btn.click(on_restore, inputs=[trash_choice, docs, known], outputs=lib_out, **change)

        inputs = [question, turns, k, docs, as_of, since, until, known]
        common = dict(outputs=[chat, turns, question], api_visibility="private", concurrency_id="ask")
        answer_fn = respond if llm is None else respond_written
        question.submit(answer_fn, inputs=inputs, **common)
        ask_btn.click(answer_fn, inputs=inputs, **common)
        examples.click(
            lambda v, *rest: answer_fn(v[0] if isinstance(v, (list, tuple)) else v, *rest),
            inputs=[examples, turns, k, docs, as_of, since, until, known],
            **common,
        )
        clear_btn.click(clear, outputs=[chat, turns, question], api_visibility="private")
        gr.api(ask, api_name="ask", concurrency_id="ask")
    app.queue(default_concurrency_limit=settings.concurrency)
    return app
