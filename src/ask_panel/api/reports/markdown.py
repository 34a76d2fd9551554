"""The decision record as Markdown (GitHub-flavoured: headings, tables, block quotes)."""

from __future__ import annotations

import json
import re
from typing import Any

from ask_panel.api.reports.record import DecisionRecord, RecordConsensus

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def md(text: str) -> str:
    """Text with Markdown's special characters escaped, on one line."""
    return escape(" ".join(text.split()))


def escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def quote(text: str) -> str:
    """Text as a block quote, its line breaks kept."""
    return "\n".join(f"> {escape(line)}" if line.strip() else ">" for line in text.splitlines())


def component_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "; ".join(f"{md(str(k))}: {component_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(md(str(v)) for v in value)
    return md(str(value))


def configuration(values: dict[str, Any]) -> str:
    """The settings that were set, as `key=value` code spans."""
    return " ".join(f"`{k}={json.dumps(v)}`" for k, v in sorted(values.items()) if v is not None) or "-"


def consensus_rows(items: list[RecordConsensus]) -> list[str]:
    rows = ["| round | level | confidence | method | components |", "|---:|---:|---:|---|---|"]
    for c in items:
        parts = "<br>".join(f"{md(k)}: {component_value(v)}" for k, v in c.components.items())
        rows.append(f"| {c.round} | {c.level:.2f} | {c.confidence:.2f} | {md(c.method)} | {parts} |")
    return rows


def render_markdown(record: DecisionRecord) -> str:
    lines = [f"# Decision record: {md(record.query)}", ""]
    lines += [
        "| | |",
        "|---|---|",
        f"| Panel | `{record.panel_id}` |",
        f"| Type | {record.panel_type} |",
        f"| Status | **{record.status}**{' (degraded)' if record.degraded else ''} |",
        f"| Created | {record.created_at.isoformat()} |",
        f"| Started | {record.started_at.isoformat() if record.started_at else '-'} |",
        f"| Completed | {record.completed_at.isoformat() if record.completed_at else '-'} |",
        f"| Duration | {f'{record.duration_seconds:.1f} s' if record.duration_seconds is not None else '-'} |",
        f"| Configuration | {configuration(record.configuration)} |",
        "",
        "## Question",
        "",
        quote(record.query),
        "",
        "## Experts",
        "",
        "| expert | role | id | model |",
        "|---|---|---|---|",
    ]
    for expert in record.experts:
        models = ", ".join(f"`{m}`" for m in expert.models) or "-"
        lines.append(f"| {md(expert.name)} | {md(expert.role)} | `{expert.agent_id}` | {models} |")
    if record.recommendation:
        rec = record.recommendation
        lines += ["", "## Recommendation", "", f"**{md(rec.recommendation)}**", "", md(rec.rationale), ""]
        lines.append(f"Decided by: {md(rec.decided_by)}.")
        if rec.adopted:
            lines.append(f"Adopted option: {md(rec.adopted)}.")
        if rec.estimate_summary:
            lines.append(f"Estimate: {md(rec.estimate_summary)}.")
        if rec.verdict:
            lines.append(f"Verdict: {component_value(rec.verdict)}.")
        # a debate's points are the arguments its judge relied on, and its dissent the losing side's case
        lines += ["", "### Arguments the judge relied on" if rec.verdict else "### Agreement", ""]
        lines += [f"- {md(p)}" for p in rec.agreement_points] or ["- (none recorded)"]
        lines += ["", "### The other side" if rec.verdict else "### Dissent", ""]
        lines += [f"- {md(d)}" for d in rec.dissent] or ["- (none)"]
    if record.error:
        lines += ["", "## Error", "", quote(record.error)]
    lines += ["", "## Consensus by round", ""]
    lines += consensus_rows(record.consensus_by_round) if record.consensus_by_round else ["No round was measured."]
    lines += ["", "## Fallbacks", ""]
    if record.fallbacks:
        lines += ["| step | reason |", "|---|---|"]
        lines += [f"| {md(f.step)} | {md(f.reason)} |" for f in record.fallbacks]
    else:
        lines.append("None: every step was answered as asked.")
    lines.append("")
    lines.append(f"Degraded: **{'yes' if record.degraded else 'no'}**.")
    lines += ["", "## Discussion", ""]
    current_round = None
    for turn in record.turns:
        if turn.round != current_round:
            current_round = turn.round
            lines += [f"### Round {turn.round}", ""]
        when = f"{turn.at.isoformat()}" + (
            f" (+{turn.seconds_from_start:.1f} s)" if turn.seconds_from_start is not None else ""
        )
        role = "" if turn.role == "expert" else f" ({md(turn.role)})"
        lines += [
            f"#### {turn.number}. {md(turn.speaker)}{role}",
            "",
            f"*{when}*" + (f" · `{turn.model}`" if turn.model else ""),
            "",
        ]
        lines += [quote(turn.content), ""]
        if turn.stance:
            stance = turn.stance
            detail = f"confidence {stance.confidence:.2f}"
            if stance.estimate is not None:
                detail += f", estimate {stance.estimate:g}"
            if stance.endorses:
                detail += f", endorses `{stance.endorses}`"
            lines.append(f"- **Position:** {md(stance.position)} ({detail})")
            if stance.ranking:
                lines.append(f"- **Ranking:** {' > '.join(md(r) for r in stance.ranking)}")
            lines.append("")
        elif turn.stance_outcome == "failed":
            lines += ["*No readable stance (kept without one).*", ""]
    u = record.usage
    lines += [
        "## Usage and cost",
        "",
        "| input tokens | output tokens | model calls | cost (USD) |",
        "|---:|---:|---:|---:|",
        f"| {u.input_tokens} | {u.output_tokens} | {u.llm_calls} | {u.cost_usd:.4f} |",
        "",
        f"*Generated {record.generated_at.isoformat()} by Ask Panel (record version {record.record_version}).*",
        "",
    ]
    return "\n".join(lines)
