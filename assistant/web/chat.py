"""The chat page (Gradio): conversations in a sidebar, the conversation, cited passages and the article reader
beside it, feedback on every answer, and the articles (listed; added and managed by admins).

Gradio serves every handler here over HTTP too (``/gradio_api/call/<name>``), so each
handler checks what the page's controls would: conversations and answers are looked up
for this browser's session only (:mod:`.browser`), and the article handlers ask
:class:`PageAccess` themselves. Article text is shown as text: the conversation is not
rendered as Markdown, and every fragment is HTML-escaped (render.py).
"""

from __future__ import annotations

import gradio as gr
from pydantic import ValidationError

from .. import errors
from ..core import Assistant
from ..models import Answer, Filters, Turn
from .browser import page_owner
from .page_articles import add_article_controls
from .render import (
    CSS,
    answer_html,
    escape_chat_text,
    index_notice_html,
    reader_html,
    reader_message_html,
    sources_html,
)
from .scope import collections_for
from .session import PageAccess

NO_ARTICLES = ("No articles are indexed yet, so there is nothing to answer from. Add some under Articles "
               "(the upload box or a link), then ask again.")


# Asks before a conversation is deleted, naming it as the sidebar lists it. None open (a new one): no question.
CONFIRM_DELETE = """() => {
  const open = document.querySelector("#conversations input:checked")?.closest("label")?.innerText?.trim();
  return !open || window.confirm(`Delete the conversation \u201c${open}\u201d? It cannot be brought back.`);
}"""


class ChatHandlers:
    """The chat page's event handlers, one method each: Gradio serves every one over HTTP too, so each checks
    what the page's controls would (this browser's conversations and answers only; the article handlers ask
    PageAccess), and each can be called and tested alone."""

    def __init__(self, assistant: Assistant, access: PageAccess, articles):
        self.assistant = assistant
        self.access = access
        self.articles = articles  # the Articles panel's controls (page_articles.py): the page's load fills them
        self.store = assistant.store.conversations
        self.feedback = assistant.store.feedback

    def sidebar(self, request: gr.Request, selected: str | None = None):
        owner = page_owner(request.cookies)
        listed = self.store.conversations(owner) if owner else []
        return gr.update(choices=[(c.title, c.id) for c in listed], value=selected,
                         info="" if listed else "None yet: your questions and their answers are kept here.")

    def respond(self, message: str, history: list, past: list, conversation_id, ids: list, in_view: list[str] | None,
                request: gr.Request, collections: list[str] | None = None):
        # A caller of the page's HTTP endpoint may start its chat over ([]): the answer ids follow its chat.
        history, past = list(history or []), list(past or [])
        ids = list(ids or [])[: len(history)]
        if not (message or "").strip():  # an empty box: nothing asked, nothing added to the chat
            yield history, gr.skip(), "", past, conversation_id, ids
            return
        history.append({"role": "user", "content": escape_chat_text(message or "")})
        history.append({"role": "assistant", "content": "…"})
        yield history, sources_html(None), "", past, conversation_id, ids
        if self.assistant.is_empty():
            history[-1] = {"role": "assistant", "content": escape_chat_text(NO_ARTICLES)}
            yield history, sources_html(None), "", past, conversation_id, ids + [None, None]
            return
        try:  # within the collections this browser may ask (a signed-in admin's key's, or page_collections)
            filters = self.assistant.scoped(in_view_filters(in_view, collections),
                                            self.access.scope(request.cookies), field="collections")
            streamed, final = "", None
            for piece in self.assistant.stream(message, past, filters):
                if isinstance(piece, Answer):
                    final = piece
                else:
                    streamed += piece
                    history[-1] = {"role": "assistant", "content": escape_chat_text(streamed)}
                    yield history, sources_html(None), "", past, conversation_id, ids
        except errors.AssistantError as exc:  # said in the chat; the question goes back in its box, to correct
            history[-1] = {"role": "assistant", "content": escape_chat_text(f"⚠ {exc}")}
            yield history, sources_html(None), message, past, conversation_id, ids + [None, None]
            return
        assert final is not None
        owner = page_owner(request.cookies)
        if owner:  # kept for this browser: resumable, its citations open, feedback possible
            try:
                kept = self.store.add_answer(owner, message, final.for_reader(), history=past, filters=filters,
                                        conversation_id=conversation_id or "new")
            except errors.ConversationNotFound:  # deleted (or expired) meanwhile: this answer starts a new one
                kept = self.store.add_answer(owner, message, final.for_reader(), history=past, filters=filters,
                                        conversation_id="new")
            except errors.StoreError as exc:  # e.g. a full disk: the answer is shown, only keeping it failed
                kept = None
                final = final.model_copy(update={"notice": f"This answer could not be kept ({exc})."})
            if kept is not None:
                final, conversation_id = kept.answer, kept.conversation_id
        past.append(Turn(question=message, answer=final.answer))
        history[-1] = {"role": "assistant", "content": answer_html(final, final.id)}
        yield history, sources_html(final, reader=True), "", past, conversation_id, ids + [None, final.id]

    def show(self, owner: str | None, conversation_id: str | None):
        """The chat, turns, answer ids and sources of a stored conversation (empty for None)."""
        if owner is None or conversation_id is None:
            return [], [], [], sources_html(None)
        stored = self.store.conversation(owner, conversation_id)
        history, ids, past = [], [], []
        for kept in stored.turns:
            history += [{"role": "user", "content": escape_chat_text(kept.question)},
                        {"role": "assistant", "content": answer_html(kept.answer, kept.id)}]
            ids += [None, kept.id]
            past.append(kept.turn())
        last = stored.turns[-1].answer if stored.turns else None
        rated = self.feedback.ratings(owner, [kept.id for kept in stored.turns])
        thumbs = [{"up": "Like", "down": "Dislike"}.get(rated.get(kept.id)) for kept in stored.turns]
        return gr.update(value=history, feedback_value=thumbs), past, ids, sources_html(last, reader=True)

    def open_conversation(self, conversation_id: str | None, request: gr.Request):
        try:
            history, past, ids, cited = self.show(page_owner(request.cookies), conversation_id)
        except errors.ConversationNotFound as exc:
            gr.Warning(str(exc))  # said on the page; nothing changes
            return (gr.skip(),) * 6
        return history, past, conversation_id, ids, cited, ""

    def restore(self, request: gr.Request):
        """On load: the latest conversation of this browser, the sidebar, and whether anything is indexed."""
        owner = page_owner(request.cookies)
        listed = self.store.conversations(owner, limit=1) if owner else []
        latest = listed[0].id if listed else None
        # Nothing to restore: leave the chat alone (a question may already be on its way).
        history, past, ids, cited = self.show(owner, latest) if latest else (gr.skip(),) * 4
        empty = self.assistant.is_empty()
        return (history, past, latest if latest else gr.skip(), ids, cited, self.sidebar(request, latest),
                index_notice_html(empty, self.access.may_change_articles(request.cookies)),
                gr.update(open=True) if empty else gr.update(), *self.articles.on_load(request))

    def refresh_sidebar(self, conversation_id: str | None, request: gr.Request):
        return self.sidebar(request, conversation_id)

    def delete_conversation(self, conversation_id: str | None, confirmed: bool | None, request: gr.Request):
        if confirmed is False:  # the browser's "Delete …?" was answered no
            return (gr.skip(),) * 7
        owner = page_owner(request.cookies)
        if owner and conversation_id:
            try:
                self.store.delete(owner, conversation_id)
            except errors.ConversationNotFound as exc:
                gr.Warning(str(exc))
                return (gr.skip(),) * 7
        return [], [], None, [], sources_html(None), "", self.sidebar(request)

    def open_citation(self, ref: str, request: gr.Request):
        answer_id, _, n = (ref or "").rpartition("-")
        owner = page_owner(request.cookies)
        try:
            if owner is None or not n.isdigit():
                raise errors.AnswerNotFound(answer_id or ref or "")
            kept = self.store.answer(owner, answer_id)
            citation = kept.citation(int(n))
            if citation is None:
                return gr.update(), reader_message_html(f"That answer has no citation [{n}].")
            # read now, within the collections this browser may read now: the answer may be older than a removal
            readable = collections_for(self.assistant, self.access.scope(request.cookies), None)
            article = self.assistant.article(citation.article_id, readable)
        except errors.AnswerNotFound as exc:
            return gr.update(), reader_message_html(str(exc))
        except (errors.ArticleNotFound, errors.CollectionNotFound, errors.OutOfScope):
            return gr.update(), reader_message_html("That article is no longer here: it was removed, or moved out of "
                                                    "the collections you may read.")
        return sources_html(kept.answer, reader=True, selected=citation.n), reader_html(article, citation)

    def rate(self, ids: list, history: list, like: gr.LikeData, request: gr.Request):
        if lost_state(history, ids):  # the answer ids are gone: a rating would land on another answer
            return status(STATE_LOST), None, gr.update(visible=False)
        index = like.index if isinstance(like.index, int) else like.index[0]
        answer_id = ids[index] if 0 <= index < len(ids or []) else None
        owner = page_owner(request.cookies)
        if not isinstance(like.liked, bool) or answer_id is None or owner is None:
            return "", None, gr.update(visible=False)
        rating = "up" if like.liked else "down"
        try:
            self.feedback.give(owner, answer_id, rating)
        except errors.AnswerNotFound as exc:
            return status(str(exc)), None, gr.update(visible=False)
        said = "Thanks: marked as helpful." if rating == "up" else "Thanks: marked as not helpful."
        return status(said + " You may add a comment below."), (answer_id, rating), gr.update(visible=True)

    def send_comment(self, text: str, last: tuple | None, request: gr.Request):
        owner = page_owner(request.cookies)
        if not last or owner is None:
            return status("Rate an answer (thumbs up or down) first."), text
        try:
            self.feedback.give(owner, last[0], last[1], text or "")
        except (errors.AnswerNotFound, errors.InvalidRequest) as exc:
            return status(str(exc)), text
        return status("Thanks: your comment is recorded."), ""

    def respond_while_open(self, message: str, history: list, past: list, conversation_id, ids: list,
                           in_view: list[str] | None, left_then: float, left_now: dict,
                           collections: list[str] | None, request: gr.Request):
        """respond's updates while the reader stays in the conversation the question was asked in."""
        if lost_state(history, ids, left_then, left_now):
            raise gr.Error(STATE_LOST, title="Reload the page")
        for update in self.respond(message, history, past, conversation_id, ids, in_view, request, collections):
            if left_then != left_now["count"]:
                yield (gr.skip(),) * len(update)
                return
            yield update

    def leave(self, left_now: dict):
        """Leaving a conversation: counted, and the last answer's feedback status and comment box put away (a
        comment sent now would land on an answer of the conversation left)."""
        left_now["count"] += 1  # in place: an answer streaming now reads the same object
        return left_now["count"], "", None, gr.update(visible=False), ""

    def leave_if(self, left_now: dict, confirmed: bool | None):
        """:meth:`leave`, unless the browser's "Delete …?" was answered no."""
        return (gr.skip(),) * 5 if confirmed is False else self.leave(left_now)

    def start_over(self):
        return [], [], None, [], sources_html(None), "", gr.update(value=None)


def in_view_filters(in_view: list | None, collections: list | None) -> Filters:
    """The page's Articles in view and collections as Filters; what a caller of its HTTP endpoint sends instead
    of ids is an InvalidRequest naming the control, not a validation error's text."""
    try:
        return Filters(article_ids=tuple(in_view or ()), collections=tuple(collections or ()))
    except (ValidationError, TypeError) as exc:
        field = "in view" if "article_ids" in str(exc) else "collections"
        raise errors.InvalidRequest(field, "must be a list of ids from the page's own choices") from None


def build_chat_page(assistant: Assistant, access: PageAccess) -> gr.Blocks:
    """The page's layout, and each control wired to its handler (:class:`ChatHandlers`)."""
    with gr.Blocks(title="Article assistant") as page:
        turns = gr.State([])  # [Turn] of the open conversation, for follow-up questions
        conversation = gr.State(None)  # the open conversation's id (None: a new one starts with the next question)
        answer_ids = gr.State([])  # per chat message: the kept answer's id (None for questions)
        rated = gr.State(None)  # (answer id, rating) of the last thumbs, for its comment
        # Conversations left (New, another one opened, deleted), counted on the server and, as of each question,
        # in the page: an answer still on its way when the reader left its conversation is not shown in the next.
        left = gr.State({"count": 0})
        left_as_asked = gr.Number(0, visible="hidden", elem_id="left-as-asked", label="Conversations left")
        with gr.Sidebar(label="Conversations", elem_id="sidebar"):
            gr.Markdown("## Conversations")
            new_button = gr.Button("New conversation", elem_id="new-conversation")
            history_list = gr.Radio(choices=[], label="Earlier conversations on this browser", elem_id="conversations")
            delete_button = gr.Button("Delete this conversation", variant="stop", elem_id="delete-conversation")
            delete_confirmed = gr.Checkbox(True, visible="hidden", label="Deletion confirmed",
                                           elem_id="deletion-confirmed")
        gr.Markdown("# Article assistant\nAsk about the indexed articles. Every answer cites the passages it comes "
                    "from: select a number like [1] to read it in the article.")
        notice = gr.HTML(elem_id="index-notice")
        with gr.Row():
            with gr.Column(scale=3):
                # Not Markdown: an article's ![image](url) or [link](url) must not become one in readers' browsers.
                chat = gr.Chatbot(
                    label="Conversation", height=460, elem_id="chat", feedback_options=("Like", "Dislike"),
                    render_markdown=False, buttons=["copy", "copy_all"],
                )
                question = gr.Textbox(
                    label="Question", placeholder="e.g. What does JIG stand for?", elem_id="question", autofocus=True
                )
                # The article(s) in view: "this article" means them; none chosen, all articles.
                # Its choices come with the page's load, for the collections this browser may see; an id sent
                # over Gradio's HTTP API is checked by the Assistant as any filter is (allow_custom_value).
                in_view = gr.Dropdown(
                    choices=[], value=[], multiselect=True, elem_id="scope", label="Articles in view (none: all)",
                    allow_custom_value=True,
                )
                # Signed-in admins: the collections asked (none: all the key may use), listed and added to. The
                # handlers read the pick from a State, so the page's HTTP endpoints take the same values as before.
                collections = gr.Dropdown(
                    choices=[], value=[], multiselect=True, elem_id="collections", visible=False,
                    label="Collections (none: all you may use; pick one to add articles to it)",
                )
                picked = gr.State([])
                ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                feedback_status = gr.HTML(elem_id="feedback-status")
                with gr.Group(visible=False) as comment_box:
                    comment = gr.Textbox(label="Comment on this answer (optional)", elem_id="feedback-comment",
                                         max_length=assistant.settings.feedback_max_comment_chars, lines=2)
                    comment_button = gr.Button("Send comment", elem_id="send-comment")
            with gr.Column(scale=2):
                gr.Markdown("## Cited passages")
                sources = gr.HTML(sources_html(None), elem_id="sources")
                reader = gr.HTML(elem_id="reader")
        with gr.Accordion("Articles", open=False, elem_id="articles-box") as articles_box:
            articles = add_article_controls(assistant, access, in_view, collections, picked)
        # The reader's trigger: page.js puts the clicked citation in cite_ref and clicks cite_button.
        cite_ref = gr.Textbox(visible="hidden", elem_id="cite-ref", label="Citation to open")
        cite_button = gr.Button("Open citation", visible="hidden", elem_id="open-citation")

        handlers = ChatHandlers(assistant, access, articles)
        kept_outputs = [chat, sources, question, turns, conversation, answer_ids]
        ask_inputs = [question, chat, turns, conversation, answer_ids, in_view, left_as_asked, left, picked]
        for trigger, name in ((question.submit, "ask"), (ask_button.click, False)):
            trigger(handlers.respond_while_open, ask_inputs, kept_outputs, api_name=name).then(
                handlers.refresh_sidebar, conversation, history_list, api_name=False
            )
        opened = [chat, turns, conversation, answer_ids, sources, reader]

        left_outputs = [left_as_asked, feedback_status, rated, comment_box, comment]
        for trigger in (history_list.input, new_button.click, chat.clear):
            trigger(handlers.leave, left, left_outputs, api_name=False, queue=False)
        history_list.input(handlers.open_conversation, history_list, opened, api_name="open_conversation")
        new_button.click(handlers.start_over, None, opened + [history_list], api_name=False)
        chat.clear(handlers.start_over, None, opened + [history_list], api_name=False)  # the chat's own bin icon
        # A deletion cannot be undone: the browser asks first; a "no" leaves the conversation open and streaming.
        delete_button.click(None, None, delete_confirmed, js=CONFIRM_DELETE, api_name=False, queue=False).then(
            handlers.leave_if, [left, delete_confirmed], left_outputs, api_name=False, queue=False).then(
            handlers.delete_conversation, [conversation, delete_confirmed], opened + [history_list],
            api_name="delete_conversation")
        cite_button.click(handlers.open_citation, cite_ref, [sources, reader], api_name="open_citation",
                          js="(ref) => window.assistantCitation || ref").then(
            None, None, None, js="() => window.assistantShowCitation && window.assistantShowCitation()"
        )
        chat.like(handlers.rate, [answer_ids, chat], [feedback_status, rated, comment_box], api_name="feedback")
        comment_button.click(handlers.send_comment, [comment, rated], [feedback_status, comment], api_name="feedback_comment")
        # One load event (each is a request against the page's rate limit).
        page.load(handlers.restore, None, opened[:5] + [history_list, notice, articles_box, *articles.load_outputs],
                  api_name=False)
        articles.wire(notice)
    return page


# The page's per-session state lives on the server; a restarted server has none for a page left open. Its chat
# then holds more messages than the answer ids (one per message), or the conversations-left count (which only
# grows) is behind the page's.
STATE_LOST = ("The server restarted since this page was opened, so it no longer holds this conversation: reload "
              "the page to go on (your conversations are kept).")


def lost_state(history: list | None, ids: list | None, left_then: float = 0, left_now: dict | None = None) -> bool:
    return len(ids or []) < len(history or []) or (left_now is not None and left_then > left_now["count"])


def status(message: str) -> str:
    return f'<p role="status">{escape_chat_text(message)}</p>'


__all__ = ["build_chat_page", "CSS"]
