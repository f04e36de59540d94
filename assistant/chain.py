"""The chain: condense → retrieve → answer, as plain typed calls.

One ``prepare`` (condense + retrieve) serves ``invoke`` and ``stream``, so the
two paths cannot drift apart, and the final :class:`Answer` carries what it was
reached from (the standalone question and the passages) for the evaluator.

Why not LangChain runnables here: the three steps are plain function calls on
typed values, and wrapping them in ``RunnableLambda``s only turned those values
into string-keyed dicts; nothing (callbacks, tracing, batching) used the
runnable. LangChain stays where it buys something: ``HybridRetriever`` is a
standard ``BaseRetriever`` for other people's chains, and the OpenAI backend
talks through langchain-openai.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .answer.base import AnswerBackend
from .condense import condense
from .models import Answer, Filters, Passage, Turn
from .retrieval import HybridRetriever


@dataclass(frozen=True)
class Prepared:
    question: str  # standalone: follow-up pronouns resolved
    passages: list[Passage]


class AnswerChain:
    def __init__(self, retriever: HybridRetriever, backend: AnswerBackend):
        self.retriever = retriever
        self.backend = backend

    def prepare(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Prepared:
        standalone = condense(question, history)
        return Prepared(standalone, self.retriever.search(standalone, filters=filters, k=k))

    def invoke(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer:
        prepared = self.prepare(question, history, filters, k)
        return self._traced(self.backend.answer(prepared.question, prepared.passages), prepared)

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Iterator[str | Answer]:
        prepared = self.prepare(question, history, filters, k)
        for piece in self.backend.stream(prepared.question, prepared.passages):
            yield self._traced(piece, prepared) if isinstance(piece, Answer) else piece

    @staticmethod
    def _traced(answer: Answer, prepared: Prepared) -> Answer:
        return answer.model_copy(update={"question": prepared.question, "passages": prepared.passages})
