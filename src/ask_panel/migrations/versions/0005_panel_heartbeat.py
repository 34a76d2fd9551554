"""Panels carry their runner's heartbeat (`heartbeat_at`): a queued or running panel whose runner stopped
beating is taken over by another process, continuously and not only at start-up.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("panels") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("panels") as batch:
        batch.drop_column("heartbeat_at")
