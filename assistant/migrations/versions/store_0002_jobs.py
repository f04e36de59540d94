"""store: upload jobs, so that any replica can say how an upload that another one runs is doing

Revision ID: store_0002
Revises: store_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "store_0002"
down_revision = "store_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),  # queued, running, done, failed
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("report", sa.JSON, nullable=True),  # as the API sends it, once done
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("error_status", sa.Integer, nullable=False),
        sa.Column("replica", sa.String(300), nullable=False),  # host and pid that runs it
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("jobs")
