"""The chat page's Articles section: what is indexed (date, chunks), and for admins: upload, link, remove, re-ingest.

Every handler that changes the index checks :class:`PageAccess` itself (Gradio serves it over HTTP whatever
the page shows), and the upload handler reads only files that were uploaded through the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from .. import errors
from ..core import Assistant
from ..models import SUPPORTED_SUFFIXES, IngestReport, parse_link
from .render import articles_html, escape_chat_text, index_notice_html, status_html
from .session import PageAccess


def article_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """(label, id) for the article pickers, most recent first."""
    articles = sorted(assistant.articles(), key=lambda a: a.published or "", reverse=True)
    return [(f"{a.title} ({a.published})" if a.published else a.title, a.id) for a in articles]


def sign_in_html(access: PageAccess, allowed: bool) -> str:
    if access.off:
        return "<p>Articles are added by the server's administrators.</p>"
    if not access.needs_sign_in:
        return "" if allowed else f"<p>{escape_chat_text(access.refusal())}.</p>"
    if allowed:
        return '<p>Signed in with an admin key. <a href="/sign-out">Sign out</a></p>'
    return '<p><a href="/sign-in">Sign in with the admin key</a> to add, remove or re-ingest articles.</p>'


def report_lines(report: IngestReport, name=lambda where: where) -> list[str]:
    lines = [f"Added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
             f"failed {len(report.failed)}."]
    return lines + [f"{name(where)}: {reason}" for where, reason in report.failed]


@dataclass
class ArticleControls:
    assistant: Assistant
    access: PageAccess
    scope: gr.Dropdown
    article_list: gr.HTML
    sign_in: gr.HTML
    admin_controls: gr.Group
    uploads: gr.File
    upload_button: gr.Button
    link: gr.Textbox
    link_button: gr.Button
    chosen: gr.Dropdown
    remove_button: gr.Button
    reingest_button: gr.Button
    status: gr.HTML

    @property
    def load_outputs(self) -> list:
        return [self.admin_controls, self.sign_in, self.scope, self.chosen]

    def on_load(self, request: gr.Request) -> tuple:
        """For the page's one load event: the admin controls (for admins only) and the article pickers."""
        allowed = self.access.may_change_articles(request.cookies)
        choices = article_choices(self.assistant)
        return (gr.update(visible=allowed), sign_in_html(self.access, allowed), gr.update(choices=choices),
                gr.update(choices=choices))

    def wire(self, page: gr.Blocks, notice: gr.HTML) -> None:
        assistant, access = self.assistant, self.access

        def listing(lines: list[str]):
            return status_html(lines), articles_html(assistant.articles())

        def refresh(request: gr.Request):
            """After a change: the pickers, and the empty-index notice."""
            choices = article_choices(assistant)
            notice_html = index_notice_html(assistant.is_empty(), access.may_change_articles(request.cookies))
            return gr.update(choices=choices), gr.update(choices=choices, value=None), notice_html

        def ingest_uploads(files: list[str] | None, request: gr.Request, progress=gr.Progress()):
            if not access.may_change_articles(request.cookies):
                return *listing([access.refusal()]), gr.update()
            if not files:
                return *listing(["Choose files first."]), gr.update()
            uploaded = Path(get_upload_folder()).resolve()
            if any(not Path(f).resolve().is_relative_to(uploaded) for f in files):
                return *listing(["Only files uploaded through this page can be ingested."]), gr.update()
            if len(files) > assistant.settings.ingest_max_files:
                return *listing([f"At most {assistant.settings.ingest_max_files} files at once."]), gr.update()
            try:
                report = assistant.ingest(
                    files, sources={f: f"upload:{Path(f).name}" for f in files},
                    on_progress=lambda d, t, _: progress((d, t)), max_chunks=assistant.settings.ingest_max_chunks,
                )
            except errors.AssistantError as exc:
                return *listing([str(exc)]), gr.update()
            finally:
                for f in files:  # ingested or not, the upload has served its purpose
                    Path(f).unlink(missing_ok=True)
            return *listing(report_lines(report, lambda p: Path(p).name)), gr.update(value=None)  # box emptied

        def ingest_link(url: str, request: gr.Request):
            if not access.may_change_articles(request.cookies):
                return listing([access.refusal()])
            if not (url or "").strip():
                return listing(["Paste a link first."])
            try:
                link = parse_link(url, "link")  # only a link: never a path on this server
                report = assistant.ingest(links=[link], max_chunks=assistant.settings.ingest_max_chunks)
            except errors.AssistantError as exc:
                return listing([str(exc)])
            return listing(report_lines(report))

        def remove(article_id: str | None, request: gr.Request):
            if not access.may_change_articles(request.cookies):
                return listing([access.refusal()])
            if not article_id:
                return listing(["Choose an article first."])
            try:
                title = assistant.article(article_id).title
                assistant.remove(article_id)
            except errors.AssistantError as exc:
                return listing([str(exc)])
            return listing([f"Removed {title}."])

        def reingest(article_id: str | None, request: gr.Request):
            if not access.may_change_articles(request.cookies):
                return listing([access.refusal()])
            if not article_id:
                return listing(["Choose an article first."])
            try:
                report = assistant.reingest(article_id)
            except errors.AssistantError as exc:
                return listing([str(exc)])
            return listing(report_lines(report))

        after = dict(fn=refresh, inputs=None, outputs=[self.scope, self.chosen, notice], api_name=False)
        outputs = [self.status, self.article_list]
        self.upload_button.click(ingest_uploads, [self.uploads], outputs + [self.uploads], api_name="ingest").then(**after)
        self.link_button.click(ingest_link, [self.link], outputs, api_name="ingest_link").then(**after)
        self.remove_button.click(remove, [self.chosen], outputs, api_name="remove_article").then(**after)
        self.reingest_button.click(reingest, [self.chosen], outputs, api_name="reingest_article").then(**after)


def add_article_controls(assistant: Assistant, access: PageAccess, scope: gr.Dropdown) -> ArticleControls:
    """The section's components (inside the caller's Accordion); ``wire`` connects them."""
    article_list = gr.HTML(lambda: articles_html(assistant.articles()), elem_id="articles")
    sign_in = gr.HTML(elem_id="sign-in")
    with gr.Group(visible=False) as admin_controls:
        uploads = gr.File(label="Add articles (.txt .md .html .pdf)", file_count="multiple",
                          file_types=sorted(SUPPORTED_SUFFIXES), type="filepath", elem_id="upload-box")
        upload_button = gr.Button("Ingest uploaded files")
        link = gr.Textbox(label="Add a link (http or https)", placeholder="https://…", elem_id="link")
        link_button = gr.Button("Fetch and ingest the link")
        # Custom values pass Gradio's own check (its choices may predate an ingest); the handlers look the id up.
        chosen = gr.Dropdown(choices=article_choices(assistant), value=None, label="Manage an article",
                             elem_id="manage-article", allow_custom_value=True)
        with gr.Row():
            remove_button = gr.Button("Remove article", variant="stop", elem_id="remove-article")
            reingest_button = gr.Button("Re-ingest article", elem_id="reingest-article")
    status = gr.HTML(elem_id="upload-status")
    return ArticleControls(assistant, access, scope, article_list, sign_in, admin_controls, uploads, upload_button,
                           link, link_button, chosen, remove_button, reingest_button, status)
