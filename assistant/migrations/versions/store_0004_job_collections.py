"""store: the collection each upload job adds to, so a key scoped to other collections cannot read its report

Revision ID: store_0004
Revises: store_0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "store_0004"
down_revision = "store_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("collection", sa.String(64), nullable=True))  # None: default (or a job from before)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("collection")
