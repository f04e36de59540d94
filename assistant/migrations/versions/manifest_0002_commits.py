"""manifest: a record of every commit (which generation, when, by which host and process, what changed)

Replicas that did not write read the generation to know their keyword index is stale; the record says
who wrote it and when, so how long a replica took to catch up can be measured.

Revision ID: manifest_0002
Revises: manifest_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "manifest_0002"
down_revision = "manifest_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commits",
        sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("committed_at", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("change", sa.Text, nullable=False),  # "write" or "remove"
        sa.Column("article_ids", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("commits")
