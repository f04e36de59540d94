"""Readiness: warm the assistant up in the background and say when it can answer.

``/health`` says the process is up; ``/ready`` says the models and the keyword
index are loaded and the store can be read, so a load balancer can hold
traffic back until then.

Once warm, a watcher checks every ``index_poll_s`` seconds whether another
process or replica changed the shared index, and rebuilds the keyword index in
the background if so: a replica that did not write is current within seconds,
before its next question rather than because of it.
"""

from __future__ import annotations

import logging
import threading
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .. import errors
from ..core import Assistant

log = logging.getLogger("assistant.web")


def _public(exc: Exception) -> str:
    """What /ready, open to anyone, says of a failure: the assistant's own messages in full (they name a database
    by its redacted URL), anything else by its type only, since a driver's or library's text may quote a connection
    string with its password; the server log has the detail."""
    if isinstance(exc, errors.AssistantError):
        return str(exc)
    return f"{type(exc).__name__} (details in the server log)"


class Readiness:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.problem: str | None = "warming up: loading the models and the keyword index"
        self._thread = threading.Thread(target=self._run, name="assistant-warm-up", daemon=True)
        self._stopped = threading.Event()
        self._logged: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        try:
            self.assistant.warm_up()
        except Exception as exc:
            log.exception("warm-up failed")
            self.problem = f"warm-up failed: {_public(exc)}"
            return
        self.problem = None
        self._watch()

    def _watch(self) -> None:
        interval = self.assistant.settings.index_poll_s
        last_logged = 0.0
        while interval > 0 and not self._stopped.wait(interval):
            try:
                self.assistant.catch_up()
            except Exception as exc:  # e.g. the database is restarting; /ready says so, and this tries again
                if time.monotonic() - last_logged > 60:
                    last_logged = time.monotonic()
                    log.warning("checking the index for changes failed: %s", exc)

    def check(self) -> tuple[bool, dict]:
        if self.problem is not None:
            return False, {"status": "not ready", "reason": self.problem}
        try:  # both halves of the index must answer
            status = self.assistant.status()
        except Exception as exc:
            if not isinstance(exc, errors.AssistantError) and str(exc) != self._logged:
                self._logged = str(exc)  # once per distinct failure: load balancers ask every few seconds
                log.warning("/ready: the index cannot be read", exc_info=exc)
            return False, {"status": "not ready", "reason": f"the index cannot be read: {_public(exc)}"}
        if status.write_problem:  # answers still flow, but no upload could land: send writers elsewhere
            return False, {"status": "not ready", "reason": status.write_problem}
        return True, {
            "status": "ready", "articles": status.articles, "vectors": status.vectors,
            "generation": status.generation, "keyword_generation": status.keyword_generation,
        }


router = APIRouter(tags=["ops"])


@router.get("/ready", responses={503: {"description": "Not ready yet, or the index cannot be read; see `reason`."}})
def ready(request: Request) -> JSONResponse:
    """Ready to answer: models and keyword index loaded, index readable."""
    ok, body = request.app.state.readiness.check()
    return JSONResponse(body, status_code=200 if ok else 503)


router.add_api_route("/ready", ready, methods=["HEAD"], include_in_schema=False)  # load balancers' checks send HEAD
