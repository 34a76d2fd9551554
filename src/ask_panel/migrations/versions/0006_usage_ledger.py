"""The usage ledger: each tenant's model usage (tokens, calls, estimated cost) by panel and UTC day.

Written with every checkpoint that used models; read by `GET /api/v1/usage` and the tenant budgets.
Tenant-scoped with row-level security on PostgreSQL, like the other tenant tables. The service's role
needs its privileges on the new table and its sequence (re-run the GRANTs of docs/deployment.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

POLICY = "tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.system', true) = 'on'"


def upgrade() -> None:
    op.create_table(
        "usage_ledger",
        sa.Column(
            "entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("panel_id", sa.String(36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("llm_calls", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
    )
    op.create_index("ix_usage_ledger_tenant_day", "usage_ledger", ["tenant_id", "day"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE usage_ledger ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE usage_ledger FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON usage_ledger USING ({POLICY}) WITH CHECK ({POLICY})")


def downgrade() -> None:
    op.drop_index("ix_usage_ledger_tenant_day", table_name="usage_ledger")
    op.drop_table("usage_ledger")
