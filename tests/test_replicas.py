"""Two app replicas as two hosts would run them: each its own index folder, sharing one index through a real
PostgreSQL (manifest, commit records, conversations, feedback), a real `chroma run` (vectors) and a real Redis
(rate limits), all started here on 127.0.0.1 and stopped after."""

from __future__ import annotations

import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import SEEDS
from servers import ServeProcess

from bench.backing_servers import ChromaServer, PostgresServer, RedisServer

pytestmark = pytest.mark.slow

ADMIN, LIMITED = "replica-admin-key", "replica-limited-key"
# Tight polls (every 0.2 s, for as long as a slow machine needs) use a key of their own: at 300 a minute they
# would spend ADMIN's budget, and the test's next question would get 429 instead of an answer.
POLLER = "replica-poller-key"
RATE = 120  # per minute per key and client
FESTIVAL = (
    "Lantern festival returns to Oxbridge Harbour\n\n"
    "The Oxbridge Harbour lantern festival will return on 12 March, organisers said on Monday.\n\n"
    "Every lantern in the festival is made by the Saltmarsh Paper Guild, a cooperative of forty local artisans.\n"
)
JIG = "What does JIG stand for?"


def _town(i: int, rng: random.Random) -> str:
    words = "harbour river council bridge festival museum archive railway orchard vineyard lighthouse".split()
    paragraphs = [
        " ".join(f"The {rng.choice(words)} of town {i} saw {rng.randint(2, 999)} visitors in {1900 + j}." for _ in range(5))
        for j in range(8)
    ]
    return f"Town {i} yearly report\n\n" + "\n\n".join(paragraphs)


def _wait_for(condition, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


def _ready(replica: ServeProcess) -> tuple[int, dict]:
    try:
        response = httpx.get(replica.url + "/ready", timeout=5)
    except httpx.TransportError as exc:
        return 0, {"reason": str(exc)}
    return response.status_code, response.json()


class Cluster:
    def __init__(self, root, postgres: PostgresServer, chroma: ChromaServer, redis: RedisServer):
        self.root, self.postgres, self.chroma, self.redis = root, postgres, chroma, redis
        self.env = {
            "ASSISTANT_DATABASE_URL": postgres.url,
            "ASSISTANT_CHROMA_URL": chroma.url,
            "ASSISTANT_REDIS_URL": redis.url,
            "ASSISTANT_ADMIN_KEYS": f"{ADMIN},{LIMITED},{POLLER}",
            "ASSISTANT_API_RATE_PER_MINUTE": str(RATE),
            "ASSISTANT_INDEX_POLL_S": "0.5",
            "ASSISTANT_FEED_POLL_S": "0.5",
        }
        self.replicas: dict[str, ServeProcess] = {}

    def start(self, name: str) -> ServeProcess:
        """Replica ``name`` on its own "host": its own index folder (keyword cache, uploads), a fresh port."""
        replica = ServeProcess(self.root / name, self.env).__enter__()
        self.replicas[name] = replica
        return replica

    def client(self, name: str, key: str = ADMIN) -> httpx.Client:
        return httpx.Client(base_url=self.replicas[name].url, headers={"X-API-Key": key}, timeout=120)

    def stop(self) -> None:
        for replica in self.replicas.values():
            replica.__exit__(None, None, None)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("replicas")
    with PostgresServer() as postgres, ChromaServer() as chroma, RedisServer() as redis:
        cluster = Cluster(root, postgres, chroma, redis)
        try:
            cluster.start("a"), cluster.start("b")
            with cluster.client("a") as a:
                files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in sorted(SEEDS.glob("*.txt"))]
                assert a.post("/api/articles?wait=true", files=files).json()["ok"] is True
            yield cluster
        finally:
            cluster.stop()


def _index_counts(client: httpx.Client, replica: ServeProcess) -> tuple[int, int, int]:
    """(articles, chunks the manifest lists, vectors in Chroma) as a replica sees them."""
    articles = client.get("/api/articles").json()
    return len(articles), sum(a["chunks"] for a in articles), _ready(replica)[1]["vectors"]


def test_ingest_through_one_replica_answer_and_remove_through_the_other(cluster):
    a, b = cluster.replicas["a"], cluster.replicas["b"]
    with cluster.client("a") as via_a, cluster.client("b") as via_b:
        report = via_a.post("/api/articles?wait=true", files={"files": ("festival.txt", FESTIVAL.encode())}).json()
        written = time.monotonic()
        [article_id] = report["added"]
        generation = _ready(a)[1]["generation"]
        # B did not write: its watcher sees the new generation and rebuilds its keyword index on its own.
        _wait_for(lambda: _ready(b)[1].get("keyword_generation") == generation, 10, "replica b caught up")
        lag = time.monotonic() - written
        print(f"replica b caught up (keyword index included) {lag:.2f} s after the ingest through a")

        answer = via_b.post("/api/ask", json={"question": "Which guild makes the lanterns?"}).json()
        assert "Saltmarsh Paper Guild" in answer["answer"]
        assert answer["citations"][0]["article_id"] == article_id
        assert via_b.get(f"/api/articles/{article_id}").json()["title"].startswith("Lantern festival")

        assert via_b.delete(f"/api/articles/{article_id}").json() == {"removed": article_id}
        assert article_id not in {x["id"] for x in via_a.get("/api/articles").json()}
        after = via_a.post("/api/ask", json={"question": "Which guild makes the lanterns?"}).json()
        assert after["refused"] is True and after["citations"] == []
        _, chunks, vectors = _index_counts(via_a, a)
        assert chunks == vectors  # no vector of the removed article is left behind


def test_two_replicas_ingesting_at_once_take_turns_through_the_database(cluster):
    a, b = cluster.replicas["a"], cluster.replicas["b"]
    rng = random.Random(7)
    first = [("files", (f"harbour-{i:02d}.txt", _town(100 + i, rng).encode())) for i in range(12)]
    second = [("files", (f"valley-{i:02d}.txt", _town(200 + i, rng).encode())) for i in range(12)]
    with cluster.client("a") as via_a, cluster.client("b") as via_b:
        before = _index_counts(via_a, a)
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(lambda job: job[0].post("/api/articles?wait=true", files=job[1]).json(),
                                    [(via_a, first), (via_b, second)]))
        assert [len(r["added"]) for r in reports] == [12, 12] and all(r["ok"] for r in reports)
        articles, chunks, vectors = _index_counts(via_b, b)
        assert articles == before[0] + 24 and chunks == vectors
        for report, client in ((reports[0], via_b), (reports[1], via_a)):
            for article_id in report["added"]:
                assert client.delete(f"/api/articles/{article_id}").status_code == 200
        assert _index_counts(via_a, a) == before


def test_a_replica_killed_mid_ingest_leaves_the_other_answering_and_a_rerun_completes_without_duplicates(cluster):
    a, b = cluster.replicas["a"], cluster.replicas["b"]
    rng = random.Random(20)
    towns = [("files", (f"town-{i:03d}.txt", _town(i, rng).encode())) for i in range(90)]  # ingest_max_files is 100
    try:
        with cluster.client("b") as via_b, cluster.client("b", POLLER) as poll_b:
            expected = via_b.post("/api/ask", json={"question": JIG}).json()
            before = _index_counts(via_b, b)
            with cluster.client("a") as via_a:
                job = via_a.post("/api/articles", files=towns).json()
            # Behind a load balancer the job is polled wherever the poll lands: B answers for A's job.
            _wait_for(lambda: poll_b.get(job["status_url"]).json()["done"] > 0, 60, "b sees a's job progress", every=0.2)
            # Kill A once its first batch is committed (and the job says so) and while it embeds the next.
            _wait_for(lambda: poll_b.get(job["status_url"]).json()["indexed"], 120, "a committed a batch", every=0.2)
            a.process.kill()  # SIGKILL: no cleanup, its database session and lock simply end
            a.process.wait()
            def failed_job() -> dict | None:
                polled = via_b.get(job["status_url"]).json()
                return polled if polled["status"] == "failed" else None

            failed = _wait_for(failed_job, 30, "the dead replica's job shown as failed", every=1)
            assert "stopped" in failed["error"] and "uploading the same files again" in failed["error"]

            # B answers throughout, exactly as before; what A committed, if anything, is whole articles only.
            again = via_b.post("/api/ask", json={"question": JIG}).json()
            assert {k: v for k, v in again.items() if k != "id"} == {k: v for k, v in expected.items() if k != "id"}
            partial = via_b.get("/api/articles").json()
            assert before[0] <= len(partial) < before[0] + 90  # killed mid-ingest, not after it
            assert all(x["chunks"] > 0 for x in partial)
            # the job's message names exactly the files that were committed, no more
            committed = sorted(x["source"].removeprefix("upload:") for x in partial if x["source"].startswith("upload:town-"))
            named = re.findall(r"town-\d{3}\.txt", failed["error"])
            assert sorted(named) == committed, (failed["error"], committed)
            print(f"killed with {len(partial) - before[0]} of 90 articles committed, "
                  f"{_index_counts(via_b, b)[2] - sum(x['chunks'] for x in partial)} orphan vectors")

            # The rerun (through B, which takes the lock A's death released) completes: every town once,
            # and the vectors are exactly the live chunks (A's orphans swept, none doubled).
            rerun = via_b.post("/api/articles?wait=true", files=towns)
            assert rerun.status_code == 200 and rerun.json()["ok"] is True
            articles, chunks, vectors = _index_counts(via_b, b)
            assert articles == before[0] + 90
            assert chunks == vectors
            titles = [x["title"] for x in via_b.get("/api/articles").json()]
            assert len(titles) == len(set(titles))
    finally:  # the replacement replica, for the tests after this one (also when this one failed)
        if a.process.poll() is not None:
            cluster.start("a")


def test_the_rate_limit_is_shared_by_the_replicas(cluster):
    with cluster.client("a", LIMITED) as via_a, cluster.client("b", LIMITED) as via_b:
        codes = [client.get("/api/articles").status_code for _ in range(RATE // 2) for client in (via_a, via_b)]
        assert codes == [200] * RATE
        # Each replica served only half the limit, but the window in Redis is full: both refuse now.
        assert via_a.get("/api/articles").status_code == 429
        refused = via_b.get("/api/articles")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1

        cluster.redis.stop()  # without Redis each replica counts on its own: answering goes on, still limited
        try:
            assert via_a.get("/api/articles").status_code == 200
        finally:
            cluster.redis.start()


def test_chroma_down_is_a_503_naming_it_and_a_committed_removal_stands(cluster):
    a = cluster.replicas["a"]
    with cluster.client("a") as via_a:
        files = [("files", ("outage.txt", FESTIVAL.replace("Oxbridge", "Wendmouth").encode(), "text/plain"))]
        added = via_a.post("/api/articles?wait=true", files=files).json()["added"][0]
        logged_before = len(a.log())
        cluster.chroma.stop()
        try:
            down = via_a.post("/api/ask", json={"question": "Who makes the lanterns of the Wendmouth festival?"})
            assert down.status_code == 503 and f"the Chroma store at {cluster.chroma.url}" in down.json()["error"]
            # the manifest's commit is the removal: vectors left behind are swept by the next ingest
            removed = via_a.delete(f"/api/articles/{added}")
            assert removed.status_code == 200, removed.text
            assert "vectors of a committed change were left for the next sweep" in a.log()[logged_before:]
        finally:
            cluster.chroma.start()
        assert via_a.get(f"/api/articles/{added}").status_code == 404
        assert "Traceback" not in a.log()[logged_before:]


def test_postgres_restarted_under_running_replicas_loses_nothing(cluster):
    b = cluster.replicas["b"]
    with cluster.client("b") as via_b:
        answer = via_b.post("/api/ask", json={"question": JIG}).json()
        rated = via_b.post("/api/feedback", json={"answer_id": answer["id"], "rating": "up", "comment": "kept?"})
        assert rated.status_code == 201
        articles_before = via_b.get("/api/articles").json()

        cluster.postgres.stop()
        def not_ready() -> dict | None:
            status, body = _ready(b)
            return body if status == 503 else None

        assert "cannot be used" in _wait_for(not_ready, 15, "/ready 503")["reason"]
        down = via_b.post("/api/ask", json={"question": JIG})
        assert down.status_code == 503 and "error" in down.json() and "Traceback" not in down.text
        for method, path in (("GET", "/api/conversations"), ("GET", "/api/feedback")):  # their own reads too
            unusable = via_b.request(method, path)
            assert unusable.status_code == 503 and "try again shortly" in unusable.json()["error"], (path, unusable.text)
        # an upload no replica could poll (its job unrecorded) is refused, not taken
        refused = via_b.post("/api/articles", files=[("files", ("late.txt", FESTIVAL.encode(), "text/plain"))])
        assert refused.status_code == 503 and "the upload was not taken" in refused.json()["error"], refused.text

        # the feed poller looks every 0.5 s: one traceback for the outage, not one a look
        _wait_for(lambda: b.log().count("looking for feeds to poll failed") >= 1, 15, "the poller's failure logged")
        time.sleep(2)
        assert b.log().count("looking for feeds to poll failed") == 1

        cluster.postgres.start()
        _wait_for(lambda: _ready(b)[0] == 200, 30, "/ready 200 again")
        _wait_for(lambda: "looking for feeds to poll works again" in b.log(), 15, "the poller's recovery logged")
        assert via_b.get("/api/articles").json() == articles_before
        feedback = via_b.get("/api/feedback").json()
        assert any(f["answer_id"] == answer["id"] and f["comment"] == "kept?" for f in feedback)
        assert "Joint Implementation Group" in via_b.post("/api/ask", json={"question": JIG}).json()["answer"]
