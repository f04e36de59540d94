"""What /v1 clients wrap around the question: templates, flattened chats and front ends' chores (client_prompts)."""

from __future__ import annotations

import json

import pytest

from assistant.models import Turn
from assistant.web.client_prompts import front_end_task, question_in, task_reply, title_of, transcript

pytestmark = pytest.mark.fast

CHAT = """<chat_history>
USER: Who will Kerry meet in Geneva on Friday?
ASSISTANT: Kerry will meet Lavrov on Friday [1].
USER: When?
</chat_history>"""


def chore(instruction: str, output: str) -> str:
    """A chore in the shape Open WebUI sends: task, guidelines, the JSON wanted, the chat."""
    return f"### Task:\n{instruction}\n### Guidelines:\n- Keep it short.\n### Output:\nJSON format: {output}\n" \
           f"### Chat History:\n{CHAT}"


@pytest.mark.parametrize("instruction, output, expected", [
    ("Write a short title for the chat.", '{ "title": "your title here" }',
     {"title": "Who will Kerry meet in Geneva…"}),
    ("Give 1-3 tags for the chat's themes.", '{ "tags": ["tag1", "tag2"] }', {"tags": []}),
    ("Suggest follow-up questions.", '{ "follow_ups": ["Question 1?", "Question 2?"] }', {"follow_ups": []}),
    ("Decide whether search queries are needed.", '{\n  "queries": ["query1"]\n}', {"queries": []}),
])
def test_front_end_chores_get_the_json_they_ask_for_and_no_article_answer(instruction, output, expected):
    task = front_end_task(chore(instruction, output))
    assert task is not None and task.first_question == "Who will Kerry meet in Geneva on Friday?"
    assert json.loads(task_reply(task)) == expected


def test_an_autocompletion_chore_gets_an_empty_text():
    prompt = ("### Task:\nContinue the text.\n### Output Rules:\n- Respond only in JSON format: "
              '`{ "text": "<your_completion>" }`.\n### Context:\n' + CHAT + "\n<type>General</type>\n<text>Who is</text>")
    assert json.loads(task_reply(front_end_task(prompt))) == {"text": ""}


@pytest.mark.parametrize("text", [
    "What does JIG stand for?",
    'Summarize the article "Ad sales boost Time Warner profit".',
    "Give me the answer as JSON: { \"answer\": \"…\" }",  # JSON, but no chat history: a question
    "What is <chat_history> in Open WebUI?",
])
def test_questions_are_no_chores(text):
    assert front_end_task(text) is None


def test_titles_are_the_first_question_cut_short():
    assert title_of("What does JIG stand for?") == "What does JIG stand for"
    assert title_of("") == "New chat"


@pytest.mark.parametrize("prompt, question", [
    # LangChain hub's rlm/rag-prompt: the question before the client's context
    ("You are an assistant for question-answering tasks. Use the context.\nQuestion: What does JIG stand for? \n"
     "Context: The Joint Implementation Group met.\nQuestion: an FAQ line inside the context\nAnswer:",
     "What does JIG stand for?"),
    # LlamaIndex's QA template: the context first, then the query
    ("Context information is below.\n---------------------\nQuery: an FAQ line inside the context\n---------------------\n"
     "Given the context information and not prior knowledge, answer the query.\nQuery: What does JIG stand for?\n"
     "Answer: ", "What does JIG stand for?"),
    ("### Task:\nRespond using the context.\n<context>\nJIG met.\n</context>\n<user_query>\nWhat does JIG stand for?\n"
     "</user_query>", "What does JIG stand for?"),
    ("What does JIG stand for?", "What does JIG stand for?"),
    ("The question: what does JIG stand for?", "The question: what does JIG stand for?"),  # mid-line: no label
])
def test_the_question_inside_a_prompt_template(prompt, question):
    assert question_in(prompt) == question


def test_a_flattened_chat_is_split_back_into_turns():
    prompt = ("system: Be brief.\nuser: Who will Kerry meet?\nassistant: Kerry will meet Lavrov [1].\n"
              "user: When?\nassistant: ")
    assert transcript(prompt) == ("When?", [Turn(question="Who will Kerry meet?", answer="Kerry will meet Lavrov [1].")])
    assert transcript("user: What does JIG stand for?\nassistant: ") == ("What does JIG stand for?", [])
    assert transcript("What does JIG stand for?") is None
    assert transcript("user: Who?\nassistant: Kerry.") is None  # not waiting for the assistant: no transcript


def test_prompts_built_to_make_the_patterns_backtrack_are_read_at_once():
    """Run on the raw message before its length is checked: a lazy `<query>\\s*(.*?)\\s*</query>` was cubic in a run
    of spaces (5 s at 2,000; 64 KB, the body limit, would take days) and `<chat_history>(.*?)…` quadratic in
    opening tags."""
    spaces = " " * 60_000
    assert question_in("<query>" + spaces + "x") == "<query>" + spaces + "x"  # never closed: no template
    assert question_in("<query>a" * 8_000 + "</query>") == "a"  # the last opening tag before the closing one
    assert question_in("<Query>a</query> <question>" + spaces + "b" + spaces + "</QUESTION>") == "b"
    assert front_end_task("<chat_history>" * 5_000) is None
    assert front_end_task('{"title": … <chat_history>' * 5_000) is None


def test_a_clients_earlier_messages_are_read_through_its_template_too():
    """A client that wraps each message in its template ("Context: … Question: …") wraps the earlier ones as well;
    their question is what a follow-up points back to (the turn is then cut to the question's limit)."""
    from assistant.web.openai_api import ChatMessage, _conversation

    wrapped = "Context information is below.\n" + "Some retrieved text. " * 200 + "\nQuestion: Who will Kerry meet?\nAnswer:"
    question, _, history = _conversation([ChatMessage(role="user", content=wrapped),
                                          ChatMessage(role="assistant", content="Lavrov. [1]"),
                                          ChatMessage(role="user", content="When?")])
    assert question == "When?" and history == [Turn(question="Who will Kerry meet?", answer="Lavrov. [1]")]
