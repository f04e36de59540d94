"""The conversation and feedback store on a real SQLite file: ownership, retention, and the eval export."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from assistant import errors
from assistant.eval.questions import load_questions
from assistant.models import Answer, Citation, Turn
from assistant.settings import load_settings
from assistant.store import Store, database_url
from assistant.store.feedback import export_questions
from assistant.store.tables import ConversationRow

pytestmark = pytest.mark.fast

QUOTE = 'Russia and the US set up a "Joint Implementation Group" or JIG.'


def answer(text="It is the Joint Implementation Group [1].", refused=False, standalone="What is JIG?") -> Answer:
    citation = Citation(n=1, article_id="kerry", title="Kerry in Moscow", source="/srv/articles/kerry.txt",
                        quote=QUOTE, start=100, end=100 + len(QUOTE), score=0.8,
                        passage="Before. " + QUOTE + " After.", passage_start=92, highlight_start=28, highlight_end=54)
    return Answer(answer=text, citations=[] if refused else [citation], refused=refused, question=standalone)


@pytest.fixture
def store(tmp_path):
    settings = load_settings(index_dir=tmp_path / "index", conversation_days=30)
    return Store(database_url(settings), settings)


def test_the_database_sits_beside_the_index(tmp_path, store):
    assert store.url == f"sqlite:///{(tmp_path / 'index').resolve()}/conversations.sqlite3"
    assert (tmp_path / "index" / "conversations.sqlite3").is_file()


def test_conversations_keep_their_answers_and_citations_for_their_owner_only(store):
    first = store.conversations.add_answer("page:a", "What does JIG stand for?", answer(), conversation_id="new")
    second = store.conversations.add_answer("page:a", "Who made it?", answer("Kerry [1]."),
                                            conversation_id=first.conversation_id,
                                            history=[Turn(question="What does JIG stand for?", answer="It is…")])
    [listed] = store.conversations.conversations("page:a")
    assert (listed.title, listed.answers) == ("What does JIG stand for?", 2)
    kept = store.conversations.conversation("page:a", first.conversation_id)
    assert [t.question for t in kept.turns] == ["What does JIG stand for?", "Who made it?"]
    assert kept.turns[1].history[0].question == "What does JIG stand for?"
    cited = kept.turns[0].citation(1)  # the passage and highlight come back, for the page's cards
    assert (cited.passage, cited.passage_start, cited.highlight_start) == ("Before. " + QUOTE + " After.", 92, 28)
    assert second.answer.id == second.id
    # Another owner sees nothing of it, and cannot add to it or delete it.
    assert store.conversations.conversations("page:b") == []
    for attempt in (lambda: store.conversations.conversation("page:b", first.conversation_id),
                    lambda: store.conversations.delete("page:b", first.conversation_id),
                    lambda: store.conversations.add_answer("page:b", "q", answer(), conversation_id=first.conversation_id)):
        with pytest.raises(errors.ConversationNotFound, match="conversation_id: no conversation with id"):
            attempt()
    with pytest.raises(errors.AnswerNotFound):
        store.conversations.answer("page:b", first.id)
    assert store.conversations.conversation("page:a", first.conversation_id).answers == 2
    store.conversations.delete("page:a", first.conversation_id)
    assert store.conversations.conversations("page:a") == []
    with pytest.raises(errors.AnswerNotFound):
        store.conversations.answer("page:a", first.id)  # its answers went with it


def test_conversations_unused_past_the_retention_are_deleted_but_feedback_stays(store):
    old = store.conversations.add_answer("page:a", "Old question?", answer(), conversation_id="new")
    store.feedback.give("page:a", old.id, "up")
    fresh = store.conversations.add_answer("page:a", "New question?", answer(), conversation_id="new")
    with store.conversations.sessions.begin() as session:
        session.execute(update(ConversationRow).where(ConversationRow.id == old.conversation_id)
                        .values(updated_at=ConversationRow.updated_at - timedelta(days=31)))
    assert [c.id for c in store.conversations.conversations("page:a")] == [fresh.conversation_id]  # hidden at once
    assert store.conversations.purge_expired(force=True) == 1
    with pytest.raises(errors.ConversationNotFound):
        store.conversations.conversation("page:a", old.conversation_id)
    assert [f.question for f in store.feedback.all()] == ["Old question?"]


def test_feedback_checks_its_answer_rating_and_comment_and_stores_nothing_bad(store):
    kept = store.conversations.add_answer("page:a", "What does JIG stand for?", answer(), conversation_id="new")
    with pytest.raises(errors.AnswerNotFound, match="answer_id: no answer with id 'nope'"):
        store.feedback.give("page:a", "nope", "down")
    with pytest.raises(errors.AnswerNotFound):
        store.feedback.give("page:b", kept.id, "down")  # someone else's answer
    with pytest.raises(errors.InvalidRequest, match="comment: is 100,000 characters; the limit is 2,000"):
        store.feedback.give("page:a", kept.id, "down", "x" * 100_000)
    with pytest.raises(errors.InvalidRequest, match="rating"):
        store.feedback.give("page:a", kept.id, "meh")
    assert store.feedback.all() == []
    store.feedback.give("page:a", kept.id, "up")
    changed = store.feedback.give("page:a", kept.id, "down", "It cites the wrong line.")
    [only] = store.feedback.all()  # one rating per answer: the second replaced the first
    assert (only.id, only.rating, only.comment) == (changed.id, "down", "It cites the wrong line.")
    assert only.settings["top_k"] == 5 and "admin_keys" not in only.settings
    # The settings recorded are those the answer was given with, not the server's at feedback time.
    other = store.conversations.add_answer("page:a", "Q?", answer(), settings={"top_k": 9})
    assert store.feedback.give("page:a", other.id, "up").settings == {"top_k": 9}


def test_export_writes_questions_the_evaluator_reads(store, tmp_path):
    up = store.conversations.add_answer("page:a", "What does JIG stand for?", answer(standalone="What does JIG stand for?"),
                                        conversation_id="new")
    follow = store.conversations.add_answer(
        "page:a", "And what does it do?", answer("It coordinates [1].", standalone="What does the JIG do?"),
        conversation_id=up.conversation_id,
        history=[Turn(question="What does JIG stand for?", answer="…")],
    )
    refusal = store.conversations.add_answer("page:a", "Who won the cup?", answer("The articles don't say.", True))
    store.feedback.give("page:a", up.id, "up")
    store.feedback.give("page:a", follow.id, "down", "Wrong sentence.")
    store.feedback.give("page:a", refusal.id, "down")
    done = export_questions(store.feedback.all(), tmp_path / "out" / "feedback.jsonl")
    assert (done.written, done.regression, done.review, len(done.left_out)) == (2, 1, 1, 1)
    regression, review = load_questions(tmp_path / "out" / "feedback.jsonl")
    assert (regression.question, regression.answers, regression.article, regression.answerable) == (
        "What does JIG stand for?", (QUOTE,), "kerry.txt", True)
    # The follow-up is asked as the standalone question it became; it is marked for review, not scored as gold.
    assert (review.question, review.answers, review.answerable) == ("What does the JIG do?", (), False)
    line = (tmp_path / "out" / "feedback.jsonl").read_text().splitlines()[1]
    assert '"review": "thumbs-down"' in line and "Wrong sentence." in line and "It coordinates [1]." in line


def test_questions_and_comments_are_kept_without_what_a_screen_would_obey(store):
    """A visitor (a widget's key is public) may send escapes, a carriage return or a bidi override for an admin's
    `assistant feedback list` to replay: a question is kept as answered (one clean line), a comment keeps its lines
    but not those."""
    kept = store.conversations.add_answer(
        "page:a", "Who \x1b[2Jwill\u202e Kerry meet?\x9b31m", answer(), conversation_id="new",
        history=[Turn(question="Where\r\nINFO forged?", answer="In Geneva [1].\nOn Friday.")])
    store.feedback.give("page:a", kept.id, "down",
                        "wrong\x1b]0;OWNED\x07 city\r\nforged row\u202e\nsecond line 👨\u200d👩\u200d👧 می\u200cخواهم")
    [record] = store.feedback.all()
    assert record.question == "Who will Kerry meet?"
    # ESC, BEL, CR and U+202E gone; the joiners that spell a family and a Persian word stay
    assert record.comment == "wrong]0;OWNED city\nforged row\nsecond line 👨\u200d👩\u200d👧 می\u200cخواهم"
    turn = store.conversations.conversation("page:a", kept.conversation_id).turns[0]
    assert list(turn.history) == [Turn(question="Where INFO forged?", answer="In Geneva [1].\nOn Friday.")]
