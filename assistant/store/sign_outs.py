"""Sign-outs of the chat page's admin sign-in, in the database, so every replica refuses a signed-out cookie."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from .conversations import now, writes
from .tables import SignOutRow


class SignOutStore:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def sign_out(self, session_id: str, expires_at: datetime) -> None:
        """Refuse this sign-in's cookie from now until ``expires_at`` (when it would have lapsed anyway)."""
        with writes("the sign-out"), self.sessions.begin() as session:
            session.execute(delete(SignOutRow).where(SignOutRow.expires_at < now()))
            if session.get(SignOutRow, session_id) is None:
                session.add(SignOutRow(id=session_id, expires_at=expires_at))

    def signed_out(self, session_id: str) -> bool:
        with self.sessions() as session:
            return session.scalar(select(SignOutRow.id).where(SignOutRow.id == session_id)) is not None
