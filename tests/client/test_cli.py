"""`ask-panel` as a subprocess against a real `ask-panel serve`, and with `--local`: JSON lines, a dropped
connection, Ctrl-C and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ask_panel.cli.exit_codes import ExitCode
from ask_panel.client import AskPanel
from ask_panel.infrastructure.auth import mint_jwt
from tests.client.cli import EXECUTABLE, ask_panel, cli_env, json_lines
from tests.client.conftest import Account, Server
from tests.client.proxy import cutting_proxy
from tests.conftest import JWT_SECRET
from tests.integration.processes import api_process, free_port

QUESTION = "Should we file a 510(k) or a De Novo for our wearable ECG patch?"
EXPERTS = "fda_expert,clinical_expert,reimbursement_expert"


def event_names(events: list[dict[str, object]]) -> list[object]:
    return [e["event"] for e in events]


def test_ask_with_json_prints_every_event_once_as_a_json_line_and_exits_0(account: Account) -> None:
    result = ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "2", "--json", env=cli_env(**account.env()))
    assert result.returncode == ExitCode.OK, result.stderr
    events = json_lines(result.stdout)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["event"] == "panel_started" and events[-1]["event"] == "panel_complete"
    assert {e["data"]["agent_id"] for e in events if e["event"] == "expert_speaking"} == set(EXPERTS.split(","))
    assert event_names(events).count("consensus_update") >= 1
    with AskPanel(account.url, tenant=account.tenant, token=account.token) as client:
        assert client.get(events[0]["data"]["panel_id"]).status == "completed"


def test_ask_survives_a_connection_dropped_in_the_middle_of_an_event(account: Account, server: Server) -> None:
    with cutting_proxy(server.port, cut_after=b"event: expert_speaking", cuts=2) as proxy:
        env = cli_env(**{**account.env(), "ASK_PANEL_URL": proxy.url})
        result = ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "2", "--json", env=env)
    assert result.returncode == ExitCode.OK, result.stderr
    assert proxy.cuts_done == 2 and len(proxy.resumed_from()) == 2
    events = json_lines(result.stdout)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["event"] == "panel_complete"


def test_the_live_view_shows_speakers_with_roles_rounds_consensus_and_the_recommendation(account: Account) -> None:
    result = ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "2", env=cli_env(**account.env()))
    assert result.returncode == ExitCode.OK, result.stderr
    out = result.stdout
    assert "Dr. Maya Chen · US FDA regulatory strategist" in out
    assert "Round 1" in out
    assert "consensus after round 1" in out
    # Dissent is shown only when some expert ended on another option (never at full agreement, issue 9).
    assert "Recommendation" in out and ("Agreement" in out or "Dissent" in out)


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[Server]:
    """A server whose simulated model writes slowly, so that a panel is still running when Ctrl-C comes."""
    directory = tmp_path_factory.mktemp("slow")
    shutil.copy(migrated_template, directory / "slow.db")
    with api_process(
        f"sqlite+aiosqlite:///{directory / 'slow.db'}",
        directory,
        ASK_PANEL_AUTH_MODE="jwt",
        ASK_PANEL_JWT_SECRET=JWT_SECRET,
        ASK_PANEL_SIMULATED_TOKEN_DELAY_MS="40",
    ) as (url, process):
        yield Server(url, int(url.rsplit(":", 1)[1]), process)


def slow_account(server: Server) -> Account:
    tenant = str(uuid.uuid4())
    return Account(server.url, tenant, mint_jwt(JWT_SECRET, [tenant]))


def start_ask(account: Account) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [EXECUTABLE, "ask", QUESTION, "--experts", EXPERTS, "--rounds", "6", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=cli_env(**account.env()),
    )


def read_until_someone_spoke(process: subprocess.Popen[str]) -> list[dict[str, object]]:
    assert process.stdout is not None
    seen: list[dict[str, object]] = []
    for line in process.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] == "expert_speaking":
            return seen
    raise AssertionError(f"the panel ended before anyone spoke: {seen}")


def test_ctrl_c_cancels_the_panel_and_exits_with_the_cancelled_code(slow_server: Server) -> None:
    account = slow_account(slow_server)
    process = start_ask(account)
    seen = read_until_someone_spoke(process)
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=60)
    events = seen + json_lines(rest)

    assert process.returncode == ExitCode.PANEL_CANCELLED, errors
    assert events[-1]["event"] == "panel_cancelled"
    assert "panel_complete" not in event_names(events)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    with AskPanel(account.url, tenant=account.tenant, token=account.token) as client:
        assert client.get(str(events[0]["data"]["panel_id"])).status == "cancelled"


def test_ctrl_c_while_watching_leaves_the_panel_running(slow_server: Server) -> None:
    account = slow_account(slow_server)
    with AskPanel(account.url, tenant=account.tenant, token=account.token) as client:
        panel = client.create(QUESTION, agent_ids=EXPERTS.split(","), configuration={"max_rounds": 6})
        client.execute(panel.panel_id)
        watcher = subprocess.Popen(
            [EXECUTABLE, "panels", "watch", panel.panel_id, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=cli_env(**account.env()),
        )
        read_until_someone_spoke(watcher)
        watcher.send_signal(signal.SIGINT)
        watcher.communicate(timeout=60)
        assert watcher.returncode == ExitCode.INTERRUPTED
        assert client.get(panel.panel_id).status == "in_progress"
        client.cancel(panel.panel_id)


def test_watching_a_finished_panel_replays_it_and_exits_with_its_outcome(account: Account) -> None:
    env = cli_env(**account.env())
    asked = json_lines(ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "1", "--json", env=env).stdout)
    panel_id = str(asked[0]["data"]["panel_id"])
    watched = ask_panel("panels", "watch", panel_id, "--json", env=env)
    assert watched.returncode == ExitCode.OK
    assert json_lines(watched.stdout) == asked


def test_watching_a_finished_panel_from_its_last_event_prints_nothing_and_exits_with_its_outcome(
    account: Account,
) -> None:
    env = cli_env(**account.env())
    asked = json_lines(ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "1", "--json", env=env).stdout)
    panel_id, last = str(asked[0]["data"]["panel_id"]), str(asked[-1]["id"])
    watched = ask_panel("panels", "watch", panel_id, "--json", "--since", last, env=env)
    assert (watched.returncode, watched.stdout) == (ExitCode.OK, ""), watched.stderr


def test_the_report_command_writes_each_format_to_a_file(account: Account, tmp_path: Path) -> None:
    env = cli_env(**account.env())
    asked = json_lines(ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "2", "--json", env=env).stdout)
    panel_id = str(asked[0]["data"]["panel_id"])
    for report_format in ("md", "html", "json"):
        result = ask_panel("panels", "report", panel_id, "--format", report_format, env=env, cwd=tmp_path)
        assert result.returncode == ExitCode.OK, result.stderr
    markdown = (tmp_path / f"panel-{panel_id}.md").read_text()
    html = (tmp_path / f"panel-{panel_id}.html").read_text()
    record = json.loads((tmp_path / f"panel-{panel_id}.json").read_text())
    assert markdown.startswith("# Decision record: ")
    assert "<!doctype html>" in html and "@media print" in html
    assert record["panel_id"] == panel_id and record["status"] == "completed"
    assert len(record["turns"]) == sum(1 for e in asked if e["event"] == "expert_speaking")


def test_a_report_written_where_it_cannot_be_is_a_usage_error_with_the_reason(account: Account, tmp_path: Path) -> None:
    env = cli_env(**account.env())
    asked = json_lines(ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "1", "--json", env=env).stdout)
    panel_id = str(asked[0]["data"]["panel_id"])

    missing = ask_panel("panels", "report", panel_id, "-o", "/nonexistent/dir/x.md", env=env)
    assert missing.returncode == ExitCode.USAGE
    assert "Traceback" not in missing.stderr and "/nonexistent/dir does not exist" in missing.stderr

    (tmp_path / "locked").mkdir(mode=0o500)
    refused = ask_panel("panels", "report", panel_id, "-o", str(tmp_path / "locked" / "x.md"), env=env)
    if os.geteuid() != 0:  # root writes anywhere
        assert refused.returncode == ExitCode.USAGE
        assert "Traceback" not in refused.stderr and "cannot write" in refused.stderr

    into_directory = ask_panel("panels", "report", panel_id, "-o", str(tmp_path), env=env)
    assert into_directory.returncode == ExitCode.OK, into_directory.stderr
    assert (tmp_path / f"panel-{panel_id}.md").read_text().startswith("# Decision record: ")


def test_the_panels_list_shows_the_tenant_s_panels_only(account: Account) -> None:
    env = cli_env(**account.env())
    asked = json_lines(ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "1", "--json", env=env).stdout)
    listed = json_lines(ask_panel("panels", "list", "--json", env=env).stdout)
    assert [p["panel_id"] for p in listed] == [asked[0]["data"]["panel_id"]]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["ask", QUESTION, "--type", "shouting"], ExitCode.USAGE),
        (["ask", QUESTION, "--rounds", "99"], ExitCode.USAGE),
        (["panels", "show", "00000000-0000-4000-8000-000000000000"], ExitCode.REFUSED),
        (["panels", "cancel", "00000000-0000-4000-8000-000000000000"], ExitCode.REFUSED),
        (["agents", "show", "nobody_here"], ExitCode.REFUSED),
        (["panels", "nonsense"], ExitCode.USAGE),
    ],
)
def test_exit_codes_tell_usage_errors_from_refusals(account: Account, args: list[str], code: ExitCode) -> None:
    result = ask_panel(*args, env=cli_env(**account.env()))
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_tenant_is_a_usage_error(account: Account) -> None:
    result = ask_panel("panels", "list", env=cli_env(ASK_PANEL_URL=account.url))
    assert result.returncode == ExitCode.USAGE
    assert "ASK_PANEL_TENANT" in result.stderr


def test_a_service_that_is_not_there_is_an_unreachable_exit(account: Account) -> None:
    env = cli_env(**{**account.env(), "ASK_PANEL_URL": f"http://127.0.0.1:{free_port()}"})
    result = ask_panel("panels", "list", env=env)
    assert result.returncode == ExitCode.UNREACHABLE
    assert "cannot reach the service" in result.stderr


def test_a_wrong_token_is_refused(account: Account) -> None:
    result = ask_panel("panels", "list", env=cli_env(**{**account.env(), "ASK_PANEL_TOKEN": "not-a-token"}))
    assert result.returncode == ExitCode.REFUSED
    assert "401" in result.stderr and "not-a-token" not in result.stderr


def test_local_runs_a_panel_in_process_with_no_server(tmp_path: Path) -> None:
    env = cli_env(
        ASK_PANEL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'local.db'}",
        ASK_PANEL_SIMULATED_TOKEN_DELAY_MS="1",
        ASK_PANEL_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens there: --local never uses it
    )
    asked = ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "2", "--json", "--local", env=env)
    assert asked.returncode == ExitCode.OK, asked.stderr
    events = json_lines(asked.stdout)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["event"] == "panel_complete"
    panel_id = str(events[0]["data"]["panel_id"])

    listed = json_lines(ask_panel("panels", "list", "--json", "--local", env=env).stdout)
    assert [p["panel_id"] for p in listed] == [panel_id]
    assert [p["status"] for p in listed] == ["completed"]
    report = ask_panel("panels", "report", panel_id, "--format", "md", "-o", "-", "--local", env=env)
    assert report.returncode == ExitCode.OK and "## Recommendation" in report.stdout
    live = ask_panel("ask", QUESTION, "--experts", EXPERTS, "--rounds", "1", "--local", env=env)
    assert live.returncode == ExitCode.OK, live.stderr
    assert "Recommendation" in live.stdout


def test_ask_takes_a_budget_and_a_seed_and_the_panel_wraps_up_at_the_budget(tmp_path: Path) -> None:
    env = cli_env(
        ASK_PANEL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'local.db'}",
        ASK_PANEL_SIMULATED_TOKEN_DELAY_MS="0",
        ASK_PANEL_URL=f"http://127.0.0.1:{free_port()}",
    )
    args = ("ask", QUESTION, "--experts", EXPERTS, "--rounds", "3", "--seed", "11", "--json", "--local")
    full = json_lines(ask_panel(*args, env=env).stdout)
    used = full[-1]["data"]["usage"]
    assert not full[-1]["data"]["recommendation"]["degraded"]
    budget = str((used["input_tokens"] + used["output_tokens"]) // 2)  # half of what the whole panel took

    capped = ask_panel(*args, "--max-tokens", budget, env=env)
    assert capped.returncode == ExitCode.OK, capped.stderr
    events = json_lines(capped.stdout)
    assert events[-1]["event"] == "panel_complete"
    outcome = events[-1]["data"]["recommendation"]
    assert outcome["degraded"] and any("token budget" in f["reason"] for f in outcome["fallbacks"])

    def first_round(run: list[dict[str, Any]]) -> list[str]:
        said = [e["data"] for e in run if e["event"] == "expert_speaking"]
        return [m["content"] for m in said if m.get("round") == 1]

    assert first_round(events) and first_round(events) == first_round(full), "the same seed speaks the same way"


def test_every_command_has_help() -> None:
    for args in (["--help"], ["ask", "--help"], ["panels", "--help"], ["agents", "--help"], ["serve", "--help"]):
        result = ask_panel(*args, env=cli_env())
        assert result.returncode == 0 and "Usage" in result.stdout


def test_a_tenant_expert_is_created_changed_and_deleted_from_the_cli(account: Account) -> None:
    env = cli_env(**account.env())
    created = ask_panel(
        "agents",
        "create",
        "acme_pricing",
        "--name",
        "Dr. Ada Park",
        "--role",
        "Pricing strategist",
        "--instructions",
        "Judge pricing choices.",
        "--expertise",
        "pricing, payers",
        "--json",
        env=env,
    )
    assert created.returncode == ExitCode.OK, created.stderr
    assert json.loads(created.stdout)["expertise"] == ["pricing", "payers"]
    updated = ask_panel("agents", "update", "acme_pricing", "--role", "Head of pricing", "--json", env=env)
    assert updated.returncode == ExitCode.OK, updated.stderr
    assert (json.loads(updated.stdout)["role"], json.loads(updated.stdout)["name"]) == (
        "Head of pricing",
        "Dr. Ada Park",
    )
    listed = json_lines(ask_panel("agents", "list", "--json", env=env).stdout)
    assert "acme_pricing" in {a["agent_id"] for a in listed}
    assert ask_panel("agents", "delete", "acme_pricing", env=env).returncode == ExitCode.OK
    assert ask_panel("agents", "show", "acme_pricing", env=env).returncode == ExitCode.REFUSED


def test_changing_a_built_in_expert_from_the_cli_is_refused_with_the_reason_and_the_command_to_use(
    account: Account,
) -> None:
    """The service's problem names POST /api/v1/agents; a person at the command line is told the command."""
    env = cli_env(**account.env())
    for args in (["update", "fda_expert", "--name", "Mallory"], ["delete", "fda_expert"]):
        result = ask_panel("agents", *args, env=env)
        assert result.returncode == ExitCode.REFUSED
        said = " ".join(result.stderr.split())
        assert "403" in said and "'fda_expert' is a built-in expert" in said
        assert "ask-panel agents create NEW_ID" in said and "ask-panel agents show fda_expert" in said
        assert "POST /api/v1/agents" not in said
