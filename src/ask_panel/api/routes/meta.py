"""What a client needs to know before it signs in: the authentication mode, panel types and limits."""

from __future__ import annotations

from fastapi import APIRouter

from ask_panel import __version__
from ask_panel.api.deps import Config
from ask_panel.api.schemas import MetaResponse
from ask_panel.domain.configuration import MAX_PROPOSITION_CHARS
from ask_panel.domain.experts import MAX_MEMBERS
from ask_panel.domain.status import PanelType

router = APIRouter(prefix="/api/v1", tags=["meta"])


@router.get("/meta", operation_id="getMeta", response_model=MetaResponse)
async def get_meta(settings: Config) -> MetaResponse:
    """Public facts about this service (no tenant, no token; nothing secret).

    `auth_mode` is `jwt` (every call carries `Authorization: Bearer <JWT>` whose `tenant_id` or
    `tenant_ids` claims grant the tenant) or `none` (local development: `X-Tenant-ID` alone).
    """
    return MetaResponse(
        version=__version__,
        auth_mode=settings.auth_mode,
        panel_types=list(PanelType),
        max_query_chars=settings.max_query_chars,
        max_experts=MAX_MEMBERS,
        max_proposition_chars=MAX_PROPOSITION_CHARS,
    )
