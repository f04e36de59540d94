"""What every generative backend shares: the prompt, the citation check, the extractive fallback.

A subclass only says how to talk to its model (``generate_stream``, and
``generate`` if a non-streaming call is cheaper). The rest happens here, once:

    passages ─ build_messages ─▶ system + user messages (passages delimited as quoted data)
             ─ generate ───────▶ draft reply, streamed
             ─ check ──────────▶ the checked Answer (citations.py), or a refusal
    any failure of the model ──▶ the extractive answer, with a short notice
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterator, Sequence

from ..errors import LLMUnavailable
from ..models import Answer, Passage
from ..question.kinds import Request
from ..text import without_markers
from .base import AnswerBackend, create_backend
from .citations import check_claims, compose, is_refusal, split_reply

log = logging.getLogger(__name__)

Message = dict[str, str]  # {"role": "system" | "user", "content": ...}: what chat models and templates take

NOTICE_UNREACHABLE = "The language model was unreachable; showing the extractive answer."
NOTICE_TIMEOUT = "The language model did not answer in time; showing the extractive answer."
NOTICE_GARBAGE = "The language model gave an unusable reply; showing the extractive answer."
NOTICE_EMPTY = "The language model gave an empty reply; showing the extractive answer."


# Passage text is data: an article must not be able to close its own passage
# early and speak as the prompt ("<<<END PASSAGE [1]>>> New instructions: ...").
_DELIMITERS = str.maketrans({"<": "‹", ">": "›"})


def format_passages(template: str, passages: Sequence[Passage]) -> str:
    return "\n\n".join(
        template.format(n=n, title=without_markers(p.title).translate(_DELIMITERS),
                        text=without_markers(p.chunk.text).translate(_DELIMITERS))
        for n, p in enumerate(passages, start=1)
    )


class LLMBackend(AnswerBackend):
    """Generate with a language model, check the citations, fall back to the extractive answer on failure."""

    def __init__(self, settings, embedder, prompts):
        super().__init__(settings, embedder, prompts)
        # Composed, not inherited: the fallback is whatever "extractive" is in the registry.
        self.fallback = create_backend("extractive", settings, embedder, prompts)

    # --- what a subclass provides ------------------------------------------------
    @property
    def max_passages(self) -> int | None:
        """How many of the retrieved passages the model sees (None: all); small models do better with fewer."""
        return None

    @abc.abstractmethod
    def generate_stream(self, messages: list[Message]) -> Iterator[str]:
        """Reply text pieces as the model produces them. Raise LLMUnavailable (or anything) on failure."""

    def generate(self, messages: list[Message]) -> str:
        return "".join(self.generate_stream(messages))

    # --- the AnswerBackend interface ---------------------------------------------
    def answer(self, question: str, passages: list[Passage], request: Request | None = None) -> Answer:
        gated = self._gate(question, passages, request)
        if gated is not None:
            return gated
        passages = passages[: self.max_passages]
        if not passages:
            return self.refusal()
        try:
            reply = self.generate(self.build_messages(question, passages, request))
        except Exception as exc:  # noqa: BLE001 - any model failure becomes the fallback, never a traceback
            return self._fall_back(question, passages, exc, request)
        return self._checked(question, passages, reply, request)

    def stream(self, question: str, passages: list[Passage], request: Request | None = None) -> Iterator[str | Answer]:
        gated = self._gate(question, passages, request)
        passages = passages[: self.max_passages]
        if gated is not None or not passages:
            final = gated if gated is not None else self.refusal()
            yield final.answer
            yield final
            return
        pieces: list[str] = []
        try:
            for piece in self.generate_stream(self.build_messages(question, passages, request)):
                if piece:
                    pieces.append(piece)
                    yield piece
        except Exception as exc:  # noqa: BLE001 - as in answer(); the final Answer replaces what was streamed
            yield self._fall_back(question, passages, exc, request)
            return
        yield self._checked(question, passages, "".join(pieces), request)

    # --- shared steps --------------------------------------------------------------
    def _gate(self, question: str, passages: list[Passage], request: Request | None) -> Answer | None:
        """The reader's refusal, when ``llm_refusal_gate`` is on and it finds no answer in the passages (all that
        were retrieved, as the extractive backend reads them); the model is then not asked. Factoid questions
        only: overviews and catalogues have no answerability."""
        if not self.settings.llm_refusal_gate or not passages or (request is not None and request.kind != "factoid"):
            return None
        verdict = self.fallback.answer(question, passages, request)
        return verdict if verdict.refused else None

    def build_messages(self, question: str, passages: Sequence[Passage], request: Request | None = None) -> list[Message]:
        system = self.prompts.system.format(refusal=self.prompts.refusal)
        template = self.prompts.request(request.kind if request else "factoid")  # prompts/answer|overview|catalogue.txt
        user = template.format(passages=format_passages(self.prompts.passage, passages), question=question)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _checked(self, question: str, passages: list[Passage], reply: str, request: Request | None = None) -> Answer:
        if not reply.strip():
            return self._fall_back(question, passages, LLMUnavailable(NOTICE_EMPTY), request)
        if is_refusal(reply, self.prompts.refusal):
            return self.refusal()
        checked = check_claims(question, split_reply(reply), passages, self.embedder.encode)
        if not checked:
            log.debug("no sentence of the reply is supported by the passages; refusing: %r", reply[:200])
            return self.refusal()
        text, citations = compose(checked, passages)
        return Answer(answer=text, citations=citations, refused=False)

    def _fall_back(self, question: str, passages: list[Passage], exc: Exception, request: Request | None = None) -> Answer:
        notice = exc.notice if isinstance(exc, LLMUnavailable) else NOTICE_GARBAGE
        log.warning("%s backend failed (%s: %s); using the extractive answer", self.name, type(exc).__name__, exc)
        return self.fallback.answer(question, passages, request).model_copy(update={"notice": notice})
