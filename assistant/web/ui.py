"""The web UI: ``build_app(assistant, settings) -> gr.Blocks``. A thin shell over
``assistant.ask``: each browser tab keeps its own conversation in ``gr.State``; the HTML
comes from ``render``; errors become polite messages, never tracebacks."""
from __future__ import annotations

import json
import logging
from typing import Any, Sequence

from ..errors import AssistantError
from ..settings import Settings
from .render import Turn, render_conversation, render_whole_article

log = logging.getLogger(__name__)

MAX_FILTER_ARTICLES = 50  # above this the per-article checkboxes are not shown (all are searched)
GENERIC_ERROR = "Sorry, something went wrong while answering. Please try again or rephrase the question."
NO_ARTICLES = "No articles are selected. Open Settings and tick at least one article to search."

CSS = """
.chat { position: relative; min-height: 120px; max-height: 60vh; overflow-y: auto; padding: 8px 12px;
  font-size: 15px; line-height: 1.5; color: var(--body-text-color, #1f2937); }
.empty { color: var(--body-text-color-subdued, #6b7280); padding: 18px 6px; }
.turn { margin: 6px 0 18px; }
.turn > * { margin-left: 0; margin-right: 0; }
.user { margin-left: auto; width: fit-content; max-width: 85%; background: var(--color-accent-soft, #e0e7ff);
  border-radius: 14px 14px 2px 14px; padding: 8px 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.bot { margin-top: 8px; max-width: 100%; border-radius: 12px; padding: 10px 14px;
  border: 1px solid var(--border-color-primary, #e5e7eb); background: var(--background-fill-secondary, #f9fafb);
  overflow-wrap: anywhere; }
.answer-text { font-size: 16px; }
a.cite { font-weight: 600; text-decoration: none; color: var(--color-accent, #4f46e5); padding: 0 1px; }
a.cite:hover { text-decoration: underline; }
.query, .range { margin-top: 4px; font-size: 13px; color: var(--body-text-color, #1f2937); }
.sources { margin-top: 10px; }
.sources-head, .related-head { font-size: 13px; font-weight: 700; letter-spacing: .02em;
  color: var(--body-text-color, #1f2937); margin-bottom: 4px; }
.src-meta { font-weight: 400; font-size: 13px; color: var(--body-text-color, #374151); }
.src-url { color: var(--link-text-color, #1d4ed8); }
.earlier-tag { display: inline-block; font-size: 12px; font-weight: 600; padding: 0 6px; border-radius: 8px;
  background: #fef3c7; color: #78350f; }
.src-card.earlier { border-left-color: #b45309; }
.also { margin-top: 4px; font-size: 13px; color: var(--body-text-color, #374151); }
.src-card { border-left: 3px solid var(--color-accent, #4f46e5); background: var(--background-fill-primary, #fff);
  border-radius: 6px; padding: 8px 10px; margin: 6px 0; transition: box-shadow .3s; scroll-margin: 12px; }
.src-card.flash, .src-card:target { box-shadow: 0 0 0 3px var(--color-accent-soft, #c7d2fe); }
.src-head { font-weight: 600; }
.src-n { color: var(--color-accent, #4f46e5); }
.src-title { font-weight: 600; }
.passage { margin: 4px 0 0; padding: 0; border: 0; font-size: 14px;
  color: var(--body-text-color, #374151); white-space: pre-wrap; }
mark { background: #fde68a; color: #111827; padding: 0 1px; border-radius: 2px; }
strong.answer-part { font-weight: 700; text-decoration: underline; text-decoration-thickness: 2px;
  text-underline-offset: 2px; }
details.whole { margin-top: 6px; font-size: 13px; }
details.whole summary { cursor: pointer; color: var(--color-accent, #4f46e5); }
.article-text p { margin: 0 0 .7em; }
.article-text { white-space: normal; max-height: 320px; overflow-y: auto; margin-top: 6px; padding: 8px;
  border: 1px solid var(--border-color-primary, #e5e7eb); border-radius: 6px; font-size: 14px; }
.abstain { background: #fff7ed; border: 1px dashed #f59e0b; color: #1f2937; }
.abstain-head { font-weight: 700; color: #b45309; margin-bottom: 4px; }
.abstain .icon { display: inline-block; width: 1.4em; text-align: center; border-radius: 50%;
  background: #f59e0b; color: #fff; font-size: 13px; }
.abstain .query, .abstain .related-head { color: #6b7280; }
.abstain .passage { color: #374151; }
.related ul { margin: 4px 0 0; padding-left: 18px; }
.related li { margin: 4px 0; }
.empty-q { font-style: italic; color: var(--body-text-color-subdued, #6b7280); }
.notice { background: #eff6ff; border: 1px solid #93c5fd; color: #1e3a8a; }
@media (max-width: 640px) { .chat { max-height: 58vh; font-size: 14px; } .user { max-width: 92%; }
  .answer-text { font-size: 15px; } .bot { padding: 8px 10px; } }
"""

# Scrolls the newest turn into view; [n] links scroll to their card inside the chat box;
# opening the whole article scrolls to the highlighted quote.
JS = """
const box = () => element.querySelector('.chat');
watch('value', () => {
  const c = box(); if (!c) return;
  const turns = c.querySelectorAll('.turn');
  if (turns.length) c.scrollTop = turns[turns.length - 1].offsetTop - 4;
});
element.addEventListener('click', (e) => {
  const a = e.target.closest('a.cite'); if (!a) return;
  const card = element.querySelector(a.getAttribute('href'));
  if (!card) return;
  e.preventDefault();
  card.scrollIntoView({block: 'nearest', behavior: 'smooth'});
  card.classList.add('flash'); setTimeout(() => card.classList.remove('flash'), 1500);
});
const toMark = (box2) => { const m = box2 && box2.querySelector('mark');
  if (m) box2.scrollTop = m.offsetTop - box2.offsetTop - 40; };
element.addEventListener('toggle', (e) => {
  const d = e.target; if (!d.open) return;
  const box2 = d.querySelector('.article-text'); if (!box2) return;
  if (!box2.dataset.lazy) { toMark(box2); return; }
  // an earlier turn's article: fetched when opened (the page does not carry it)
  server.whole_article([d.dataset.doc, Number(d.dataset.start), Number(d.dataset.end)]).then((html) => {
    box2.innerHTML = html || 'The article is no longer in the index.';
    delete box2.dataset.lazy; toMark(box2);
  });
}, true);
"""


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
    (Gradio refuses a larger file while it streams in) and, with users, the sign-in."""
    settings = settings or Settings()
    options = {"max_file_size": settings.max_upload_bytes, "show_error": False, "quiet": True}
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


def build_app(assistant, settings: Settings | None = None, corpus_dir=None, index_dir=None, access=None):
    """The Gradio app over an opened ``Assistant`` (anything with ``ask`` and ``articles``).
    With ``corpus_dir`` and ``index_dir``, articles can be uploaded and removed from the page,
    by those ``access`` lets edit (access.py; None: everyone, as on one's own machine).
    Up to ``settings.concurrency`` questions (page and API together) are answered at once:
    the engine is read-only, so one slow question does not hold up the others. Launch it
    with ``launch_options(settings, access)``."""
    import gradio as gr

    from .access import Access
    from .library import ALLOWED, Library, example_questions

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
        copies = {c for cs in (getattr(lib.assistant, "copies", {}) or {}).values() for c in cs}
        return sorted((d for d in titles if d not in copies), key=lambda d: (titles[d].lower(), d))

    def examples_now():
        return [[q] for q in example_questions(lib.articles, getattr(lib.assistant, "copies", {}))]

    def header():
        n = len(ids())
        return ("## Ask the articles\n"
                f"Questions are answered only from {n} stored article{'s' if n != 1 else ''}, with word-for-word "
                "quotes, each with its date and source. Follow-up questions use the conversation; "
                "time words (“last week”, “in March”, “latest”) choose the dates searched.")

    def respond(question: str, turns: Sequence[Turn], k: float, doc_ids: Sequence[str] | None,
                as_of: str = "", since: str = "", until: str = ""):
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
        if show_filter and not doc_ids:
            turn = Turn(question, notice=NO_ARTICLES)
        else:
            selected = None if not show_filter or set(doc_ids or ()) >= set(all_ids) else list(doc_ids)
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
        """HTML of one article of this index with a quote highlighted (escaped text, or
        "" for an unknown id). The page calls it with ``[doc_id, start, end]`` when an
        earlier turn's "Open the whole article" is clicked."""
        try:
            doc_id, start, end = ref
            start, end = int(start), int(end)
        except (TypeError, ValueError):
            return ""
        article = lib.articles.get(doc_id) if isinstance(doc_id, str) else None
        return render_whole_article(article, start, end)

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
            answer = lib.assistant.ask(
                question if isinstance(question, str) else "",
                history=_parse_history(history),
                k=_parse_k(k),
                doc_ids=list(doc_ids) if doc_ids else None,
                **dates,
            )
        except AssistantError as e:
            raise gr.Error(str(e))
        except Exception:
            log.exception("api ask failed")
            raise gr.Error(GENERIC_ERROR)
        return answer.to_dict()

    def library_outputs(message: str):
        all_ids = ids()
        titles = titles_now()
        choices = [(titles[d], d) for d in all_ids]
        return (message, lib.rows(), gr.update(choices=choices, value=list(all_ids)),
                gr.update(choices=[(f"{r[0]} ({r[3]})", r[3]) for r in lib.rows()], value=None),
                gr.update(samples=examples_now()), header())

    def change_library(change, done: str, unchanged: str):
        """(result, None), or (None, the page's outputs saying why nothing changed): a bad
        article is the user's to fix, anything else is logged (the build is atomic)."""
        try:
            return change(), None
        except AssistantError as e:
            return None, library_outputs(f"Not {done}: {e}")
        except Exception:
            log.exception("library change failed (not %s)", done)
            return None, library_outputs(f"Not {done}: indexing failed; {unchanged}.")

    def on_upload(files, request=None, progress=gr.Progress(track_tqdm=True)):
        if not files:
            return library_outputs("")
        items, refused = [], []
        why_not = may_edit(request)
        for f in files if isinstance(files, list) else [files]:
            path = getattr(f, "name", f)
            name = getattr(f, "orig_name", None) or str(path)
            try:
                from pathlib import Path

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
            return library_outputs(f"Not added: {why_not}")
        progress(0, desc="Indexing")
        result, failed = change_library(lambda: lib.upload(items, progress=True), "added",
                                        "the previous articles are unchanged")
        if failed:
            return failed
        lines = []
        if result.added:
            titles = [lib.articles[d].title for d in result.added if d in lib.articles]
            lines.append(f"Added and indexed {len(result.added)}: " + "; ".join(titles))
        lines += [f"Refused {r}" for r in [*refused, *result.refused]]
        return library_outputs("\n\n".join(lines))

    def on_remove(doc_id, request=None, progress=gr.Progress(track_tqdm=True)):
        why_not = may_edit(request)
        if why_not:
            return library_outputs(f"Not removed: {why_not}")
        if not doc_id:
            return library_outputs("Choose an article to remove first.")
        title, failed = change_library(lambda: lib.remove(doc_id, progress=True), "removed",
                                       "the articles are unchanged")
        if failed:
            return failed
        return library_outputs(f"Removed “{title}” and re-indexed.")

    for handler in (on_upload, on_remove):  # Gradio passes the request (its signed-in user) by this annotation
        handler.__annotations__["request"] = gr.Request

    # delete_cache: uploads nothing read (a client calling the upload route alone) go within two hours
    with gr.Blocks(title="Ask the articles", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        head = gr.Markdown(header(), elem_id="header")
        turns = gr.State(())
        chat = gr.HTML(
            render_conversation((), lib.articles),
            css_template=CSS,
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
            if not show_filter:
                gr.Markdown(f"All {len(all_ids)} articles are searched.")
        with gr.Accordion("Articles", open=False, elem_id="articles"):
            table = gr.Dataframe(value=lib.rows(), headers=["Title", "Date", "Source", "Id", "Note"],
                                 interactive=False, wrap=True, elem_id="article-list")
            status = gr.Markdown("", elem_id="library-status")
            if lib.manageable and not access.read_only:
                upload = gr.File(label=f"Add articles ({', '.join(ALLOWED)}; up to {max_upload / 1_000_000:g} MB and "
                                       f"{settings.max_article_chars:,} characters each)",
                                 file_count="multiple", elem_id="upload")  # types checked on the server, with a reason
                with gr.Row():
                    remove_choice = gr.Dropdown(choices=[(f"{r[0]} ({r[3]})", r[3]) for r in lib.rows()], value=None,
                                                label="Article to remove", elem_id="remove-choice", min_width=240)
                    remove_btn = gr.Button("Remove", variant="stop", scale=0, min_width=100, elem_id="remove")
                lib_out = [status, table, docs, remove_choice, examples, head]
                upload.upload(on_upload, inputs=[upload], outputs=lib_out, api_visibility="private",
                              concurrency_id="ask")
                remove_btn.click(on_remove, inputs=[remove_choice], outputs=lib_out, api_visibility="private",
                                 concurrency_id="ask")
            elif access.read_only:
                gr.Markdown("The library is read-only on this server.")
            else:
                gr.Markdown("Start the app with a corpus folder (`python app.py --corpus DIR`) to add or remove articles here.")

        inputs = [question, turns, k, docs, as_of, since, until]
        common = dict(outputs=[chat, turns, question], api_visibility="private", concurrency_id="ask")
        question.submit(respond, inputs=inputs, **common)
        ask_btn.click(respond, inputs=inputs, **common)
        examples.click(
            lambda v, t, k_, d, a, s_, u: respond(v[0] if isinstance(v, (list, tuple)) else v, t, k_, d, a, s_, u),
            inputs=[examples, turns, k, docs, as_of, since, until],
            **common,
        )
        clear_btn.click(clear, outputs=[chat, turns, question], api_visibility="private")
        gr.api(ask, api_name="ask", concurrency_id="ask")
    app.queue(default_concurrency_limit=settings.concurrency)
    return app
