"""One entry point for every report format: the rendered text and its media type."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ask_panel.api.reports.html import render_html
from ask_panel.api.reports.markdown import render_markdown
from ask_panel.api.reports.record import build_record
from ask_panel.api.schemas import PanelResponse

ReportFormat = Literal["md", "html", "json"]
MEDIA_TYPES: dict[str, str] = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


def render_report(panel: PanelResponse, report_format: ReportFormat, *, now: datetime) -> str:
    record = build_record(panel, generated_at=now)
    if report_format == "md":
        return render_markdown(record)
    if report_format == "html":
        return render_html(record)
    return record.model_dump_json(indent=2)
