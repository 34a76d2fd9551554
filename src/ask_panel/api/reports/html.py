"""The decision record as one self-contained HTML page that prints well (Jinja2, autoescaped)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ask_panel.api.reports.record import DecisionRecord


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_number(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ask_panel.api.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    return env


def render_html(record: DecisionRecord) -> str:
    return environment().get_template("report.html.j2").render(record=record)
