"""`Assistant`: the one object every surface (chat page, API, CLI, evaluator) holds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import ValidationError

from . import errors
from .answer import create_backend
from .answer.base import AnswerBackend
from .chain import AnswerChain
from .embeddings import Embedder, get_embedder, name_for
from .feeder import OWNER, Feeds
from .index import Index, embedder_kind
from .index.feed_table import FeedState, FeedTable
from .index.ownership import claim, describe
from .index.vectors import VectorStore
from .ingest.fetch import LoadedLink
from .ingester import (
    Ingester,
    ProgressCallback,
    article_files,  # noqa: F401 - eval's
    file_is_gone,
    is_pageless_feed_item,
    links_of,
)
from .models import (
    DEFAULT_COLLECTION,
    Answer,
    Article,
    ArticleInfo,
    Chunk,
    CollectionInfo,
    FeedInfo,
    Filters,
    IngestReport,
    Link,
    Passage,
    Turn,
    collection_name,
    parse_link,
)
from .prompts import load_prompts
from .retrieval import HybridRetriever
from .settings import MAX_TOP_K, Settings, load_settings
from .store import Store, open_store
from .text import clean_line

log = logging.getLogger("assistant")


def vector_space(settings: Settings) -> str:
    """The name of the vectors an index built with these settings holds (what an index records)."""
    return name_for(settings.embedder)


def migrate_databases(settings: Settings) -> list[tuple[str, str, str]]:
    """Bring the manifest's and the store's databases to the newest schema; (part, where, revision) of each,
    the URL without its password. Needs no model: `assistant migrate` runs it before a rolling upgrade."""
    from . import database
    from .index.manifest import Manifest, manifest_url
    from .store import database_url

    Manifest.from_settings(settings)
    open_store(settings)
    done = []
    for part, url in (("manifest", manifest_url(settings)), ("store", database_url(settings))):
        revision = ", ".join(sorted(r for r in database.revisions(url) if r.startswith(part)))
        done.append((part, database.redact(url), revision))
    return done


@dataclass(frozen=True)
class IndexStatus:
    articles: int
    vectors: int
    write_problem: str | None  # e.g. the disk is full; None when a write could land
    generation: int = 0  # of the manifest: bumped by every write, in whichever process or replica
    keyword_generation: int | None = None  # the manifest generation this process's keyword index reflects


@contextmanager
def claimed(settings: Settings, command: str, *, url: str | None = None,
            on_wait: Callable[[str], None] | None = None) -> Iterator[Assistant]:
    """An Assistant for one command, holding the index folder for it (see assistant/index/ownership.py):
    a second server, or a command while one serves, is refused naming the holder; commands take turns.
    ``on_wait`` gets a sentence saying whom this command waits for."""

    def waiting(owner: dict) -> None:
        if on_wait:
            on_wait(f"the index at {settings.index_dir} is in use by {describe(owner)}")

    with claim(settings, command, url=url, on_wait=waiting):
        yield Assistant(settings)


class Assistant:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        backend: AnswerBackend | None = None,
    ):
        self.settings = settings or load_settings()
        self.embedder = embedder or get_embedder(embedder_kind(self.settings), self.settings.embed_batch_size)
        self.index = Index(self.settings, self.embedder, store)
        self.prompts = load_prompts(Path(self.settings.prompts_dir))
        self.retriever = HybridRetriever(index=self.index, embedder=self.embedder, settings=self.settings)
        self.ingester = Ingester(self.settings, self.embedder, self.index, self.retriever)
        # One chain per backend, built on first use; a backend object given here is the default.
        self._default_backend = backend
        self._chains: dict[str, AnswerChain] = {}
        if backend is not None:
            self._chains[backend.name] = AnswerChain(self.retriever, backend)
        self._backends_lock = threading.Lock()

    # --- ingest ------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path] = (),
        *,
        links: Sequence[Link | LoadedLink] = (),
        on_progress: ProgressCallback | None = None,
        on_written: Callable[[list[str]], None] | None = None,
        sources: dict[str, str] | None = None,
        max_chunks: int | None = None,
        collection: str | None = None,
        prune: bool = False,
    ) -> IngestReport:
        """Ingest files and folders (``paths``) and pages (``links``) into ``collection`` (it must exist; None: a
        new article goes in ``default``, a known one stays in its collections); ``prune``: remove the articles of
        files gone from those folders. See :meth:`Ingester.ingest`."""
        if isinstance(paths, (str, Path)):  # one path, not its characters (".": the working directory)
            paths = [paths]
        collection_id = None if collection is None else self.index.manifest.collection_id(collection_name(collection))
        return self.ingester.ingest(paths, links=links, on_progress=on_progress, on_written=on_written,
                                    sources=sources, max_chunks=max_chunks, collection_id=collection_id,
                                    prune=prune)

    def fetch_links(self, links: Sequence[Link], *, feeds: bool = True) -> list[LoadedLink]:
        """Fetch pages several at a time, outside the write lock (:meth:`Ingester.fetch_links`)."""
        return self.ingester.fetch_links(links, feeds=feeds)

    def sync(self, *, on_progress: ProgressCallback | None = None) -> IngestReport:
        """Read every article again from where it came from: its link (conditional requests) or its file on this
        machine; replace the ones whose text changed. A link that fails, or a file no longer there, keeps its old
        copy and is reported in ``failed``. The items of a followed feed are left to its polls: the feed says
        their title and date (and their text, when it carries it), their page alone does not. Uploads are not
        kept, so they cannot be read again."""
        followed = {article_id for state in self.feeds.table.states() for article_id in state.items}
        articles = [a for a in self.articles() if a.id not in followed]
        files = {a.source: a.id for a in articles if Path(a.source).is_absolute()}  # a link's or upload's is not
        gone = {source: article_id for source, article_id in files.items() if file_is_gone(Path(source))}
        report = self.ingest([s for s in files if s not in gone], links=self.fetch_links(links_of(articles), feeds=False),
                             on_progress=on_progress)
        report.failed += [(source, f"no longer there (moved or deleted): `assistant remove {article_id}`, or "
                                   "`assistant ingest --prune` its folder") for source, article_id in gone.items()]
        return report

    def remove(self, article_id: str, collections: Sequence[str] | None = None) -> bool:
        """Remove an article. With ``collections`` (a scoped caller's), only from those: an article also in
        another collection stays there (False), one in none of them is ArticleNotFound. True: it is gone."""
        with self.index.writing():
            if collections is not None:
                scope = self.index.scope(collections)
                if scope is None or article_id not in scope.articles:  # named as asked: never "not in the index"
                    named = ", ".join(repr(c) for c in collections)
                    raise errors.ArticleNotFound(article_id, where=f"collection{'s' * (len(collections) > 1)} {named}")
                member_of = self.index.manifest.article_collections([article_id]).get(article_id, [])
                for collection_id in [c for c in member_of if c in scope.ids]:
                    if not self.index.leave(article_id, collection_id):
                        break  # its last collection: the article goes
                else:
                    log.info("article %s left %s", article_id, ", ".join(collections))
                    return False
            self.index.remove(article_id)
        log.info("removed article %s", article_id)
        self.retriever.refresh_keyword_index()
        return True

    def reingest(self, article_id: str, collections: Sequence[str] | None = None) -> IngestReport:
        """Ingest an article again from where it came from (its link, or its file on this server)."""
        article = self.article(article_id, collections)
        links = links_of([article])  # it stays in the collections it is in
        if links:
            return self.ingest(links=links, max_chunks=self.settings.ingest_max_chunks)
        if not Path(article.source).is_file():
            if article.source.startswith("upload:"):
                said = "was uploaded, and uploads are not kept; upload the file again to replace it"
            elif is_pageless_feed_item(article):
                said = "is an item of a feed with no page of its own; ingest the feed again to read it again"
            else:  # a file's id is its path: the file where it is now is another article
                said = (f"is no longer at {article.source} (moved or deleted); remove it, and ingest the file where "
                        "it is now")
            raise errors.InvalidRequest("article_id", f"{article.title!r} {said}")
        return self.ingest([article.source], max_chunks=self.settings.ingest_max_chunks)

    def articles(self, collections: Sequence[str] | None = None) -> list[ArticleInfo]:
        """Every article, or (``collections``) those in any of these collections (CollectionNotFound)."""
        return self.index.articles(self.index.scope(collections or ()))

    def article(self, article_id: str, collections: Sequence[str] | None = None) -> Article:
        """One article; with ``collections`` (a scoped caller's), only one in them: any other is the same
        ArticleNotFound as a missing one, so ids are not to be probed."""
        if collections is not None:
            scope = self.index.scope(collections)
            if scope is None or article_id not in scope.articles:
                raise errors.ArticleNotFound(article_id)
        return self.index.manifest.article(article_id)

    # --- collections ---------------------------------------------------------
    def collections(self, names: Sequence[str] | None = None) -> list[CollectionInfo]:
        """Every collection (``names``: those of them only), with its article and chunk counts."""
        listed = self.index.manifest.collections()
        return listed if names is None else [c for c in listed if c.name in set(names)]

    def create_collection(self, name: str) -> CollectionInfo:
        """A new, empty collection. The index's second collection first copies the vectors into partitions
        (about a minute per 100k chunks on 2 cores), so that a scoped question searches its own vectors only."""
        name = collection_name(name, "name")
        with self.index.writing():
            self.index.create_collection(name)
        return next(c for c in self.collections() if c.name == name)

    def rename_collection(self, name: str, new_name: str, *, field: str = "new_name") -> CollectionInfo:
        """Rename a collection (its articles and vectors stay; keys and feeds that name the old name must be
        changed too). ``default`` keeps its name. ``field``: what the caller calls ``new_name`` (errors name it)."""
        new_name = collection_name(new_name, field)
        if name == DEFAULT_COLLECTION:
            raise errors.CollectionConflict("name: 'default' is where articles go when no collection is named; it "
                                            "cannot be renamed")
        self.index.manifest.rename_collection(name, new_name, field=field)
        self._jobs_follow(name, new_name)
        return next(c for c in self.collections() if c.name == new_name)

    def remove_collection(self, name: str, *, force: bool = False) -> tuple[list[str], list[str]]:
        """Remove a collection: (the articles removed with it, the articles it held that stay because another
        collection holds them too). A collection with articles needs ``force``; ``default`` stays."""
        if name == DEFAULT_COLLECTION:
            raise errors.CollectionConflict("name: 'default' is where articles go when no collection is named; it "
                                            "cannot be removed")
        with self.index.writing():
            collection_id = self.index.manifest.collection_id(name)
            members = self.index.manifest.member_articles([collection_id])
            if members and not force:
                only = sorted(members - self._elsewhere(members, collection_id))
                titles = [a.title for a in self.index.manifest.articles([collection_id]) if a.id in set(only)]
                shown = "; ".join(repr(t) for t in titles[:5]) + (f"; and {len(titles) - 5} more" if len(titles) > 5 else "")
                raise errors.CollectionConflict(
                    f"name: {name!r} holds {len(members)} article(s); removing it removes the {len(only)} in no other "
                    f"collection from the index{': ' + shown if only else ''}. Say force (`--force`, ?force=true) "
                    "to remove it")
            FeedTable(self.index.manifest).remove_of_collection(collection_id)  # nothing to put its items in
            removed, kept = self.index.delete_collection(collection_id)
        self._jobs_follow(name, None)
        if removed:
            self.retriever.refresh_keyword_index()
        return removed, kept

    def _jobs_follow(self, name: str, new_name: str | None) -> None:
        try:
            self.store.jobs.rename_collection(name, new_name)
        except errors.AssistantError:  # done in the index all the same; GET /api/jobs also checks the collection exists
            log.warning("upload jobs of the collection %r still name it", name, exc_info=True)

    def article_collections(self, article_id: str, within: Sequence[str] | None = None) -> list[str]:
        """The names of the collections an article is in (``within``: of those only)."""
        names = {i: n for n, i in self.index.manifest.collection_ids().items()}
        member_of = self.index.manifest.article_collections([article_id]).get(article_id, [])
        return sorted(names[c] for c in member_of if c in names and (within is None or names[c] in within))

    def _elsewhere(self, article_ids: set[str], collection_id: int) -> set[str]:
        member_of = self.index.manifest.article_collections(article_ids)
        return {a for a, cs in member_of.items() if any(c != collection_id for c in cs)}

    def add_to_collection(self, article_ids: Sequence[str], name: str) -> list[str]:
        """Put indexed articles in a collection too (ArticleNotFound for an id not indexed); the ids newly in it."""
        with self.index.writing():
            collection_id = self.index.manifest.collection_id(name)
            for article_id in article_ids:
                if self.index.manifest.content_hash(article_id) is None:
                    raise errors.ArticleNotFound(article_id)
            return self.index.join(article_ids, collection_id)

    # --- feeds ---------------------------------------------------------------
    @property
    def feeds(self) -> Feeds:
        """The feeds this index follows (add, list, remove: assistant/feeder.py)."""
        return Feeds(self.settings, self.index.manifest)

    def poll_feed(self, feed: int | str, *, owner: str = OWNER, force: bool = False) -> FeedInfo | None:
        """Poll one feed (by id or link) now: fetch it conditionally, ingest its new and changed items into its
        collection (items the feed says the same of as last time are not read again), take those gone from the
        feed out of the collection when it prunes, and record the outcome. A feed that fails (not a feed, too
        large, too slow) records its error and changes nothing. None when another replica holds it, or (without
        ``force``) its poll is not due."""
        feeds = self.feeds
        state = feeds.state(feed)
        lease_s = self.settings.feed_lease_s
        if not feeds.table.take(state.info.id, owner, lease_s, due_only=not force):
            return None
        with feeds.table.held(state.info.id, owner, lease_s):  # a poll may outlast one lease: slow pages, the lock
            try:
                outcome = self._poll(state, owner)
            except errors.AssistantError as exc:  # e.g. the disk is full: the feed says so, and is polled again later
                outcome = {"ok": False, "error": str(exc), "report": None}
            except Exception:
                log.exception("polling the feed %s failed", state.info.url)
                outcome = {"ok": False, "error": "internal error while polling; see the server's log", "report": None}
        feeds.table.finish(state.info.id, owner, **outcome)
        try:
            return feeds.state(state.info.id).info
        except errors.FeedNotFound:  # removed while it was polled: what this poll did, all the same
            return replace(state.info, last_error=outcome["error"], last_report=outcome["report"])

    def poll_due_feeds(self, owner: str = OWNER) -> list[FeedInfo]:
        """Poll every feed whose time has come and that no other replica holds, ``feed_poll_workers`` at a time (a
        slow site delays its own feed only); what was polled, in the order the feeds fell due.

        The feeds of a collection that one of them prunes are polled one after another: a prune takes out what
        no other feed of the collection lists as of its last poll, so a sibling's poll under way (which may just
        have added that item) must finish first."""
        due = self.feeds.table.due()
        if not due:
            return []
        feeds = {state.info.id: state.info for state in self.feeds.table.states()}
        pruned = {info.collection for info in feeds.values() if info.prune}
        turns: dict[object, list[int]] = {}  # each list polled in order, the lists side by side
        for feed_id in due:
            collection = feeds[feed_id].collection if feed_id in feeds else None
            turns.setdefault(collection if collection in pruned else feed_id, []).append(feed_id)

        def poll(feed_ids: list[int]) -> list[FeedInfo | None]:
            return [self._poll_if_there(feed_id, owner) for feed_id in feed_ids]

        workers = min(self.settings.feed_poll_workers, len(turns))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assistant-feed-poll") as pool:
            polled = {feed_id: info for feed_ids, infos in zip(turns.values(), pool.map(poll, turns.values()))
                      for feed_id, info in zip(feed_ids, infos)}
        return [polled[feed_id] for feed_id in due if polled[feed_id] is not None]

    def _poll_if_there(self, feed_id: int, owner: str) -> FeedInfo | None:
        try:
            return self.poll_feed(feed_id, owner=owner)
        except errors.FeedNotFound:  # removed since due() listed it: the others are polled all the same
            return None

    def _poll(self, state: FeedState, owner: str) -> dict:
        info = state.info
        loaded = self.ingester.fetch_feed(parse_link(info.url, "url"), state.etag, state.last_modified)
        kept = {"etag": loaded.validators.get("etag"), "last_modified": loaded.validators.get("last_modified")}
        if loaded.error is not None:
            return {"ok": False, "error": str(loaded.error), "report": None}
        if loaded.not_modified:  # the same validators may come back, or none: keep what we asked with
            kept = {"etag": kept["etag"] or state.etag, "last_modified": kept["last_modified"] or state.last_modified}
            return {"ok": True, "error": None, "report": "not modified", **kept}
        feed = loaded.feed
        report = self.ingest(links=self.ingester.feed_items(feed, known=state.items), collection=info.collection)
        failed = {path for path, _ in report.failed}
        seen = {item.article_id: item.fingerprint for item in feed.items if item.source not in failed}
        # Items read before and still listed, though past the newest read now: still the feed's (prune keeps them).
        seen |= {i: fp for i, fp in state.items.items() if i in feed.listed and i not in seen}
        said = report.counts()
        if info.prune:
            pruned, why = self._prune(state, feed, owner)
            said += ", " + why
            if not pruned:  # the items it did not list stay the feed's, for a poll that prunes to take out
                seen |= {i: fp for i, fp in state.items.items() if i not in seen}
        error = None
        if report.failed:
            path, reason = report.failed[0]
            error = f"{len(report.failed)} of {len(feed.items)} items failed; the first: {path}: {reason}"
            # Not the feed's validators: the next poll must read it whole (no 304) to try the failed items again.
            kept = {"etag": None, "last_modified": None}
        return {"ok": True, "error": error, "report": said, "items": seen, **kept}

    def _prune(self, state: FeedState, feed, owner: str) -> tuple[bool, str]:
        """Take the items gone from ``feed`` out of its collection, unless another feed of that collection still
        lists them: (whether it pruned, what it did). An empty feed, or a flawed one that lists fewer items than last time (cut short),
        prunes nothing: one bad response must not empty a collection. (Many feeds have a flaw feedparser reads
        past, an HTML entity or a bare "&": listing as many items as before, they prune.)"""
        if feed.flaw is not None and len(feed.listed) < len(state.items):
            return False, f"not pruned: the feed is malformed and lists fewer items than before ({feed.flaw})"
        if not feed.listed:
            return False, "not pruned: the feed lists no items"
        feeds = self.feeds
        if not feeds.table.renew(state.info.id, owner, self.settings.feed_lease_s):
            return False, "not pruned: another replica took the feed over"
        siblings = [s for s in feeds.table.states([feeds.manifest.collection_id(state.info.collection)])
                    if s.info.id != state.info.id]
        still_listed = {article_id for s in siblings for article_id in s.items}
        pruned = 0
        for gone in sorted(set(state.items) - feed.listed - still_listed):
            try:
                self.remove(gone, [state.info.collection])
                pruned += 1
            except errors.ArticleNotFound:  # removed by hand meanwhile
                pass
        return True, f"pruned {pruned}"

    def scoped(self, filters: Filters | None, allowed: Sequence[str] | None, *, field: str = "filters.collections"
               ) -> Filters:
        """``filters`` as a caller allowed ``allowed`` collections (None: every one) may ask them: collections it
        names must be allowed (OutOfScope: 403, whether or not they exist) and exist (CollectionNotFound: 404);
        naming none means all it may use, and a scoped caller always gets its collections written in, so its
        questions are fetched from them only."""
        filters = filters or Filters()
        known = self.index.manifest.collection_ids()
        if allowed is not None:
            outside = [c for c in filters.collections if c not in allowed]
            if outside:
                raise errors.OutOfScope(f"this key may not use the collection {outside[0]!r}; it may use "
                                        f"{', '.join(map(repr, sorted(allowed)))}", field)
        for name in filters.collections:
            if name not in known:
                raise errors.CollectionNotFound(name, field)
        if filters.collections or allowed is None:
            return filters
        present = tuple(c for c in sorted(allowed) if c in known)
        if not present:
            raise errors.CollectionNotFound(sorted(allowed)[0], "the key's collections")
        return filters.model_copy(update={"collections": present})

    # --- ask ---------------------------------------------------------------
    def backend(self, name: str | None = None) -> AnswerBackend:
        """The backend called ``name`` (default: the one given to the constructor, else ``settings.backend``)."""
        with self._backends_lock:
            name = name or (self._default_backend.name if self._default_backend else self.settings.backend)
            if name not in self._chains:
                backend = create_backend(name, self.settings, self.embedder, self.prompts)
                self._chains[name] = AnswerChain(self.retriever, backend)
            return self._chains[name].backend

    def chain(self, backend: str | None = None) -> AnswerChain:
        self.backend(backend)
        return self._chains[backend or self.backend().name]

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        *,
        backend: str | None = None,
        k: int | None = None,
    ) -> Answer:
        question = self.validate_question(question)
        return self.chain(backend).invoke(question, _history(history, self.settings.max_question_chars), _filters(filters), _k(k))

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        *,
        backend: str | None = None,
        k: int | None = None,
    ) -> Iterator[str | Answer]:
        question = self.validate_question(question)
        yield from self.chain(backend).stream(question, _history(history, self.settings.max_question_chars), _filters(filters), _k(k))

    def retrieve(self, question: str, filters: Filters | None = None, k: int | None = None) -> list[Passage]:
        """The ``k`` best passages for ``question``; ``filters`` are checked as ask checks them (an article id the
        index or the scope does not hold is an InvalidRequest, not an empty list)."""
        question, k = self.validate_question(question), _k(k)
        resolved, _scope = self.retriever.resolve(_filters(filters) or Filters())
        return self.retriever.search(question, filters=resolved, k=k)

    def as_retriever(self, k: int | None = None, filters: Filters | None = None) -> HybridRetriever:
        """This index's retrieval as a LangChain retriever, for chains of one's own (``retriever | format_docs``).

        Its Documents carry JSON-serialisable metadata (article_id, title, source, url, published, start, end,
        score). ``k`` (default: settings.top_k) and ``filters`` are its defaults; ``invoke(query, k=..., filters=...)``
        overrides them for one call. It shares this assistant's index and BM25 index, so an ingest shows at once.
        """
        return HybridRetriever(index=self.index, embedder=self.embedder, settings=self.settings, k=_k(k),
                               filters=_filters(filters))

    def validate_request(self, question: str, filters: Filters | None = None) -> None:
        """What ask and stream refuse before any work (InvalidRequest, CollectionNotFound): the question, and
        filters naming what the index or the scope does not hold. A stream's caller asks first, so that a bad
        request is an error status rather than an event in a stream that already said 200."""
        self.validate_question(question)
        # links are never an error (an article at none of them is dropped), so their scan of every article is left
        # to the answer itself
        self.retriever.resolve((_filters(filters) or Filters()).model_copy(update={"urls": ()}))

    def validate_question(self, question: str) -> str:
        if not isinstance(question, str):
            raise errors.InvalidRequest("question", "must be a string")
        cleaned = clean_line(question)
        if not cleaned:
            raise errors.InvalidRequest("question", "is empty")
        if len(cleaned) > self.settings.max_question_chars:
            raise errors.InvalidRequest(
                "question", f"is {len(cleaned):,} characters; the limit is {self.settings.max_question_chars:,}"
            )
        return cleaned

    # --- state ---------------------------------------------------------------
    @property
    def store(self) -> Store:
        """Conversations, the answers kept in them, and feedback (assistant/store/), opened on first use."""
        return open_store(self.settings)

    def is_empty(self) -> bool:
        return self.index.is_empty()

    def status(self) -> IndexStatus:
        """What is indexed, and whether a write could land now (raises StoreError when the store cannot be read)."""
        keyword = self.retriever.loaded_keyword_index()
        return IndexStatus(
            articles=self.index.manifest.article_count(),
            vectors=self.index.store.count(),
            write_problem=self.index.free_space_problem(),
            generation=self.index.manifest.generation,
            keyword_generation=keyword.generation if keyword else None,
        )

    def chunks(self) -> list[Chunk]:
        """Every live chunk (benches re-embed them)."""
        return self.index.manifest.all_chunks()

    @property
    def refusal_text(self) -> str:
        """What an answer says when the articles do not hold it (prompts/refusal.txt)."""
        return self.prompts.refusal

    def warm_up(self, follow_ups: bool = False) -> None:
        """Load the models and the keyword index now rather than on the first question; ``follow_ups``: spaCy
        too, which reads follow-ups (about 2 s and 116 MiB, so a server loads it at its first follow-up)."""
        from .question.parse import nlp

        self.embedder.load()
        self.retriever.keyword_index()
        self.backend().warm_up()
        if follow_ups:
            nlp()

    def save_keyword_index(self) -> None:
        """Build and save the keyword index for the index as it is now, so the next process to open it loads it
        rather than tokenising every chunk first (17 s at 100k chunks, bench/query.py)."""
        self.retriever.keyword_index(fresh=True)

    def catch_up(self) -> None:
        """Start rebuilding the keyword index if another process or replica changed the index (servers call
        this every few seconds, so a replica that did not write is current before its next question)."""
        self.retriever.keyword_index()


# --- the Python API's arguments, checked as the HTTP API checks its body ---------------------------------------

def _k(k: int | None) -> int | None:
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_TOP_K):
        raise errors.InvalidRequest("k", f"must be a whole number of passages from 1 to {MAX_TOP_K} (got {k!r})")
    return k


def _filters(filters: Filters | dict | None) -> Filters | None:
    """Filters, or a dict of their fields (as /api/ask takes them)."""
    if filters is None or isinstance(filters, Filters):
        return filters
    if not isinstance(filters, dict):
        raise errors.InvalidRequest("filters", f"must be Filters or a dict of its fields, not {type(filters).__name__}")
    try:
        return Filters.model_validate(filters)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise errors.InvalidRequest(".".join(["filters", *map(str, first["loc"])]), first["msg"]) from None


def _history(history: Sequence[Turn | dict], max_question_chars: int) -> list[Turn]:
    """Earlier turns: Turn, or {"question", "answer"} dicts (as /api/ask takes them). Their questions are read as
    the question is (one clean line, at most ``max_question_chars``): a client sends them, so they may be anything,
    and the question's patterns assume that shape (a run of thousands of spaces cost them seconds)."""
    turns = []
    for i, turn in enumerate(history):
        try:
            turn = turn if isinstance(turn, Turn) else Turn.model_validate(turn)
        except ValidationError:
            raise errors.InvalidRequest(f"history[{i}]", 'must be a Turn or {"question": …, "answer": …}') from None
        turns.append(turn.model_copy(update={"question": clean_line(turn.question)[:max_question_chars]}))
    return turns
