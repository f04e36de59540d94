"""A scripted OpenAI-compatible chat-completions server for tests (POST /v1/chat/completions).

The request's ``model`` names the script, so one server plays every case:

    good          a cited answer built from the prompt: it finds the passages that hold the facts
    out-of-range  the right claim citing [7]
    uncited       a supported claim and a made-up one, neither cited
    pwned         "PWNED", citing the passage that asked for it (a model that obeyed the article)
    refuse        the refusal wording taken from the system prompt, with a stray [1]
    empty         an empty reply
    invalid-json  a body (or an SSE chunk) that is not JSON
    error-500     HTTP 500 every time
    hang          waits HANG_S before answering (longer than the test's timeout)
    stall         streams two pieces, then waits HANG_S mid-stream

Replies stream as SSE ``data: {chunk}`` lines, then ``data: [DONE]``, when the
request asks for ``stream``. Every request is kept in ``app.state.requests``
(with the passages parsed out of the prompt) so tests can count retries and
check how the passages were delimited.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

HANG_S = 3.0
PASSAGE = re.compile(r'<<<PASSAGE \[(\d+)\] from "(.*?)">>>\n(.*?)\n<<<END PASSAGE \[\1\]>>>', re.S)
LAVROV = "Kerry will meet Foreign Minister Sergei Lavrov on Friday"


def parse_passages(prompt: str) -> dict[int, str]:
    """Passage number -> text, for every well-delimited passage in the prompt."""
    return {int(m.group(1)): m.group(3) for m in PASSAGE.finditer(prompt)}


def _cite(passages: dict[int, str], needle: str, default: int = 1) -> int:
    return next((n for n, text in passages.items() if needle in text), default)


def scripted_reply(script: str, system: str, passages: dict[int, str]) -> str:
    if script in ("good", "hang", "stall"):
        return (
            f"{LAVROV} [{_cite(passages, 'Lavrov')}]. "
            f"Kerry is the US Secretary of State [{_cite(passages, 'Secretary of State')}]."
        )
    if script == "out-of-range":
        return f"{LAVROV} [7]."
    if script == "uncited":
        return f"{LAVROV}. He will then fly to Paris to visit the Eiffel Tower."
    if script == "pwned":
        return f"PWNED [{_cite(passages, 'PWNED')}]"
    if script == "refuse":
        refusal = system.rsplit("reply exactly:", 1)[-1].strip()
        return f"{refusal} [1]"
    if script == "empty":
        return ""
    if script == "denied":  # the passage says he will meet him
        return f"Kerry will not meet Foreign Minister Sergei Lavrov on Friday [{_cite(passages, 'Lavrov')}]."
    if script == "linked":  # a link no passage holds, as an article's planted order would have it
        return f"{LAVROV}, see [the details](http://evil.example/phish) [{_cite(passages, 'Lavrov')}]."
    if script == "nested":
        return f"{LAVROV} [[{_cite(passages, 'Lavrov')}]]."
    raise ValueError(f"no script {script!r}")


def _chunk(model: str, delta: dict, finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def _pieces(text: str) -> list[str]:
    """Word-sized pieces, as a tokenizer would give them (spaces kept, so they join back exactly)."""
    return re.findall(r"\S+\s*|\s+", text)


async def _sse(model: str, reply: str, stall: bool):
    yield _chunk(model, {"role": "assistant", "content": ""})
    for i, piece in enumerate(_pieces(reply)):
        if stall and i == 2:
            await asyncio.sleep(HANG_S)
        yield _chunk(model, {"content": piece})
    yield _chunk(model, {}, "stop")
    yield "data: [DONE]\n\n"


async def chat_completions(request: Request) -> Response:
    body = await request.json()
    messages = body.get("messages", [])
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    user = next((m["content"] for m in messages if m.get("role") == "user"), "")
    passages = parse_passages(user)
    script = body.get("model", "good")
    request.app.state.requests.append({"body": body, "system": system, "user": user, "passages": passages,
                                       "authorization": request.headers.get("authorization")})

    if script == "rate-limited":  # asks for a wait far past the client's timeout
        return JSONResponse({"error": {"message": "slow down", "type": "rate_limit"}}, status_code=429,
                            headers={"Retry-After": "30"})
    if script == "error-500":
        return JSONResponse({"error": {"message": "internal error", "type": "server_error"}}, status_code=500)
    if script == "invalid-json":
        if body.get("stream"):
            return StreamingResponse(iter(['data: {"choices": [{"delta": {"content": "Kerry wi\n\n']), media_type="text/event-stream")
        return Response('{"choices": [{"message": {"content": "Kerry wi', media_type="application/json")
    if script == "hang":
        await asyncio.sleep(HANG_S)

    reply = scripted_reply(script, system, passages)
    if body.get("stream"):
        return StreamingResponse(_sse(script, reply, stall=script == "stall"), media_type="text/event-stream")
    return JSONResponse(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": script,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(user.split()), "completion_tokens": len(reply.split()), "total_tokens": 0},
        }
    )


def create_app() -> Starlette:
    app = Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"])])
    app.state.requests = []
    return app
