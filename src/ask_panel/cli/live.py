"""The live view of a panel in a terminal: who speaks (and their role), the text as it streams, rounds,
consensus after each round, then the recommendation with its dissent (and the steps that fell back)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ask_panel.client import Event, EventType

DRAFT_CHARS = 600  # the tail of a turn in progress that the live area shows


def bar(level: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, level)) * width)
    return "█" * filled + "░" * (width - filled)


def bullets(items: Iterable[str]) -> Table:
    """A bulleted list whose wrapped lines stay under their text (a hanging indent)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for item in items:
        grid.add_row("  •", Text(item))
    return grid


class LiveView:
    """Prints each finished event above a live area that shows the turns still being written."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.roles: dict[str, str] = {}
        self.drafts: dict[str, tuple[str, str]] = {}  # agent_id -> (speaker, text so far)
        self._live = self._new_live()
        self.paused = False
        self._held: list[Event] = []
        self._shown_feedback: dict[str, Any] = {}

    def __enter__(self) -> Self:
        self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.drafts.clear()
        self._refresh()
        self._live.stop()

    def pause(self) -> None:
        """Stop drawing while a question is asked; events that come meanwhile are shown on `resume()`."""
        self.paused = True
        self._live.stop()

    def resume(self) -> None:
        self.paused = False
        self._live = self._new_live()  # a stopped Live would redraw over the lines printed meanwhile
        self._live.start()
        held, self._held = self._held, []
        for event in held:
            self.show(event)
        self._refresh()

    def _new_live(self) -> Live:
        return Live(console=self.console, refresh_per_second=12, transient=True, auto_refresh=True)

    def show(self, event: Event) -> None:
        if self.paused:
            self._held.append(event)
            return
        handler = getattr(self, f"_on_{event.type.value}", None)
        if handler is not None:
            handler(event.data)

    def note(self, text: str) -> None:
        self.console.print(text)

    # one method per event type

    def _on_panel_started(self, data: dict[str, Any]) -> None:
        self.roles = {m["agent_id"]: m["agent_role"] for m in data.get("members", [])}
        members = "\n".join(
            f"  • [bold]{escape(m['agent_name'])}[/] — {escape(m['agent_role'])}" for m in data["members"]
        )
        self.console.print(
            Panel(
                f"[bold]{escape(data['query'])}[/]\n\n"
                f"[dim]{data['panel_type']} panel · {data['panel_id']}[/]\n{members}",
                title="Ask Panel",
                title_align="left",
                border_style="cyan",
            )
        )

    def _on_round_started(self, data: dict[str, Any]) -> None:
        self.console.print(Rule(f"Round {data['round']}", style="cyan"))

    def _on_expert_token(self, data: dict[str, Any]) -> None:
        speaker, text = self.drafts.get(data["agent_id"], (data["agent_name"], ""))
        self.drafts[data["agent_id"]] = (speaker, text + data["delta"])
        self._refresh()

    def _on_expert_speaking(self, data: dict[str, Any]) -> None:
        self.drafts.pop(data["agent_id"], None)
        role = self.roles.get(data["agent_id"]) or data.get("role", "")
        title = f"[bold]{escape(data['agent_name'])}[/] · {escape(role)}"
        if data.get("role") not in (None, "expert"):
            title += f" [dim]({data['role']})[/]"
        body: list[RenderableType] = [Text(data["content"])]
        stance = data.get("stance")
        if stance:
            line = f"[dim]position:[/] {escape(stance['position'])}  [dim]confidence {stance['confidence']:.2f}[/]"
            if stance.get("estimate") is not None:
                line += f"  [dim]estimate {stance['estimate']}[/]"
            body.append(Text.from_markup(line))
        self.console.print(Padding(Group(Text.from_markup(title), *body), (0, 0, 1, 2), expand=False))
        self._refresh()

    def _on_round_complete(self, data: dict[str, Any]) -> None:
        line = feedback_line(data.get("feedback") or {}, self._shown_feedback)
        self._shown_feedback.update(data.get("feedback") or {})
        if line:
            text = Text(line, style="dim")
            self.console.print(Padding(text, (0, 0, 0, 2), expand=False))  # wrapped lines stay indented

    def _on_consensus_update(self, data: dict[str, Any]) -> None:
        parts = {k: v for k, v in data.get("components", {}).items() if k in ("agreement", "concordance", "spread")}
        details = ", ".join(f"{k} {v:.2f}" for k, v in parts.items() if isinstance(v, int | float))
        line = Text.from_markup(
            f"[bold]consensus after round {data['round']}[/]  {bar(data['level'])} {data['level']:.2f}"
            f"  [dim]confidence {data['confidence']:.2f}{' · ' + details if details else ''}[/]"
        )
        self.console.print(Padding(line, (0, 0, 1, 2), expand=False))  # a wrapped line stays indented

    def _on_panel_complete(self, data: dict[str, Any]) -> None:
        rec = data["recommendation"]
        parts: list[RenderableType] = [
            Text(rec["recommendation"], style="bold"),
            Text(""),
            Text(rec["rationale"]),
        ]
        debated = bool(rec.get("verdict"))  # a debate's points are the judge's grounds and the losing side's case
        if rec.get("agreement_points"):
            heading = "Arguments the judge relied on" if debated else "Agreement"
            parts += [Text(""), Text(heading, style="green"), bullets(rec["agreement_points"])]
        if rec.get("dissent"):
            parts += [
                Text(""),
                Text("The other side" if debated else "Dissent", style="yellow"),
                bullets(rec["dissent"]),
            ]
        usage = data.get("usage") or {}
        footer = (
            f"consensus {data['consensus']:.2f} · confidence {data['confidence']:.2f}"
            f" · {data.get('duration') or 0:.1f} s · {usage.get('llm_calls', 0)} model calls"
            f" · ${usage.get('cost_usd', 0):.4f}"
        )
        if rec.get("degraded"):
            footer += " · [yellow]degraded[/]"
        fallbacks = rec.get("fallbacks") or []
        if fallbacks:
            parts += [
                Text(""),
                Text("Degraded: these steps fell back", style="yellow"),
                bullets(f"{f['step']}: {f['reason']}" for f in fallbacks),
            ]
        parts += [Text(""), Text.from_markup(f"[dim]{footer}[/]")]
        self.console.print(Panel(Group(*parts), title="Recommendation", title_align="left", border_style="green"))

    def _on_panel_cancelled(self, data: dict[str, Any]) -> None:
        self.console.print(Panel("The panel was cancelled.", border_style="yellow"))

    def _on_error(self, data: dict[str, Any]) -> None:
        if data.get("terminal"):
            self.console.print(Panel(escape(data["message"]), title="Panel failed", border_style="red"))
        else:
            who = data.get("agent_id", "an expert")
            self.console.print(
                f"  [yellow]{escape(who)} could not answer (round {data.get('round')}):[/] {escape(data['message'])}"
            )

    def _refresh(self) -> None:
        if self.paused:
            return
        drafts = [
            Padding(
                Group(Text.from_markup(f"[bold]{escape(name)}[/] [dim]is speaking…[/]"), Text(text[-DRAFT_CHARS:])),
                (0, 0, 0, 2),
            )
            for name, text in self.drafts.values()
        ]
        self._live.update(Group(*drafts))


class JsonLines:
    """`--json`: one JSON object per event (`{id, event, data}`), one per line, flushed as it comes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def pause(self) -> None:
        return None

    def resume(self) -> None:
        return None

    def show(self, event: Event) -> None:
        self.out.write(json.dumps(event.as_json(), ensure_ascii=False) + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        return None


__all__ = ["EventType", "JsonLines", "LiveView"]


# Delphi's facilitator says its round feedback in a turn of its own; the view does not repeat it.
_SAID_IN_THE_TRANSCRIPT = frozenset({"distribution", "positions", "estimate_question", "unit"})


def feedback_line(feedback: dict[str, Any], shown: dict[str, Any]) -> str | None:
    """A round's feedback in words (e.g. the debated proposition), leaving out what was shown before."""
    parts = [
        f"{key.replace('_', ' ')}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in feedback.items()
        if key not in _SAID_IN_THE_TRANSCRIPT and shown.get(key) != value
    ]
    return "; ".join(parts) or None
