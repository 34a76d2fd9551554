"""An expert's fields are declared once (`api/schemas.py`'s EXPERT_FIELDS): PUT, POST and PATCH bodies, the
domain's `Expert`, the service's editable fields and the CLI's options all name the same ones."""

from __future__ import annotations

import dataclasses
from typing import Any

import typer.main

from ask_panel.api.schemas import (
    CLEARABLE,
    EXPERT_FIELDS,
    CreateAgentRequest,
    ReplaceAgentRequest,
    UpdateAgentRequest,
)
from ask_panel.application.agents import EDITABLE_FIELDS
from ask_panel.cli.main import app
from ask_panel.domain.experts import Expert


def test_the_request_bodies_are_made_from_the_one_declaration() -> None:
    declared = set(EXPERT_FIELDS)
    assert declared == EDITABLE_FIELDS
    assert declared == {f.name for f in dataclasses.fields(Expert)} - {"agent_id", "builtin"}
    assert set(ReplaceAgentRequest.model_fields) == declared
    assert set(CreateAgentRequest.model_fields) == declared | {"agent_id"}
    assert set(UpdateAgentRequest.model_fields) == declared


def test_patch_accepts_each_field_with_put_s_constraints_and_null_only_where_it_clears() -> None:
    replace = ReplaceAgentRequest.model_json_schema()["properties"]
    update = UpdateAgentRequest.model_json_schema()["properties"]
    for name, schema in update.items():
        branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
        put = replace[name]
        put_branches = [b for b in put.get("anyOf", [put]) if b.get("type") != "null"]
        assert [{k: v for k, v in b.items() if k not in ("default", "title")} for b in branches] == [
            {k: v for k, v in b.items() if k not in ("default", "title")} for b in put_branches
        ], name
        if name in CLEARABLE:  # null clears it
            assert "default" in schema and schema["default"] is None, name
        else:  # may be left out, never null: an expert always has it
            assert "default" not in schema and "anyOf" not in schema, name
    assert ReplaceAgentRequest.model_json_schema()["required"] == ["name", "role", "instructions"]


def test_the_cli_edits_the_same_fields() -> None:
    root: Any = typer.main.get_command(app)
    agents = root.commands["agents"].commands
    for command in ("create", "update"):
        options = {p.name for p in agents[command].params if p.param_type_name == "option"}
        assert options >= EDITABLE_FIELDS, (command, EDITABLE_FIELDS - options)
