"""manifest: the tables of the first indexes (meta, articles, chunks)

Indexes made before migrations existed already hold these tables: they are left as they are and only
recorded as being at this revision.

Revision ID: manifest_0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "manifest_0001"
down_revision = None
branch_labels = ("manifest",)
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "meta" not in existing:
        op.create_table(
            "meta",
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    if "articles" not in existing:
        op.create_table(
            "articles",
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("source", sa.Text, nullable=False),
            sa.Column("url", sa.Text),
            sa.Column("published", sa.Text),
            sa.Column("content_hash", sa.Text, nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("ingested_at", sa.Text, nullable=False),
        )
    if "chunks" not in existing:
        op.create_table(
            "chunks",
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("article_id", sa.Text, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
            sa.Column("start", sa.Integer, nullable=False),
            sa.Column("end", sa.Integer, nullable=False),
            sa.Column("text", sa.Text, nullable=False),
        )
        op.create_index("chunks_by_article", "chunks", ["article_id"])


def downgrade() -> None:
    op.drop_table("chunks")
    op.drop_table("articles")
    op.drop_table("meta")
