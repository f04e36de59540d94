"""The chain: condense → retrieve → answer, wired as one LangChain runnable.

``prepare`` (condense + retrieve) is shared by ``invoke`` and ``stream`` so the
two paths cannot drift apart; streaming hands the prepared passages to the
backend's token stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from .answer.base import AnswerBackend, Turn
from .condense import condense
from .models import Answer, Passage
from .retrieval import Filters, HybridRetriever



class AnswerChain:
    def __init__(self, retriever: HybridRetriever, backend: AnswerBackend):
        self.retriever = retriever
        self.backend = backend
        self.prepare: Runnable = RunnablePassthrough.assign(
            standalone=RunnableLambda(lambda x: condense(x["question"], x.get("history") or ()))
        ) | RunnablePassthrough.assign(
            passages=RunnableLambda(
                lambda x: [
                    doc.metadata["passage"]
                    for doc in self.retriever.invoke(x["standalone"], filters=x.get("filters"), k=x.get("k"))
                ]
            )
        )
        self.runnable: Runnable = self.prepare | RunnableLambda(
            lambda x: self.backend.answer(x["standalone"], x["passages"])
        )

    @staticmethod
    def inputs(question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None) -> dict:
        return {"question": question, "history": list(history), "filters": filters, "k": k}

    def invoke(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None) -> Answer:
        return self.runnable.invoke(self.inputs(question, history, filters, k))

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Iterator[str | Answer]:
        prepared = self.prepare.invoke(self.inputs(question, history, filters, k))
        yield from self.backend.stream(prepared["standalone"], prepared["passages"])
