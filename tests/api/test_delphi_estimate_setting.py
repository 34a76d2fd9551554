"""`configuration.estimate`: what a Delphi panel estimates, set by the person asking; checked like any setting."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.conftest import headers_for

ESTIMATE = {"question": "Months until first patient in", "unit": "months", "min": 1, "max": 48}


def delphi(**configuration: Any) -> dict[str, Any]:
    return {"query": "How many months until first patient in?", "panel_type": "delphi", "configuration": configuration}


async def test_a_delphi_panel_keeps_the_estimate_it_was_given(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/v1/panels", json=delphi(estimate=ESTIMATE), headers=headers_for())
    assert response.status_code == 201, response.text
    assert response.json()["configuration"]["estimate"] == {**ESTIMATE, "min": 1.0, "max": 48.0}
    read = await client.get(f"/api/v1/panels/{response.json()['panel_id']}", headers=headers_for())
    assert read.json()["configuration"]["estimate"] == response.json()["configuration"]["estimate"]


@pytest.mark.parametrize(
    "estimate",
    [
        {**ESTIMATE, "min": 48, "max": 1},
        {**ESTIMATE, "min": 5, "max": 5},
        {**ESTIMATE, "unit": ""},
        {**ESTIMATE, "question": "   "},
        {**ESTIMATE, "unit": "u" * 41},
        {**ESTIMATE, "extra": 1},
        {"question": "Months?", "unit": "months", "min": 1},
        {**ESTIMATE, "max": "lots"},
        "months",
    ],
)
async def test_an_estimate_that_cannot_be_asked_is_a_422(client: httpx2.AsyncClient, estimate: Any) -> None:
    response = await client.post("/api/v1/panels", json=delphi(estimate=estimate), headers=headers_for())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_estimate_is_refused_for_a_panel_that_does_not_estimate(client: httpx2.AsyncClient) -> None:
    body = {"query": "ok?", "panel_type": "structured", "configuration": {"estimate": ESTIMATE}}
    response = await client.post("/api/v1/panels", json=body, headers=headers_for())
    assert response.status_code == 422
    assert "estimate" in response.json()["detail"]
