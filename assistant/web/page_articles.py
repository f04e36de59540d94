"""The chat page's Articles section: what is indexed (date, chunks), and for admins: upload, link, remove, re-ingest.

Every handler that changes the index checks :class:`PageAccess` itself (Gradio serves it over HTTP whatever
the page shows), and the upload handler reads only files that were uploaded through the page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from .. import errors
from ..core import Assistant
from ..models import ArticleInfo, FeedInfo, Filters, IngestReport, page_link
from .render import articles_html, escape_chat_text, feeds_html, index_notice_html, status_html
from .scope import Scope, collections_for, ingest_collection
from .session import PageAccess

# Asks before a removal, naming the article as the picker shows it (the browser's dialog shows text, never markup).
# Nothing chosen: no question; the handler says to choose one.
CONFIRM_REMOVAL = """() => {
  const shown = document.querySelector("#manage-article input")?.value;
  return !shown || window.confirm(`Remove \u201c${shown}\u201d? It comes back only if ingested again.`);
}"""


def visible_articles(assistant: Assistant, scope: Scope, picked: list[str] | None = None) -> list[ArticleInfo]:
    """The articles this browser may see (``scope``: its collections, None for every one), of the ``picked``
    collections when some are; none when the scope names no collection that exists."""
    try:
        if picked:
            articles = assistant.articles(assistant.scoped(Filters(collections=tuple(picked)), scope).collections)
        else:
            articles = assistant.articles(collections_for(assistant, scope, None))
    except errors.AssistantError:
        return []
    if scope is None:
        return articles
    return [replace(a, collections=tuple(c for c in a.collections if c in scope)) for a in articles]


def visible_feeds(assistant: Assistant, scope: Scope, picked: list[str] | None = None) -> list[FeedInfo]:
    try:
        within = (assistant.scoped(Filters(collections=tuple(picked)), scope).collections if picked
                  else collections_for(assistant, scope, None))
        return assistant.feeds.list(within)
    except errors.AssistantError:
        return []


def visible_collections(assistant: Assistant, scope: Scope) -> list[str]:
    try:
        return [c.name for c in assistant.collections(collections_for(assistant, scope, None))]
    except errors.AssistantError:
        return []


def article_choices(articles: list[ArticleInfo]) -> list[tuple[str, str]]:
    """(label, id) for the article pickers, most recent first."""
    articles = sorted(articles, key=lambda a: a.published or "", reverse=True)
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
    lines = [report.counts().capitalize() + "."]
    return lines + [f"{name(where)}: {reason}" for where, reason in report.failed]


@dataclass
class ArticleControls:
    assistant: Assistant
    access: PageAccess
    in_view: gr.Dropdown  # the "Articles in view" picker: article ids
    collections: gr.Dropdown  # the collection picker (signed-in admins): where questions, lists and uploads go
    picked: gr.State  # what it holds, for the handlers (a State: the page's HTTP endpoints take no new values)
    article_list: gr.HTML
    feed_list: gr.HTML  # the feeds of the collections shown, with each one's last error (admins)
    sign_in: gr.HTML
    admin_controls: gr.Group
    uploads: gr.File
    upload_button: gr.Button
    link: gr.Textbox
    link_button: gr.Button
    chosen: gr.Dropdown
    remove_button: gr.Button
    confirmed: gr.Checkbox  # the browser's answer to "Remove …?" (True for callers of the endpoint, who asked)
    reingest_button: gr.Button
    status: gr.HTML

    @property
    def load_outputs(self) -> list:
        return [self.admin_controls, self.sign_in, self.in_view, self.chosen, self.collections, self.article_list,
                self.feed_list]

    def on_load(self, request: gr.Request) -> tuple:
        """For the page's one load event: the admin controls (for admins only), the collection picker (for them
        too), the article pickers and the list, of the collections this browser may see."""
        allowed = self.access.may_change_articles(request.cookies)
        scope = self.access.scope(request.cookies)
        articles = visible_articles(self.assistant, scope)
        choices = article_choices(articles)
        return (gr.update(visible=allowed), sign_in_html(self.access, allowed), gr.update(choices=choices),
                gr.update(choices=choices if allowed else []),  # "Manage an article" is an admin's alone
                gr.update(choices=visible_collections(self.assistant, scope), visible=allowed),
                articles_html(articles), feeds_html(visible_feeds(self.assistant, scope)) if allowed else "")

    def refresh(self, picked: list[str] | None, in_view: list[str] | None, chosen: str | None = None,
                request: gr.Request = None) -> tuple:
        """After a change (or another pick of collections): the pickers (an article in view that is gone leaves
        the view, or every question would fail naming it; the article chosen to manage stays chosen while it is
        there), the list, the empty-index notice."""
        scope = self.access.scope(request.cookies)
        articles = visible_articles(self.assistant, scope, picked)
        choices = article_choices(articles)
        still = [article_id for article_id in in_view or [] if article_id in {a.id for a in articles}]
        allowed = self.access.may_change_articles(request.cookies)
        notice_html = index_notice_html(self.assistant.is_empty(), allowed)
        kept = chosen if chosen in {a.id for a in articles} else None
        return (gr.update(choices=choices, value=still),
                gr.update(choices=choices if allowed else [], value=kept if allowed else None), notice_html,
                articles_html(articles), feeds_html(visible_feeds(self.assistant, scope, picked)) if allowed else "")

    def wire(self, notice: gr.HTML) -> None:
        assistant, access = self.assistant, self.access

        def listing(lines: list[str], request: gr.Request, picked: list[str] | None = None):
            return status_html(lines), articles_html(visible_articles(assistant, access.scope(request.cookies), picked))

        def target(picked: list[str] | None, request: gr.Request) -> str | None:
            """The collection an upload goes in: the one picked, or the browser's only one (InvalidRequest: pick one)."""
            if picked and len(picked) > 1:
                raise errors.InvalidRequest("collections", "pick one collection to add articles to")
            return ingest_collection(assistant, access.scope(request.cookies), picked[0] if picked else None,
                                     "collections")

        def ingest_uploads(files: list[str] | None, picked: list[str] | None, request: gr.Request,
                           progress=gr.Progress()):
            if not access.may_change_articles(request.cookies):
                return *listing([access.refusal()], request, picked), gr.update()
            if not files:
                return *listing(["Choose files first."], request, picked), gr.update()
            uploaded = Path(get_upload_folder()).resolve()
            if any(not Path(f).resolve().is_relative_to(uploaded) for f in files):
                return *listing(["Only files uploaded through this page can be ingested."], request, picked), gr.update()
            if len(files) > assistant.settings.ingest_max_files:
                return (*listing([f"At most {assistant.settings.ingest_max_files} files at once."], request, picked),
                        gr.update())
            try:
                report = assistant.ingest(
                    files, sources={f: f"upload:{Path(f).name}" for f in files},
                    on_progress=lambda d, t, _: progress((d, t)), max_chunks=assistant.settings.ingest_max_chunks,
                    collection=target(picked, request),
                )
            except errors.AssistantError as exc:
                return *listing([str(exc)], request, picked), gr.update()
            finally:
                for f in files:  # ingested or not, the upload has served its purpose
                    Path(f).unlink(missing_ok=True)
            lines = report_lines(report, lambda p: Path(p).name)
            return *listing(lines, request, picked), gr.update(value=None)  # box emptied

        def ingest_link(url: str, picked: list[str] | None, request: gr.Request):
            if not access.may_change_articles(request.cookies):
                return listing([access.refusal()], request, picked)
            if not (url or "").strip():
                return listing(["Paste a link first."], request, picked)
            try:
                link = page_link(url, "link")  # only a link: never a path on this server
                report = assistant.ingest(links=[link], max_chunks=assistant.settings.ingest_max_chunks,
                                          collection=target(picked, request))
            except errors.AssistantError as exc:
                return listing([str(exc)], request, picked)
            return listing(report_lines(report), request, picked)

        def remove(article_id: str | None, picked: list[str] | None, confirmed: bool | None, request: gr.Request):
            if not access.may_change_articles(request.cookies):
                return listing([access.refusal()], request, picked)
            if not article_id:
                return listing(["Choose an article first."], request, picked)
            if confirmed is False:
                return listing(["Nothing was removed."], request, picked)
            try:
                scope = access.scope(request.cookies)
                within = (assistant.scoped(Filters(collections=tuple(picked)), scope, field="collections").collections
                          if picked else collections_for(assistant, scope, None))
                title = assistant.article(article_id, within).title
                gone = assistant.remove(article_id, within)
            except errors.AssistantError as exc:
                return listing([str(exc)], request, picked)
            said = f"Removed {title}." if gone else f"Removed {title} from {', '.join(within)} (another collection holds it)."
            return listing([said], request, picked)

        def reingest(article_id: str | None, picked: list[str] | None, request: gr.Request):
            if not access.may_change_articles(request.cookies):
                return listing([access.refusal()], request, picked)
            if not article_id:
                return listing(["Choose an article first."], request, picked)
            try:
                report = assistant.reingest(article_id, collections_for(assistant, access.scope(request.cookies), None))
            except errors.InvalidRequest as exc:  # about the article chosen: said without the API's field name
                return listing([exc.reason], request, picked)
            except errors.AssistantError as exc:
                return listing([str(exc)], request, picked)
            return listing(report_lines(report), request, picked)

        after = dict(fn=self.refresh, inputs=[self.picked, self.in_view, self.chosen],
                     outputs=[self.in_view, self.chosen, notice, self.article_list, self.feed_list], api_name=False)
        outputs = [self.status, self.article_list]
        picked = self.picked
        self.upload_button.click(ingest_uploads, [self.uploads, picked], outputs + [self.uploads],
                                 api_name="ingest").then(**after)
        self.link_button.click(ingest_link, [self.link, picked], outputs, api_name="ingest_link").then(**after)
        # A removal cannot be undone (an upload's file is not kept): the browser asks first, and says which.
        self.remove_button.click(None, None, self.confirmed, js=CONFIRM_REMOVAL, api_name=False, queue=False).then(
            remove, [self.chosen, picked, self.confirmed], outputs, api_name="remove_article").then(**after)
        self.reingest_button.click(reingest, [self.chosen, picked], outputs, api_name="reingest_article").then(**after)
        self.collections.change(lambda chosen: list(chosen or []), self.collections, self.picked, api_name=False,
                                queue=False).then(**after)


def add_article_controls(assistant: Assistant, access: PageAccess, in_view: gr.Dropdown,
                         collections: gr.Dropdown, picked: gr.State) -> ArticleControls:
    """The section's components (inside the caller's Accordion); ``wire`` connects them. What they list is filled
    in by the page's load, for the collections the browser may see."""
    article_list = gr.HTML(elem_id="articles")
    sign_in = gr.HTML(elem_id="sign-in")
    with gr.Group(visible=False) as admin_controls:
        # Any file is taken: one of another type is then named in the status with why, as a bad PDF is (a
        # file_types filter said so only in a toast that fades, and the status counted the others alone).
        uploads = gr.File(label="Add articles (.txt .md .html .pdf)", file_count="multiple", type="filepath",
                          elem_id="upload-box")
        upload_button = gr.Button("Ingest uploaded files")
        link = gr.Textbox(label="Add a link (http or https)", placeholder="https://…", elem_id="link")
        link_button = gr.Button("Fetch and ingest the link")
        # Custom values pass Gradio's own check (its choices may predate an ingest); the handlers look the id up.
        chosen = gr.Dropdown(choices=[], value=None, label="Manage an article",
                             elem_id="manage-article", allow_custom_value=True)
        with gr.Row():
            remove_button = gr.Button("Remove article", variant="stop", elem_id="remove-article")
            reingest_button = gr.Button("Re-ingest article", elem_id="reingest-article")
        confirmed = gr.Checkbox(True, visible="hidden", label="Removal confirmed", elem_id="removal-confirmed")
        feed_list = gr.HTML(elem_id="feeds")
    status = gr.HTML(elem_id="upload-status")
    return ArticleControls(assistant, access, in_view, collections, picked, article_list, feed_list, sign_in,
                           admin_controls, uploads, upload_button, link, link_button, chosen, remove_button,
                           confirmed, reingest_button, status)
