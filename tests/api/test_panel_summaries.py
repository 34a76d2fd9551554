"""`GET /api/v1/panels` lists summaries in the seed's envelope; the full panel stays at `GET /panels/{id}`."""

from __future__ import annotations

import httpx2

from tests.conftest import create_panel, headers_for, wait_for_status

SUMMARY_FIELDS = {
    "panel_id",
    "tenant_id",
    "query",
    "panel_type",
    "status",
    "members",
    "consensus",
    "recommendation",
    "degraded",
    "total_messages",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
}


async def test_the_list_keeps_its_envelope_and_gives_summaries_without_the_discussion(
    client: httpx2.AsyncClient,
) -> None:
    draft = await create_panel(client)
    ran = await create_panel(client, configuration={"max_rounds": 1})
    await client.post(f"/api/v1/panels/{ran['panel_id']}/execute", headers=headers_for())
    done = await wait_for_status(client, ran["panel_id"], {"completed"})

    page = (await client.get("/api/v1/panels", params={"limit": 10}, headers=headers_for())).json()
    assert set(page) == {"panels", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (2, 10, 0)
    newest, oldest = page["panels"]
    assert set(newest) == SUMMARY_FIELDS
    assert (newest["panel_id"], oldest["panel_id"]) == (done["panel_id"], draft["panel_id"])
    assert newest["recommendation"] == done["final_recommendation"]["recommendation"]
    assert newest["consensus"] == done["consensus"]
    assert newest["members"] == done["members"]
    assert newest["total_messages"] == done["total_messages"] > 0
    assert (oldest["status"], oldest["recommendation"], oldest["consensus"]) == ("draft", None, None)


async def test_the_openapi_says_what_a_summary_holds(client: httpx2.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    listing = spec["paths"]["/api/v1/panels"]["get"]
    assert "summaries" in listing["description"]
    summary = spec["components"]["schemas"]["PanelSummary"]
    assert set(summary["properties"]) == SUMMARY_FIELDS
    assert "headline" in summary["properties"]["recommendation"]["description"]
    assert "GET /api/v1/panels/{id}" in summary["description"]
