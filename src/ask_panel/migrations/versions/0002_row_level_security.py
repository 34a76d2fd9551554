"""Row-level security on tenant-scoped tables (PostgreSQL only; a no-op on SQLite).

Each transaction of the service sets `app.tenant_id` (SET LOCAL through set_config); the policies
let it see and write only that tenant's rows. `app.system = 'on'` is set only by the start-up
recovery scan, which reads unfinished panels of every tenant. FORCE makes the policies apply to the
tables' owner too; only superusers and BYPASSRLS roles escape them, so the service must not use one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("panels", "panel_events", "agents")
POLICY = "tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.system', true) = 'on'"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({POLICY}) WITH CHECK ({POLICY})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
