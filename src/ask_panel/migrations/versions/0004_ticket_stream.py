"""A stream ticket serves the reconnects of the one stream it first opened (`stream`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stream_tickets") as batch:
        batch.add_column(sa.Column("stream", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stream_tickets") as batch:
        batch.drop_column("stream")
