"""store: sign-outs (a chat-page admin cookie is dead once its browser signs out, on every replica), and each upload
job's files indexed so far (a job whose replica died says exactly which landed)

Revision ID: store_0003
Revises: store_0002
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "store_0003"
down_revision = "store_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_outs",
        sa.Column("id", sa.String(64), primary_key=True),  # the signed-in session's random id
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),  # when its cookie would
    )
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("indexed", sa.JSON, nullable=True))  # names of the files committed so far


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("indexed")
    op.drop_table("sign_outs")
