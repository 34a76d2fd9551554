"""The decision record of a panel: `GET /api/v1/panels/{id}/report?format=md|html|json`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from ask_panel.api.deps import Panels, Tenant
from ask_panel.api.params import PanelIdPath
from ask_panel.api.reports.formats import MEDIA_TYPES, ReportFormat, render_report
from ask_panel.api.reports.record import DecisionRecord
from ask_panel.api.routes.responses import Responses, problems
from ask_panel.api.schemas import PanelResponse

router = APIRouter(prefix="/api/v1/panels", tags=["panels"])

REPORT_RESPONSES: Responses = {
    200: {
        "model": DecisionRecord,
        "description": "The panel as an auditable record: the question, the experts with roles and models, every "
        "turn with its time and position, consensus per round with its components, the recommendation with "
        "rationale and dissent, the fallbacks and the `degraded` flag, usage and cost. A panel that has not "
        "ended gives the record so far (its `status` says so).",
        "content": {
            "text/markdown": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}, "example": "<!doctype html>..."},
            "application/json": {
                "schema": DecisionRecord.model_json_schema(ref_template="#/components/schemas/{model}")
            },
        },
    },
    **problems(400, 401, 403, 404, 422),
}


@router.get(
    "/{panel_id}/report",
    operation_id="getPanelReport",
    response_class=Response,
    responses=REPORT_RESPONSES,
)
async def panel_report(
    panel_id: PanelIdPath,
    tenant: Tenant,
    panels: Panels,
    report_format: Annotated[
        ReportFormat, Query(alias="format", description="md (Markdown), html (prints well) or json")
    ] = "md",
) -> Response:
    """The panel as a decision record, in Markdown, printable HTML or JSON."""
    panel = PanelResponse.from_panel(await panels.get(tenant, panel_id))
    text = render_report(panel, report_format, now=datetime.now(UTC))
    return Response(text, media_type=MEDIA_TYPES[report_format])
