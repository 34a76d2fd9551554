"""`ask-panel agents list|show|create|update|delete`: the expert registry (built-ins are read-only)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from ask_panel.cli.connect import Target, open_client
from ask_panel.cli.options import JsonOption, configure, connected
from ask_panel.cli.running import run
from ask_panel.client import ApiError
from ask_panel.client.models import Expert
from ask_panel.client.protocol import to_json

app = typer.Typer(help="The expert registry: built-in experts and the tenant's own.", no_args_is_help=True)
AgentIdArgument = Annotated[str, typer.Argument(help="the expert's id")]
NAME_HELP = "the expert's name, e.g. 'Dr. Ada Park'"
ROLE_HELP = "the expert's role, e.g. 'Sterilization scientist'"
INSTRUCTIONS_HELP = "how the expert thinks and what it judges"
NameOption = Annotated[str | None, typer.Option(help=NAME_HELP)]
RoleOption = Annotated[str | None, typer.Option(help=ROLE_HELP)]
InstructionsOption = Annotated[str | None, typer.Option(help=INSTRUCTIONS_HELP)]
ExpertiseOption = Annotated[str | None, typer.Option(help="comma-separated expertise terms")]
ModelOption = Annotated[str | None, typer.Option(help="the model for this expert's turns")]
ProviderOption = Annotated[str | None, typer.Option(help="simulated, openai or anthropic")]
OutputModeOption = Annotated[str | None, typer.Option("--output-mode", help="json_schema, json_object or prompt")]


READ_ONLY_PROBLEM = "builtin-agent-read-only"
"""The problem type's last segment the service answers a change to a built-in expert with."""
T = TypeVar("T")


def read_only_hint(agent_id: str) -> str:
    """What a person at the command line does instead of changing a built-in expert."""
    return (
        f"'{agent_id}' is a built-in expert and cannot be changed or deleted; create your own under another id "
        "with `ask-panel agents create NEW_ID --name ... --role ... --instructions ...` "
        f"(`ask-panel agents show {agent_id}` prints its definition to start from)"
    )


async def changing(agent_id: str, request: Awaitable[T]) -> T:
    """`request` (an update or a delete), its refusal for a built-in expert told in the CLI's own terms.

    The service's problem names its HTTP endpoint (`POST /api/v1/agents`), which suits API callers;
    here the same refusal names the command that does it.
    """
    try:
        return await request
    except ApiError as exc:
        if not exc.type.rstrip("/").endswith("/" + READ_ONLY_PROBLEM):
            raise
        raise ApiError(
            exc.status, exc.title, read_only_hint(agent_id), type=exc.type, request_id=exc.request_id, body=exc.body
        ) from None


def fields_of(**given: Any) -> dict[str, Any]:
    """The fields given on the command line (expertise split on commas)."""
    fields = {k: v for k, v in given.items() if v is not None}
    if "expertise" in fields:
        fields["expertise"] = [t.strip() for t in fields["expertise"].split(",") if t.strip()]
    return fields


def print_agent(agent: Expert, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(to_json(agent, indent=2) + "\n")
        return
    console = Console(highlight=False)
    console.print(
        f"[bold]{agent.name}[/] — {agent.role}  [dim]{agent.agent_id}{' · built-in' if agent.builtin else ''}[/]"
    )
    if agent.expertise:
        console.print(f"expertise: {', '.join(agent.expertise)}")
    model = " / ".join(x for x in (agent.provider, agent.model, agent.output_mode) if x)
    if model:
        console.print(f"model: {model}")
    console.print(agent.instructions)


@app.command("list")
@connected
def list_agents(
    ctx: typer.Context,
    as_json: JsonOption = False,
    *,
    target: Target,
) -> None:
    """Built-in experts first, then the tenant's own."""
    configure(ctx, "WARNING")

    async def main() -> None:
        async with open_client(target) as client:
            agents = await client.agents.list()
        if as_json:
            for agent in agents:
                sys.stdout.write(to_json(agent) + "\n")
            return
        table = Table(box=None, pad_edge=False)
        for column in ("id", "name", "role", "kind", "model"):
            table.add_column(column)
        for agent in agents:
            kind = "built-in" if agent.builtin else "tenant"
            table.add_row(agent.agent_id, agent.name, agent.role, kind, agent.model or "-")
        Console(highlight=False).print(table)

    run(main())


@app.command("show")
@connected
def show(
    ctx: typer.Context,
    agent_id: AgentIdArgument,
    as_json: JsonOption = False,
    *,
    target: Target,
) -> None:
    """One expert's definition."""
    configure(ctx, "WARNING")

    async def main() -> None:
        async with open_client(target) as client:
            print_agent(await client.agents.get(agent_id), as_json)

    run(main())


@app.command("create")
@connected
def create(
    ctx: typer.Context,
    agent_id: AgentIdArgument,
    name: Annotated[str, typer.Option(help=NAME_HELP)],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    instructions: Annotated[str, typer.Option(help=INSTRUCTIONS_HELP)],
    expertise: ExpertiseOption = None,
    model: ModelOption = None,
    provider: ProviderOption = None,
    output_mode: OutputModeOption = None,
    as_json: JsonOption = False,
    *,
    target: Target,
) -> None:
    """Add an expert of this tenant (its id may not be a built-in one's)."""
    configure(ctx, "WARNING")
    fields = fields_of(
        agent_id=agent_id,
        name=name,
        role=role,
        instructions=instructions,
        expertise=expertise,
        model=model,
        provider=provider,
        output_mode=output_mode,
    )

    async def main() -> None:
        async with open_client(target) as client:
            print_agent(await client.agents.create(**fields), as_json)

    run(main())


@app.command("update")
@connected
def update(
    ctx: typer.Context,
    agent_id: AgentIdArgument,
    name: NameOption = None,
    role: RoleOption = None,
    instructions: InstructionsOption = None,
    expertise: ExpertiseOption = None,
    model: ModelOption = None,
    provider: ProviderOption = None,
    output_mode: OutputModeOption = None,
    as_json: JsonOption = False,
    *,
    target: Target,
) -> None:
    """Change the given fields of a tenant's expert (panels already created keep the definition they had)."""
    configure(ctx, "WARNING")
    fields = fields_of(
        name=name,
        role=role,
        instructions=instructions,
        expertise=expertise,
        model=model,
        provider=provider,
        output_mode=output_mode,
    )
    if not fields:
        raise typer.BadParameter("give at least one field to change (--name, --role, --instructions, ...)")

    async def main() -> None:
        async with open_client(target) as client:
            print_agent(await changing(agent_id, client.agents.update(agent_id, **fields)), as_json)

    run(main())


@app.command("delete")
@connected
def delete(
    ctx: typer.Context,
    agent_id: AgentIdArgument,
    *,
    target: Target,
) -> None:
    """Remove a tenant's expert (panels that ran with it keep its definition)."""
    configure(ctx, "WARNING")

    async def main() -> None:
        async with open_client(target) as client:
            await changing(agent_id, client.agents.delete(agent_id))
        Console(stderr=True).print(f"deleted expert {agent_id}")

    run(main())
