"""The chat page (Gradio): conversation, cited passages beside it, article list and upload.

Gradio serves every handler here over HTTP too (``/gradio_api/call/<name>``), so each
handler checks what the page's controls would: the ingest handler asks :class:`PageAccess`
itself and reads only files that were uploaded. Article text is shown as text: the
conversation is not rendered as Markdown, and every fragment is HTML-escaped (render.py).
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from .. import errors
from ..core import Assistant
from ..models import SUPPORTED_SUFFIXES, Answer, Filters, Turn
from .render import CSS, articles_html, escape_chat_text, sources_html, status_html
from .session import PageAccess


def build_chat_page(assistant: Assistant, access: PageAccess) -> gr.Blocks:
    with gr.Blocks(title="Article assistant") as page:
        gr.Markdown("## Article assistant\nAsk about the indexed articles. Every answer cites the passages it comes from.")
        turns = gr.State([])  # [Turn] of this session, for follow-up questions
        with gr.Row():
            with gr.Column(scale=3):
                # Not Markdown: an article's ![image](url) or [link](url) must not become one in readers' browsers.
                chat = gr.Chatbot(
                    label="Conversation", height=460, elem_id="chat", feedback_options=None, render_markdown=False
                )
                question = gr.Textbox(
                    label="Question", placeholder="e.g. What does JIG stand for?", elem_id="question", autofocus=True
                )
                # The article(s) in view: "this article" means them; none chosen, all articles.
                scope = gr.Dropdown(
                    choices=article_choices(assistant), value=[], multiselect=True, elem_id="scope",
                    label="Articles in view (none: all)",
                )
                with gr.Row():
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear_button = gr.Button("New conversation")
            with gr.Column(scale=2):
                gr.Markdown("### Cited passages")
                sources = gr.HTML(sources_html(None), elem_id="sources")
        with gr.Accordion("Articles", open=False):
            article_list = gr.HTML(lambda: articles_html(assistant.articles()), elem_id="articles")
            sign_in = gr.HTML(elem_id="sign-in")
            with gr.Group(visible=False) as upload_controls:
                uploads = gr.File(
                    label="Add articles (.txt .md .html .pdf)",
                    file_count="multiple",
                    file_types=sorted(SUPPORTED_SUFFIXES),
                    type="filepath",
                )
                upload_button = gr.Button("Ingest uploaded files")
                link = gr.Textbox(label="Add a link (http or https)", placeholder="https://…", elem_id="link")
                link_button = gr.Button("Fetch and ingest the link")
            upload_status = gr.HTML(elem_id="upload-status")

        def respond(message: str, history: list, conversation: list, in_view: list[str] | None = None):
            history = list(history or [])
            conversation = list(conversation or [])
            history.append({"role": "user", "content": escape_chat_text(message or "")})
            history.append({"role": "assistant", "content": "…"})
            yield history, sources_html(None), conversation, ""
            past = list(conversation)
            try:
                streamed = ""
                final: Answer | None = None
                for piece in assistant.stream(message, past, Filters(article_ids=tuple(in_view or ()))):
                    if isinstance(piece, Answer):
                        final = piece
                    else:
                        streamed += piece
                        history[-1] = {"role": "assistant", "content": escape_chat_text(streamed)}
                        yield history, sources_html(None), conversation, ""
            except errors.AssistantError as exc:
                history[-1] = {"role": "assistant", "content": escape_chat_text(f"⚠ {exc}")}
                yield history, sources_html(None), conversation, ""
                return
            assert final is not None
            text = final.answer + (f"\n\n_{final.notice}_" if final.notice else "")
            history[-1] = {"role": "assistant", "content": escape_chat_text(text)}
            conversation.append(Turn(question=message, answer=final.answer))
            yield history, sources_html(final, reader=True), conversation, ""

        def ingest_link(url: str, request: gr.Request):
            if not access.may_change_articles(request.cookies):
                return status_html([access.refusal()]), articles_html(assistant.articles())
            if not (url or "").strip():
                return status_html(["Paste a link first."]), articles_html(assistant.articles())
            try:
                report = assistant.ingest([url.strip()], max_chunks=assistant.settings.ingest_max_chunks)
            except errors.AssistantError as exc:
                return status_html([str(exc)]), articles_html(assistant.articles())
            lines = [f"Added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
                     f"failed {len(report.failed)}."]
            lines += [f"{where}: {reason}" for where, reason in report.failed]
            return status_html(lines), articles_html(assistant.articles())

        def show_controls(request: gr.Request):
            allowed = access.may_change_articles(request.cookies)
            return gr.update(visible=allowed), sign_in_html(access, allowed)

        def ingest_uploads(files: list[str] | None, request: gr.Request, progress=gr.Progress()):
            if not access.may_change_articles(request.cookies):
                return status_html([access.refusal()]), articles_html(assistant.articles())
            if not files:
                return status_html(["Choose files first."]), articles_html(assistant.articles())
            uploaded = Path(get_upload_folder()).resolve()
            if any(not Path(f).resolve().is_relative_to(uploaded) for f in files):
                return status_html(["Only files uploaded through this page can be ingested."]), articles_html(
                    assistant.articles()
                )
            if len(files) > assistant.settings.ingest_max_files:
                return status_html([f"At most {assistant.settings.ingest_max_files} files at once."]), articles_html(
                    assistant.articles()
                )
            try:
                report = assistant.ingest(
                    files,
                    sources={f: f"upload:{Path(f).name}" for f in files},
                    on_progress=lambda d, t, _: progress((d, t)),
                    max_chunks=assistant.settings.ingest_max_chunks,
                )
            except errors.AssistantError as exc:
                return status_html([str(exc)]), articles_html(assistant.articles())
            finally:
                for f in files:  # ingested or not, the upload has served its purpose
                    Path(f).unlink(missing_ok=True)
            lines = [
                f"Added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
                f"failed {len(report.failed)}."
            ]
            lines += [f"{Path(p).name}: {reason}" for p, reason in report.failed]
            return status_html(lines), articles_html(assistant.articles())

        outputs = [chat, sources, turns, question]
        question.submit(respond, [question, chat, turns, scope], outputs, api_name="ask")
        ask_button.click(respond, [question, chat, turns, scope], outputs, api_name=False)
        clear_button.click(lambda: ([], sources_html(None), [], ""), None, outputs, api_name=False)
        upload_button.click(ingest_uploads, [uploads], [upload_status, article_list], api_name="ingest").then(
            lambda: gr.update(choices=article_choices(assistant)), None, scope, api_name=False
        )
        link_button.click(ingest_link, [link], [upload_status, article_list], api_name="ingest_link").then(
            lambda: gr.update(choices=article_choices(assistant)), None, scope, api_name=False
        )
        page.load(show_controls, None, [upload_controls, sign_in], api_name=False)
        page.load(lambda: gr.update(choices=article_choices(assistant)), None, scope, api_name=False)
    return page


def article_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """(label, id) for the article picker, most recent first."""
    articles = sorted(assistant.articles(), key=lambda a: a.published or "", reverse=True)
    return [(f"{a.title} ({a.published})" if a.published else a.title, a.id) for a in articles]


def sign_in_html(access: PageAccess, allowed: bool) -> str:
    if access.off:
        return "<p>Articles are added by the server's administrators.</p>"
    if not access.needs_sign_in:
        return "" if allowed else f"<p>{escape_chat_text(access.refusal())}.</p>"
    if allowed:
        return '<p>Signed in with an admin key. <a href="/sign-out">Sign out</a></p>'
    return '<p><a href="/sign-in">Sign in with the admin key</a> to add articles.</p>'


__all__ = ["build_chat_page", "CSS"]
