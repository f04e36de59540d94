"""manifest: feeds (RSS and Atom subscriptions) and what each poll left: validators, items, errors, the lease

A replica takes a feed to poll by one UPDATE that succeeds only while nobody holds it (lease_expires passed),
so with several replicas exactly one polls each feed at a time.

Revision ID: manifest_0004
Revises: manifest_0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "manifest_0004"
down_revision = "manifest_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("collection_id", sa.Integer, nullable=False),
        sa.Column("every_s", sa.Float, nullable=False),
        sa.Column("prune", sa.Boolean, nullable=False),
        sa.Column("added_at", sa.Float, nullable=False),  # seconds since the epoch, as every time here
        sa.Column("next_poll_at", sa.Float, nullable=False),
        sa.Column("last_polled_at", sa.Float),
        sa.Column("last_ok_at", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("last_report", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("items", sa.Text, nullable=False),  # JSON: article id -> what the feed said of it (fingerprint)
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_expires", sa.Float),
        sa.UniqueConstraint("url", "collection_id", name="feeds_url_collection"),
    )


def downgrade() -> None:
    op.drop_table("feeds")
