"""The chat page's conversations as JSON, for the browser that holds them (its session cookie, see .browser).

``GET /conversations``, ``GET /conversations/{id}``, ``DELETE /conversations/{id}``: the same store and the same
rule as the page's sidebar. Another browser's conversation is a 404, exactly like one that never existed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..errors import ConversationNotFound
from ..store import Conversation, ConversationInfo
from .browser import page_owner
from .schemas import ErrorOut, Removed


def conversations_router() -> APIRouter:
    router = APIRouter(prefix="/conversations", tags=["conversations"], responses={  # as sent: {"error"}
        404: {"model": ErrorOut, "description": "No such conversation in this browser's session."},
        422: {"model": ErrorOut, "description": "The conversation id is invalid."}})

    def owner_of(request: Request) -> str | None:
        return page_owner(request.cookies)

    @router.get("")
    def list_conversations(request: Request) -> list[ConversationInfo]:
        """This browser's conversations, most recently used first (none without the page's session cookie)."""
        owner = owner_of(request)
        return request.app.state.assistant.store.conversations.conversations(owner) if owner else []

    @router.get("/{conversation_id}", response_model_exclude_none=True)
    def get_conversation(conversation_id: str, request: Request) -> Conversation:
        """One of this browser's conversations, every question and answer with its citations."""
        owner = owner_of(request)
        if owner is None:
            raise ConversationNotFound(conversation_id)
        conversation = request.app.state.assistant.store.conversations.conversation(owner, conversation_id)
        for turn in conversation.turns:  # as the page shows them: no server paths
            turn.answer = turn.answer.for_reader()
        return conversation

    @router.delete("/{conversation_id}")
    def delete_conversation(conversation_id: str, request: Request) -> Removed:
        """Delete one of this browser's conversations and its answers (feedback given on them is kept)."""
        owner = owner_of(request)
        if owner is None:
            raise ConversationNotFound(conversation_id)
        request.app.state.assistant.store.conversations.delete(owner, conversation_id)
        return Removed(removed=conversation_id)

    return router
