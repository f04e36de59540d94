"""The chat page (Gradio): conversation, cited passages beside it, article list and upload."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from .. import errors
from ..answer import Turn
from ..core import Assistant
from ..ingest.loaders import SUPPORTED_SUFFIXES
from ..models import Answer
from .render import CSS, articles_html, escape_chat_text, sources_html


def build_chat_page(assistant: Assistant) -> gr.Blocks:
    with gr.Blocks(title="Article assistant") as page:
        gr.Markdown("## Article assistant\nAsk about the indexed articles. Every answer cites the passages it comes from.")
        turns = gr.State([])  # [{"question", "answer"}] for follow-up questions
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Conversation", height=460, elem_id="chat", feedback_options=None)
                question = gr.Textbox(
                    label="Question", placeholder="e.g. What does JIG stand for?", elem_id="question", autofocus=True
                )
                with gr.Row():
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear_button = gr.Button("New conversation")
            with gr.Column(scale=2):
                gr.Markdown("### Cited passages")
                sources = gr.HTML(sources_html(None), elem_id="sources")
        with gr.Accordion("Articles", open=False):
            article_list = gr.HTML(lambda: articles_html(assistant.articles()), elem_id="articles")
            uploads = gr.File(
                label="Add articles (.txt .md .html .pdf)",
                file_count="multiple",
                file_types=sorted(SUPPORTED_SUFFIXES),
                type="filepath",
            )
            upload_button = gr.Button("Ingest uploaded files")
            upload_status = gr.Markdown()

        def respond(message: str, history: list, conversation: list):
            history = list(history or [])
            conversation = list(conversation or [])
            history.append({"role": "user", "content": escape_chat_text(message or "")})
            history.append({"role": "assistant", "content": "…"})
            yield history, sources_html(None), conversation, ""
            past = [Turn(t["question"], t["answer"]) for t in conversation]
            try:
                streamed = ""
                final: Answer | None = None
                for piece in assistant.stream(message, past):
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
            conversation.append({"question": message, "answer": final.answer})
            yield history, sources_html(final), conversation, ""

        def ingest_uploads(files: list[str] | None, progress=gr.Progress()):
            if not files:
                return "Choose files first.", articles_html(assistant.articles())
            sources = {f: f"upload:{Path(f).name}" for f in files}
            report = assistant.ingest(files, sources=sources, on_progress=lambda d, t, _: progress((d, t)))
            lines = [
                f"Added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
                f"failed {len(report.failed)}."
            ]
            lines += [f"- **{escape_chat_text(Path(p).name)}**: {escape_chat_text(reason)}" for p, reason in report.failed]
            return "\n".join(lines), articles_html(assistant.articles())

        outputs = [chat, sources, turns, question]
        question.submit(respond, [question, chat, turns], outputs, api_name="ask")
        ask_button.click(respond, [question, chat, turns], outputs, api_name=False)
        clear_button.click(lambda: ([], sources_html(None), [], ""), None, outputs, api_name=False)
        upload_button.click(ingest_uploads, [uploads], [upload_status, article_list], api_name="ingest")
    return page


__all__ = ["build_chat_page", "CSS"]
