"""TenantScope: the one place where tenant filtering of queries is built."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Delete, Select, Table, Update, and_, bindparam, delete, select, update

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

    # Prebuilt statements take the tenant as a parameter: build them with the *_bound helpers and
    # execute them with `bound(...)`, which supplies this scope's tenant.
    TENANT_PARAM = "scope_tenant_id"

    @classmethod
    def owns_bound(cls, table: Table) -> ColumnElement[bool]:
        return table.c.tenant_id == bindparam(cls.TENANT_PARAM)

    @classmethod
    def update_bound(cls, table: Table, *where: ColumnElement[bool]) -> Update:
        return update(table).where(and_(cls.owns_bound(table), *where))

    def bound(self, **params: object) -> dict[str, object]:
        return {self.TENANT_PARAM: self.tenant_key, **params}
