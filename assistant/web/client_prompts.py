"""What clients of /v1 put around the question, and the chores chat front ends send to the same model.

Clients wrap the person's question in their own prompt, and the server only ever answers the question:

* **prompt templates** with the client's context: LangChain's ``rlm/rag-prompt`` ("Question: … Context: …
  Answer:"), LlamaIndex's QA template ("Context information is below. … Query: … Answer:"), Open WebUI's
  ``<user_query>…</user_query>``; :func:`question_in` finds the question in them. The context itself is never
  read: the answer comes from the articles, as always.
* **transcripts**: LlamaIndex's ``OpenAILike`` on /v1/completions flattens a chat into ``user: …`` /
  ``assistant: …`` lines ending with ``assistant:``; :func:`transcript` splits it back into turns.
* **front-end tasks**: Open WebUI (and its forks) ask the chat's model for a title, tags, follow-up
  suggestions, search queries or an autocompletion, each prompt holding the chat in ``<chat_history>`` and
  naming the JSON it wants. :func:`front_end_task` recognises them; :func:`task_reply` answers with a title
  taken from the chat's first question and empty lists, never with an answer from the articles.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..models import Turn

# --- front-end tasks -------------------------------------------------------------------------------

# Found with str.find, not a lazy pattern: a message of many opening tags made `<chat_history>(.*?)</chat_history>`
# scan to the end from each (seconds at the body limit).
_HISTORY_OPEN, _HISTORY_CLOSE = "<chat_history>", "</chat_history>"
# The JSON a task asks for: `{ "title": …`, `{"follow_ups": [ …` (Open WebUI writes it under "### Output").
_WANTED = re.compile(r'\{\s*"(\w+)"\s*:\s*(\[)?')
_SPEAKER = re.compile(r"^(USER|ASSISTANT):\s?", re.M)
TITLE_WORDS = 6


@dataclass(frozen=True)
class FrontEndTask:
    """A chore a chat front end asked for: the JSON key it wants, whether it wants a list, and the chat."""

    key: str
    wants_list: bool
    first_question: str


def front_end_task(text: str) -> FrontEndTask | None:
    """The task in ``text`` (a user message or a completion prompt), or None for a question."""
    start = text.find(_HISTORY_OPEN)
    end = text.find(_HISTORY_CLOSE, start + len(_HISTORY_OPEN)) if start >= 0 else -1
    if end < 0:
        return None
    chat = text[start + len(_HISTORY_OPEN):end]
    wanted = _WANTED.search(text, 0, start) or _WANTED.search(text, end + len(_HISTORY_CLOSE))
    if wanted is None:
        return None
    said = _SPEAKER.split(chat)  # ["", "USER", text, "ASSISTANT", text, …]
    questions = [said[i + 1].strip() for i in range(1, len(said) - 1, 2) if said[i] == "USER"]
    return FrontEndTask(key=wanted.group(1), wants_list=bool(wanted.group(2)),
                        first_question=questions[0] if questions else "")


def task_reply(task: FrontEndTask) -> str:
    """The JSON the task asked for: a title from the chat's first question; nothing for tags, follow-ups,
    search queries or completions (the articles are searched by the question itself)."""
    if task.wants_list:
        value: str | list = []
    elif task.key == "title":
        value = title_of(task.first_question)
    else:
        value = ""
    return json.dumps({task.key: value}, ensure_ascii=False)


def title_of(question: str) -> str:
    words = question.replace("\n", " ").split()
    title = " ".join(words[:TITLE_WORDS]).rstrip("?.!,;: ")
    return title + ("…" if len(words) > TITLE_WORDS else "") if title else "New chat"


# --- the question inside a client's prompt ---------------------------------------------------------

# A tagged question: the text between the last opening tag that is closed and the first closing tag after it.
# Tags are found one by one (linear); a lazy `<query>\s*(.*?)\s*</query>` was cubic in a run of spaces.
_OPEN_TAG = re.compile(r"<(?:user_query|question|query)>", re.I)
_CLOSE_TAG = re.compile(r"</(?:user_query|question|query)>", re.I)
# A line-leading label, as prompt templates write them: "Question: …", "Query: …", "Context: …", "Answer:".
_LABEL = re.compile(r"^[ \t]*(question|query|context|answer|helpful answer)[ \t]*:[ \t]*", re.I | re.M)
_QUESTION_LABELS = ("question", "query")


def _last_tagged(text: str) -> str | None:
    closes = [m.start() for m in _CLOSE_TAG.finditer(text)]
    if not closes:
        return None
    opened = [m.end() for m in _OPEN_TAG.finditer(text, 0, closes[-1])]
    if not opened:
        return None
    close = _CLOSE_TAG.search(text, opened[-1])
    return text[opened[-1]:close.start()].strip()


def question_in(text: str) -> str:
    """The question a prompt template wraps; ``text`` itself when it is no template (a plain question).

    A labelled question before a labelled ``Context:`` is the template's (rlm/rag-prompt), whatever the context
    holds; otherwise the last labelled question is (the context came first, as in LlamaIndex's)."""
    tagged = _last_tagged(text)
    if tagged is not None:
        return tagged
    labels = list(_LABEL.finditer(text))
    asked = [i for i, label in enumerate(labels) if label.group(1).lower() in _QUESTION_LABELS]
    if not asked:
        return text
    context = next((i for i, label in enumerate(labels) if label.group(1).lower() == "context"), None)
    chosen = asked[0] if context is not None and asked[0] < context else asked[-1]
    stop = labels[chosen + 1].start() if chosen + 1 < len(labels) else len(text)
    return text[labels[chosen].end() : stop].strip() or text


_TURN = re.compile(r"^(system|developer|user|assistant):[ \t]?", re.M)


def transcript(prompt: str) -> tuple[str, list[Turn]] | None:
    """(the question, the earlier turns) of a chat flattened into ``role: text`` lines that end with
    ``assistant:`` (LlamaIndex's ``messages_to_prompt``), or None when ``prompt`` is not one."""
    parts = _TURN.split(prompt)
    if len(parts) < 5 or parts[0].strip() or parts[-2] != "assistant" or parts[-1].strip():
        return None
    said = [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 2, 2)]
    said = [(role, text) for role, text in said if role in ("user", "assistant")]
    if not said or said[-1][0] != "user":
        return None
    turns: list[Turn] = []
    for role, text in said[:-1]:
        if role == "user":
            turns.append(Turn(question=text, answer=""))
        elif turns and not turns[-1].answer:
            turns[-1] = Turn(question=turns[-1].question, answer=text)
    return said[-1][1], turns
