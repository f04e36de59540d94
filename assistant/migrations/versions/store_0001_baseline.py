"""store: conversations, the answers given in them, and feedback

Stores made before migrations existed already hold these tables: they are left as they are and only
recorded as being at this revision.

Revision ID: store_0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "store_0001"
down_revision = None
branch_labels = ("store",)
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "conversations" not in existing:
        op.create_table(
            "conversations",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("owner", sa.String(200), nullable=False, index=True),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("created_at", TIME, nullable=False),
            sa.Column("updated_at", TIME, nullable=False, index=True),
        )
    if "answers" not in existing:
        op.create_table(
            "answers",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("conversation_id", sa.String(32), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                      nullable=True, index=True),
            sa.Column("owner", sa.String(200), nullable=False, index=True),
            sa.Column("position", sa.Integer, nullable=False),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("standalone_question", sa.Text, nullable=True),
            sa.Column("history", sa.JSON, nullable=False),
            sa.Column("filters", sa.JSON, nullable=False),
            sa.Column("answer", sa.JSON, nullable=False),
            sa.Column("settings", sa.JSON, nullable=False),
            sa.Column("created_at", TIME, nullable=False, index=True),
        )
    if "feedback" not in existing:
        op.create_table(
            "feedback",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("answer_id", sa.String(32), nullable=False, index=True),
            sa.Column("owner", sa.String(200), nullable=False),
            sa.Column("rating", sa.String(8), nullable=False),
            sa.Column("comment", sa.Text, nullable=False),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("standalone_question", sa.Text, nullable=True),
            sa.Column("history", sa.JSON, nullable=False),
            sa.Column("answer", sa.JSON, nullable=False),
            sa.Column("settings", sa.JSON, nullable=False),
            sa.Column("created_at", TIME, nullable=False),
            sa.Column("updated_at", TIME, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("answers")
    op.drop_table("conversations")
