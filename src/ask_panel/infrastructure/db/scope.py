"""TenantScope: the one place where tenant filtering of queries is built."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Delete, Select, Table, Update, and_, delete, select, update

from ask_panel.domain.ids import TenantId


class TenantScope:
    """Builds statements that can only see one tenant's rows."""

    def __init__(self, tenant: TenantId) -> None:
        self.tenant = tenant
        self.tenant_key = str(tenant)

    def owns(self, table: Table) -> ColumnElement[bool]:
        return table.c.tenant_id == self.tenant_key

    def select(self, table: Table, *where: ColumnElement[bool]) -> Select[tuple[object, ...]]:
        return select(table).where(and_(self.owns(table), *where))

    def update(self, table: Table, *where: ColumnElement[bool]) -> Update:
        return update(table).where(and_(self.owns(table), *where))

    def delete(self, table: Table, *where: ColumnElement[bool]) -> Delete:
        return delete(table).where(and_(self.owns(table), *where))

    def row(self, **values: object) -> dict[str, object]:
        return {"tenant_id": self.tenant_key, **values}
