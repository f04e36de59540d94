"""manifest: collections (named sets of articles) and which articles belong to which

Every index gets the collection ``default``; an index from before collections puts all its articles in it,
so it answers exactly as before. An article belongs to one or more collections.

Revision ID: manifest_0003
Revises: manifest_0002
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "manifest_0003"
down_revision = "manifest_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # stable: names the vector partition
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column("collection_id", sa.Integer, primary_key=True),
    )
    op.create_index("memberships_by_collection", "memberships", ["collection_id", "article_id"])
    # The id comes from the database (1 on a new table), never given: PostgreSQL's sequence then stays right.
    op.execute(sa.text("INSERT INTO collections (name, created_at) VALUES ('default', :now)").bindparams(
        now=_now()))
    op.execute(sa.text(
        "INSERT INTO memberships (article_id, collection_id) "
        "SELECT articles.id, collections.id FROM articles, collections WHERE collections.name = 'default'"
    ))


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def downgrade() -> None:
    op.drop_index("memberships_by_collection", "memberships")
    op.drop_table("memberships")
    op.drop_table("collections")
