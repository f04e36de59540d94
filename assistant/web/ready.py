"""Readiness: warm the assistant up in the background and say when it can answer.

``/health`` says the process is up; ``/ready`` says the models and the keyword
index are loaded and the store can be read, so a load balancer can hold
traffic back until then.
"""

from __future__ import annotations

import logging
import threading

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..core import Assistant

log = logging.getLogger("assistant.web")


class Readiness:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.problem: str | None = "warming up: loading the models and the keyword index"
        self._thread = threading.Thread(target=self._warm_up, name="assistant-warm-up", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _warm_up(self) -> None:
        try:
            self.assistant.warm_up()
        except Exception as exc:
            log.exception("warm-up failed")
            self.problem = f"warm-up failed: {exc}"
        else:
            self.problem = None

    def check(self) -> tuple[bool, dict]:
        if self.problem is not None:
            return False, {"status": "not ready", "reason": self.problem}
        try:  # both halves of the index must answer
            status = self.assistant.status()
        except Exception as exc:
            return False, {"status": "not ready", "reason": f"the index cannot be read: {exc}"}
        if status.write_problem:  # answers still flow, but no upload could land: send writers elsewhere
            return False, {"status": "not ready", "reason": status.write_problem}
        return True, {"status": "ready", "articles": status.articles, "vectors": status.vectors}


router = APIRouter(tags=["ops"])


@router.get("/ready", responses={503: {"description": "Not ready yet, or the index cannot be read; see `reason`."}})
def ready(request: Request) -> JSONResponse:
    """Ready to answer: models and keyword index loaded, index readable."""
    ok, body = request.app.state.readiness.check()
    return JSONResponse(body, status_code=200 if ok else 503)
