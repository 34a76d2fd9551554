"""The current tenant, held in a context variable as the shared kernel has it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ask_panel.domain.ids import TenantId

_current_tenant: ContextVar[TenantId | None] = ContextVar("current_tenant", default=None)


class TenantContext:
    """Access to the tenant of the work in progress (a request or a panel run)."""

    @staticmethod
    def set(tenant_id: TenantId) -> None:
        _current_tenant.set(tenant_id)

    @staticmethod
    def get() -> TenantId:
        tenant = _current_tenant.get()
        if tenant is None:
            raise LookupError("no tenant in context")
        return tenant

    @staticmethod
    def get_or_none() -> TenantId | None:
        return _current_tenant.get()

    @staticmethod
    @contextmanager
    def bound(tenant_id: TenantId) -> Iterator[None]:
        token = _current_tenant.set(tenant_id)
        try:
            yield
        finally:
            _current_tenant.reset(token)
