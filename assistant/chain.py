"""The chain: classify → condense → retrieve → answer, as plain typed calls.

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

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from . import errors
from .answer.base import AnswerBackend
from .index import CollectionScope
from .models import Answer, Filters, Passage, Turn
from .question.condense import condense
from .question.kinds import Request, asking_part, classify
from .question.titles import NamedArticles, folded, named_articles, quotes_something, titled_articles
from .retrieval import HybridRetriever

# How much of an article an overview reads: news puts its key facts in the first chunks.
OVERVIEW_CHUNKS = 6
# The catalogue reads every article's first chunk, most recent first, up to this many.
CATALOGUE_ARTICLES = 200
# Beyond that many, "Which articles are about X?" reads first the articles of this many passages nearest X.
TOPIC_PASSAGES = 100


@dataclass(frozen=True)
class Prepared:
    question: str  # standalone: follow-up pronouns resolved
    passages: list[Passage]
    request: Request


# An overview of several articles ("Summarize the articles.", "each article", "all of them").
_MANY = re.compile(r"\b(?:articles|all|each|every|them)\b", re.IGNORECASE)


class AnswerChain:
    def __init__(self, retriever: HybridRetriever, backend: AnswerBackend):
        self.retriever = retriever
        self.backend = backend
        self._titles: tuple[int, list[tuple[str, str]]] | None = None  # (manifest generation, folded titles)

    def prepare(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Prepared:
        """What the question is (kinds.py), and the passages that answer it: the retrieved ones for a factoid
        question, the scoped article's opening for an overview, every article's lead for a catalogue."""
        filters, scope = self.retriever.resolve(filters or Filters())
        question = asking_part(question)
        request = classify(question)
        if request.kind == "small_talk":  # "Hi!", "Thanks.": nothing to look up
            return Prepared(question, [], request)
        # A "Thanks" turn is no exchange about an article: the one before it is what a follow-up follows
        history = [turn for turn in history if classify(turn.question).kind != "small_talk"]
        named = None
        if request.title is not None:  # "Summarize Warsaw", "Who was Nikola Tesla?": those words, if a title
            named = self._named_by_title(question, request, filters, scope)
            if named is None:  # no article titled so: the request as it reads without a title
                request = request.untitled
        if named is None:
            named = self._named_by_title(question, request, filters, scope)
        if named is not None and named.ambiguous:  # say which articles it could be, one line each
            passages = self.retriever.openings(named.article_ids, 1)
            return Prepared(question, passages, Request("catalogue", ambiguous=named.said,
                                                        articles_total=len(passages)))
        if named is not None:
            filters = filters.model_copy(update={"article_ids": named.article_ids})
        if request.kind == "factoid":
            standalone = condense(named.asked_without(question) if named else question, history)
            return Prepared(standalone, self.retriever.search(standalone, filters=filters, k=k), request)
        known = {a.id: a for a in self.retriever.index.articles(scope)}
        if not known:
            what = f"in the collection(s) {', '.join(scope.names)}" if scope else "indexed yet"
            raise errors.InvalidRequest("question", f"no articles are {what}, so there is nothing to "
                                        f"{'summarise' if request.kind == 'overview' else 'list'}; add some first")
        in_scope = [a for a in known.values() if filters.admits(a.id, a.source, a.published)]
        if request.kind == "overview":
            if request.focus and history:  # "What does the article say about him?" after a question about Kerry
                request = replace(request, focus=condense(request.focus, history))
            # "the article" in a conversation is the one it is about; "the articles", "each article" are all of them
            many = bool(_MANY.search(question))
            article_ids = self._overview_articles(request, filters, in_scope, history if not many else (), many)
            if article_ids is not None:
                passages = self.retriever.openings(article_ids, OVERVIEW_CHUNKS)
                return Prepared(question, passages, request)
            # several articles and none named: a line for each ("What do the articles say about X?": those about X)
            request = replace(request, kind="catalogue", topic=request.focus)
        elif request.topic and history:  # "Which articles mention him?" after a question about Kerry
            request = replace(request, topic=condense(request.topic, history))
        newest = sorted(in_scope, key=lambda a: a.published or "", reverse=True)
        listed = [a.id for a in newest if a.chunks]
        searched = bool(request.topic) and len(listed) > CATALOGUE_ARTICLES
        if searched:  # too many leads to read: the articles nearest the topic first, whatever their age
            nearest = self.retriever.search(request.topic, filters=filters, k=TOPIC_PASSAGES)
            listed = list(dict.fromkeys([p.chunk.article_id for p in nearest] + listed))
        listed = listed[:CATALOGUE_ARTICLES]
        passages = self.retriever.openings(listed, 1)
        removed_meanwhile = len(listed) - len({p.chunk.article_id for p in passages})  # not counted either
        return Prepared(question, passages, replace(request, articles_total=len(in_scope) - removed_meanwhile,
                                                    searched=searched))

    def _named_by_title(self, question: str, request: Request, filters: Filters,
                        scope: CollectionScope | None = None) -> NamedArticles | None:
        """The article(s) the request names by title (titles.py), among those in scope (its collections too: a
        title of another collection is never matched). Looked for in overview requests (those that may say a title,
        "Tell me about X", "Who was X?", only there) and in questions with a quotation: a plain question pays
        nothing for it."""
        if filters.article_ids or request.kind == "catalogue":
            return None
        if request.kind == "factoid" and not quotes_something(question):
            return None
        titles = self._folded_titles()
        if scope is not None:
            titles = [(i, t) for i, t in titles if i in scope.articles]
        if filters.sources or filters.published_from or filters.published_to:
            admitted = {a.id for a in self.retriever.index.articles(scope)
                        if filters.admits(a.id, a.source, a.published)}
            titles = [(i, t) for i, t in titles if i in admitted]
        if request.title is not None:
            return titled_articles(request.title, titles, exact=request.exact_title)
        return named_articles(question, titles)

    def _folded_titles(self) -> list[tuple[str, str]]:
        """Every article's (id, folded title), folded once per manifest generation (9,000 titles take 100 ms)."""
        manifest = self.retriever.index.manifest
        generation = manifest.generation
        cached = self._titles
        if cached is None or cached[0] != generation:
            cached = self._titles = (generation, folded(manifest.titles()))
        return cached[1]

    def _overview_articles(self, request: Request, filters: Filters, in_scope: list,
                           history: Sequence[Turn] = (), many: bool = False) -> list[str] | None:
        """The articles an overview is of: the scope, else the article the request names, else the only one, else
        in a conversation the one it is about ("Summarize the article." after a question about Kerry's visit), else
        the one most about its focus ("What does the article say about castles?"; not "the articles")."""
        if filters.article_ids:
            return list(filters.article_ids)
        if request.names:  # "Summarize the article about Kerry's visit": the article that best matches the words
            found = self.retriever.search(request.names, filters=filters, k=1)
            if found:
                return [found[0].chunk.article_id]
        if len(in_scope) == 1:
            return [in_scope[0].id]
        if history:  # the article that best matches the last exchange: what its answer quoted
            last = history[-1]
            found = self.retriever.search(f"{last.question} {last.answer[:1000]}", filters=filters, k=1)
            if found:
                return [found[0].chunk.article_id]
        if request.focus and not many:
            found = self.retriever.search(request.focus, filters=filters, k=1)
            if found:
                return [found[0].chunk.article_id]
        return None

    def invoke(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer:
        prepared = self.prepare(question, history, filters, k)
        if prepared.request.kind == "small_talk":
            return self._traced(_small_talk(prepared.request), prepared)
        return self._traced(self.backend.answer(prepared.question, prepared.passages, prepared.request), prepared)

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Iterator[str | Answer]:
        prepared = self.prepare(question, history, filters, k)
        if prepared.request.kind == "small_talk":
            reply = _small_talk(prepared.request)
            yield reply.answer
            yield self._traced(reply, prepared)
            return
        for piece in self.backend.stream(prepared.question, prepared.passages, prepared.request):
            yield self._traced(piece, prepared) if isinstance(piece, Answer) else piece

    @staticmethod
    def _traced(answer: Answer, prepared: Prepared) -> Answer:
        return answer.model_copy(
            update={"question": prepared.question, "passages": prepared.passages, "kind": prepared.request.kind}
        )


def _small_talk(request: Request) -> Answer:
    """The same reply whatever the backend: no article holds an answer to "Hi!", so it is marked refused (no
    sources to show; a rating of it exports as an unanswerable question, which "Hi!" is)."""
    return Answer(answer=request.reply, refused=True, refusal_reason="small talk")
