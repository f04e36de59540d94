"""`openai`: any OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp's server, Ollama, ...).

Talks through langchain-openai's ChatOpenAI. Its client already retries
timeouts, connection errors, 429s and 5xx with exponential backoff and jitter;
``llm_max_retries`` bounds the retries and ``llm_timeout_s`` each wait. What
still fails is turned into a one-line notice, and the extractive answer is shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from .. import errors
from ..errors import LLMUnavailable
from .llm import NOTICE_GARBAGE, NOTICE_TIMEOUT, NOTICE_UNREACHABLE, LLMBackend, Message

NOTICE_SERVER_ERROR = "The language model server reported an error; showing the extractive answer."


class OpenAIBackend(LLMBackend):
    name = "openai"

    def __init__(self, settings, embedder, prompts):
        super().__init__(settings, embedder, prompts)
        try:
            from langchain_openai import ChatOpenAI  # only this backend needs it
        except ImportError:
            raise errors.ConfigError("the openai backend needs langchain-openai: pip install langchain-openai") from None
        import httpx

        # The client sleeps as long as a 429's Retry-After says (up to a minute) before it retries: a wait longer
        # than llm_timeout_s is dropped, so it backs off its own short way and the fallback comes in bounded time.
        capped = {"response": [_retry_after_at_most(settings.llm_timeout_s)]}
        self.chat = ChatOpenAI(
            http_client=httpx.Client(event_hooks=capped),
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value() or "not-needed",  # a local server wants none
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )

    def generate_stream(self, messages: list[Message]) -> Iterator[str]:
        with _as_unavailable():
            for chunk in self.chat.stream(messages):
                if isinstance(chunk.content, str):
                    yield chunk.content

    def generate(self, messages: list[Message]) -> str:
        with _as_unavailable():
            content = self.chat.invoke(messages).content
        if not isinstance(content, str):
            raise LLMUnavailable(NOTICE_GARBAGE, f"reply content is {type(content).__name__}, not text")
        return content


def _retry_after_at_most(limit_s: float):
    def cap(response) -> None:
        for name, scale in (("retry-after", 1.0), ("retry-after-ms", 0.001)):
            value = response.headers.get(name)
            if value is None:
                continue
            try:
                wait = float(value) * scale
            except ValueError:  # an HTTP date: however far off, not worth parsing to wait for
                wait = float("inf")
            if wait > limit_s:
                del response.headers[name]
    return cap


@contextmanager
def _as_unavailable():
    """The client's errors, as the one-line notice the user sees (the retries have already happened)."""
    import httpx
    import openai

    try:
        yield
    except openai.APITimeoutError as exc:  # before APIConnectionError: it is one
        raise LLMUnavailable(NOTICE_TIMEOUT, str(exc)) from exc
    except openai.APIConnectionError as exc:
        raise LLMUnavailable(NOTICE_UNREACHABLE, str(exc)) from exc
    # Mid-stream, the openai SDK 2.x lets httpx's own errors through (3.x wraps them as above).
    except httpx.TimeoutException as exc:
        raise LLMUnavailable(NOTICE_TIMEOUT, f"{type(exc).__name__}: {exc}") from exc
    except httpx.TransportError as exc:
        raise LLMUnavailable(NOTICE_UNREACHABLE, f"{type(exc).__name__}: {exc}") from exc
    except openai.APIStatusError as exc:
        raise LLMUnavailable(NOTICE_SERVER_ERROR, f"HTTP {exc.status_code}: {exc.message}") from exc
    except (openai.APIResponseValidationError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise LLMUnavailable(NOTICE_GARBAGE, f"{type(exc).__name__}: {exc}") from exc
