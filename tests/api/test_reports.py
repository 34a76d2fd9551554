"""`GET /api/v1/panels/{id}/report`: the decision record in Markdown, printable HTML and JSON, tenant-scoped."""

from __future__ import annotations

import httpx2

from tests.conftest import TENANT_A, TENANT_B, create_panel, headers_for, wait_for_status

EXPERTS = ["fda_expert", "clinical_expert", "reimbursement_expert"]


async def finished_panel(client: httpx2.AsyncClient) -> dict[str, object]:
    """A two-round panel. The seed is pinned: a few seeds in a hundred agree unanimously after round 1 and stop."""
    created = await create_panel(
        client, agent_ids=EXPERTS, configuration={"max_rounds": 2, "consensus_threshold": 1.0, "seed": 11}
    )
    await client.post(f"/api/v1/panels/{created['panel_id']}/execute", headers=headers_for())
    panel = await wait_for_status(client, str(created["panel_id"]), {"completed"})
    assert [r["round_number"] for r in panel["discussions"]] == [1, 2], "this seed no longer runs two rounds"
    return panel


async def report(client: httpx2.AsyncClient, panel_id: object, fmt: str, tenant: str = TENANT_A) -> httpx2.Response:
    return await client.get(f"/api/v1/panels/{panel_id}/report", params={"format": fmt}, headers=headers_for(tenant))


async def test_the_json_record_holds_every_turn_consensus_round_and_the_outcome(client: httpx2.AsyncClient) -> None:
    panel = await finished_panel(client)
    response = await report(client, panel["panel_id"], "json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    record = response.json()

    messages = [m for rnd in panel["discussions"] for m in rnd["messages"]]  # type: ignore[attr-defined]
    assert record["query"] == panel["query"]
    assert [(e["agent_id"], e["role"]) for e in record["experts"]] == [
        (m["agent_id"], m["agent_role"])
        for m in panel["members"]  # type: ignore[attr-defined]
    ]
    assert all(e["models"] == ["simulated"] for e in record["experts"])
    assert [t["number"] for t in record["turns"]] == list(range(1, len(messages) + 1))
    assert [(t["agent_id"], t["content"]) for t in record["turns"]] == [(m["agent_id"], m["content"]) for m in messages]
    assert all(t["at"] and t["seconds_from_start"] >= 0 and t["stance"]["position"] for t in record["turns"])
    assert [c["round"] for c in record["consensus_by_round"]] == [1, 2]
    assert {"agreement", "concordance"} <= set(record["consensus_by_round"][0]["components"])
    rec = panel["final_recommendation"]
    assert record["recommendation"]["recommendation"] == rec["recommendation"]  # type: ignore[index]
    assert record["recommendation"]["rationale"] == rec["rationale"]  # type: ignore[index]
    assert record["recommendation"]["dissent"] == rec["dissent"]  # type: ignore[index]
    assert record["degraded"] is False and record["fallbacks"] == []
    assert record["usage"] == panel["usage"]


async def test_the_markdown_record_reads_as_a_document(client: httpx2.AsyncClient) -> None:
    panel = await finished_panel(client)
    response = await report(client, panel["panel_id"], "md")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    for heading in (
        "## Question",
        "## Experts",
        "## Recommendation",
        "### Dissent",
        "## Consensus by round",
        "## Fallbacks",
        "## Discussion",
        "### Round 2",
        "## Usage and cost",
    ):
        assert heading in text
    assert "US FDA regulatory strategist" in text and "`simulated`" in text
    assert "Degraded: **no**" in text
    assert text.count("**Position:**") == panel["total_messages"]


async def test_the_html_record_is_escaped_and_has_a_print_stylesheet(client: httpx2.AsyncClient) -> None:
    created = await create_panel(
        client, query="Is <script>alert(1)</script> & co. a risk?", agent_ids=EXPERTS, configuration={"max_rounds": 1}
    )
    await client.post(f"/api/v1/panels/{created['panel_id']}/execute", headers=headers_for())
    await wait_for_status(client, created["panel_id"], {"completed"})
    response = await report(client, created["panel_id"], "html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "@media print" in html and "@page" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co." in html
    assert html.count('class="turn"') == 3


async def test_another_tenant_s_panel_has_no_report(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client)
    response = await report(client, panel["panel_id"], "md", tenant=TENANT_B)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unknown_format_is_a_bad_request(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client)
    response = await report(client, panel["panel_id"], "pdf")
    assert response.status_code == 400
    assert "format" in response.json()["detail"]


async def test_a_draft_s_record_says_it_is_a_draft_and_has_no_turns(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client)
    record = (await report(client, panel["panel_id"], "json")).json()
    assert record["status"] == "draft" and record["turns"] == [] and record["recommendation"] is None
