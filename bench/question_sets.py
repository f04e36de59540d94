"""The question sets the fitting benches share (bench/cv.py, bench/fit_phrase.py): every set with gold answers.

A set is named as under shared/evaldata (``xquad-dev``, ``seed``) or given as a folder path; its articles are
the folder's ``articles/``, except the seed set's, which are the project's own ``seeds/``, and bench/newsreal's,
the shared summary set's real news articles (``ARTICLES_ELSEWHERE``). bench/newsreal is a check, not in ``DEFAULT``:
nothing is fitted on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.core import Assistant
from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.questions import load_questions
from assistant.eval.records import EvalQuestion
from assistant.models import Answer, Citation
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
EVALDATA = ROOT.parent / "shared" / "evaldata"
# Sets whose questions are about articles kept outside the project (never copied into it).
ARTICLES_ELSEWHERE = {"newsreal": EVALDATA / "cnn-summary-dev" / "articles"}
DEFAULT = ["xquad-dev", "seed", str(ROOT / "bench" / "newsdev"), str(ROOT / "bench" / "newswire")]


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: Path
    articles: Path


def resolve(specs: list[str] | None) -> list[QuestionSet]:
    """The sets named (default: all of DEFAULT), skipping any that is not on this machine."""
    sets = []
    for spec in specs or DEFAULT:
        folder = Path(spec) if "/" in spec else EVALDATA / spec
        articles = ARTICLES_ELSEWHERE.get(folder.name) or (folder / "articles" if (folder / "articles").is_dir()
                                                            else ROOT / "seeds")
        if (folder / "questions.jsonl").exists() and articles.is_dir():
            sets.append(QuestionSet(folder.name, folder / "questions.jsonl", articles))
    return sets


def answered(question_set: QuestionSet) -> Iterator[tuple[Assistant, EvalQuestion, Answer, Citation]]:
    """Each answerable factoid question of the set that the real assistant answers (default settings), with its
    answer and best-scored citation: what the phrase benches fit on."""
    assistant = open_eval_index(question_set.articles, load_settings(), default_cache_root()).assistant
    for q in load_questions(question_set.questions):
        if not q.answerable or q.task != "factoid":
            continue
        answer = assistant.ask(q.question)
        if not answer.refused and answer.citations:
            yield assistant, q, answer, max(answer.citations, key=lambda c: c.score)
