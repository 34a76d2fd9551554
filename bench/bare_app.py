"""A bare FastAPI endpoint: the yardstick for the panel-creation benchmark (same server, same machine)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    query: str
    panel_type: str
    agent_ids: list[str] | None = None


@app.post("/api/v1/panels", status_code=201)
async def create(body: Body) -> dict[str, Any]:
    return {"panel_id": str(uuid.uuid4()), "query": body.query, "panel_type": body.panel_type, "status": "draft"}
