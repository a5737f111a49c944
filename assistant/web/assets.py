"""How the page looks: its CSS (the chat, the article list), the chat's JavaScript and the
theme. Plain strings and one factory; ``ui.py`` builds the page with them.

The theme uses the system's fonts, so the page loads no web font and looks the same with no
network. On a phone (≤ 640 px) the conversation uses the page's own scroll and "Open the whole
article" is a full-height view with "← Back to the answer" on top."""
from __future__ import annotations

SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans",
                "Liberation Sans", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")


def page_theme():
    """Gradio's default look with the system's own fonts: the page loads no web font, so it
    looks the same with no network (bold capitals in the same face as the rest)."""
    import gradio as gr

    return gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))


CSS = """
.chat { position: relative; min-height: 120px; max-height: 65vh; overflow-y: auto; padding: 8px 12px;
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
details.whole .back-label, details.whole[open] .open-label { display: none; }
details.whole[open] .back-label { display: inline; }
.src-n + .src-n { margin-left: 2px; }
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
/* a phone: the conversation uses the page's own scroll; the whole article is a full-height
   view with "Back to the answer" on top */
@media (max-width: 640px) { .chat { max-height: none; overflow: visible; font-size: 14px; padding: 4px 2px; }
  .user { max-width: 92%; } .answer-text { font-size: 15px; } .bot { padding: 8px 10px; }
  details.whole[open] > summary { position: fixed; top: 0; left: 0; right: 0; z-index: 1001; height: 48px;
    display: flex; align-items: center; padding: 0 16px; font-size: 16px; font-weight: 600;
    background: var(--background-fill-primary, #fff); border-bottom: 1px solid var(--border-color-primary, #e5e7eb); }
  details.whole[open] > .article-text { position: fixed; top: 48px; left: 0; right: 0; bottom: 0; z-index: 1000;
    max-height: none; margin: 0; border: 0; border-radius: 0; padding: 12px 16px 40px; font-size: 16px;
    line-height: 1.55; background: var(--background-fill-primary, #fff); overflow-y: auto; } }
"""

LIB_CSS = """
.library ul { list-style: none; margin: 0; padding: 0; }
.library li { padding: 6px 0; border-bottom: 1px solid var(--border-color-primary, #e5e7eb); }
.lib-title { display: block; font-weight: 600; }
.lib-meta { display: block; font-size: 13px; color: var(--body-text-color-subdued, #4b5563); }
.lib-id { font-family: var(--font-mono, monospace); font-size: 12px; overflow-wrap: anywhere; }
.lib-count { font-size: 13px; color: var(--body-text-color-subdued, #4b5563); margin-bottom: 2px; }
"""

# Scrolls the newest turn into view; [n] links scroll to their card inside the chat box;
# opening the whole article scrolls to the highlighted quote.
JS = """
const box = () => element.querySelector('.chat');
watch('value', () => {
  const c = box(); if (!c) return;
  const turns = c.querySelectorAll('.turn'); if (!turns.length) return;
  const last = turns[turns.length - 1];
  // a box that scrolls (wide screens) scrolls itself; on a phone the page scrolls
  if (getComputedStyle(c).overflowY === 'auto' && c.scrollHeight > c.clientHeight + 1) c.scrollTop = last.offsetTop - 4;
  else last.scrollIntoView({block: 'start'});
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
  server.whole_article([d.dataset.doc, Number(d.dataset.start), Number(d.dataset.end), d.dataset.spans || '']).then((html) => {
    box2.innerHTML = html || 'The article is no longer in the index.';
    delete box2.dataset.lazy; toMark(box2);
  });
}, true);
"""
