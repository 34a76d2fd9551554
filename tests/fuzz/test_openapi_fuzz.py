"""Schemathesis against the service's own OpenAPI document, in process, on the in-memory adapters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis.python import asgi as schemathesis_asgi

from ask_panel.api.app import create_app
from ask_panel.config import MEMORY_DATABASE_URL
from ask_panel.infrastructure.auth import mint_jwt
from tests.api.openapi_conformance import sse_events
from tests.conftest import JWT_SECRET, make_settings

pytestmark = pytest.mark.fuzz

APP = create_app(make_settings(MEMORY_DATABASE_URL, simulated_token_delay_ms=0))
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
# Text with NUL is refused with a documented 422 (PostgreSQL cannot store it), a rule the document's string
# schemas do not state; `tests/faults/test_hostile_input.py` covers it. Every other character is generated.
SCHEMA.config.generation.update(allow_x00=False)
COUNT = {"stateless": 0, "stateful": 0}
STATELESS_EXAMPLES = 30
# A stream of a panel that does not end stays open: its answer is what it sent by then (every frame checked).
STREAM_WAIT_S = 0.2
# Every other answer is waited for: a loaded machine can take longer than the stream's cut-off to answer.
ANSWER_WAIT_S = 30.0


def wait_for(case: Any) -> float:
    """How long a call may take: a stream is cut short, any other answer is waited for."""
    return STREAM_WAIT_S if case.path.endswith("/stream") else ANSWER_WAIT_S


STATEFUL_EXAMPLES = 40


@SCHEMA.auth(refresh_interval=None)
class TokenForTheCasesTenant:
    """A valid bearer token granting whatever tenant the case names (schemathesis leaves it out where it
    tests a missing or wrong `Authorization`)."""

    def get(self, case: Any, _context: Any) -> str:
        tenant = str((case.headers or {}).get("X-Tenant-ID") or uuid.uuid4()).lower()
        return mint_jwt(JWT_SECRET, [tenant])

    def set(self, case: Any, token: str, _context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def with_a_sendable_tenant(case: Any) -> None:
    """Schemathesis's coverage phase makes header values of letters and digits only, so it cannot write a
    UUID (which has hyphens) and sends `X-Tenant-ID: 0` in cases it marks as valid. Unless the case is
    about that header (a wrong or missing tenant), the tenant is replaced by a real one, so the checks
    judge the case for what it tests."""
    from schemathesis.generation.meta import CoveragePhaseData

    headers = case.headers or {}
    data = case.meta.phase.data if case.meta is not None else None
    about_the_tenant = isinstance(data, CoveragePhaseData) and (data.parameter or "").lower() == "x-tenant-id"
    if headers.get("X-Tenant-ID") == "0" and not about_the_tenant:
        case.headers = {**headers, "X-Tenant-ID": str(uuid.uuid4())}


def checks_not_applicable(case: Any, response: Any) -> list[Any]:
    """The checks left out, and where. `positive_data_acceptance` for two answers, each a rule the document
    cannot state:

    - a stream opened with neither `?ticket=` nor `X-Tenant-ID`: each is optional on its own (a ticket
      replaces the bearer token and the tenant header), but one is required, which OpenAPI 3.1 cannot
      say of parameters; such a request is a documented 400;
    - a panel naming experts that do not exist (422 `unknown-agents`): a reference to data, like a path
      id that names nothing (404), not a shape a schema can rule out;
    - an order between two values, which JSON Schema cannot state between parameters or properties:
      usage `from` after `to` or more than 366 days before it (400), a Delphi estimate whose `min` is not
      below its `max` (422).
    `response_schema_conformance` for event streams: schemathesis reads a 3.1 document's `text/event-stream`
    `schema` as one event, while this document gives it OpenAPI 3.2's meaning (the whole stream, a string;
    each event's schema in `x-itemSchema`, as generated clients read it). `stream_frames_conformance` below
    checks every frame against `x-itemSchema` instead.
    And `use_after_free` for panels: DELETE on a panel is `cancelPanel`, which keeps the panel, cancelled
    (as the operation says); a GET after it answers 200 by design. Experts' DELETE removes them and keeps
    the check. Every other check runs on every case.
    """
    from schemathesis.specs.openapi.checks import (
        positive_data_acceptance,
        response_schema_conformance,
        use_after_free,
    )

    is_stream = case.path.endswith(("/stream", "/ws"))
    names = {name.lower() for name in (case.headers or {})}
    no_stream_credentials = is_stream and "x-tenant-id" not in names and "ticket" not in (case.query or {})
    problem = response.json() if response.status_code in (400, 422) else {}
    unknown_experts = problem.get("type", "").endswith("/unknown-agents")
    query = case.query or {}
    detail = str(problem.get("detail", ""))
    usage_span = ("must not be after", "days at a time")  # `to` defaults to now, so `from` alone has a span too
    usage_out_of_order = case.path == "/api/v1/usage" and "from" in query and any(m in detail for m in usage_span)
    estimate_out_of_order = "estimate.min must be less than" in detail
    inexpressible = no_stream_credentials or unknown_experts or usage_out_of_order or estimate_out_of_order
    excluded: list[Any] = [positive_data_acceptance] if inexpressible else []
    if case.path.startswith("/api/v1/panels/"):
        excluded.append(use_after_free)
    if response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
        excluded.append(response_schema_conformance)
    return excluded


DOCUMENT = APP.openapi()


@schemathesis.check
def stream_frames_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every event of an SSE answer matches the `x-itemSchema` its operation documents (StreamEvent)."""
    if not response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
        return None
    declared = DOCUMENT["paths"][case.operation.path][case.method.lower()]["responses"][str(response.status_code)]
    item_schema = declared["content"]["text/event-stream"]["x-itemSchema"]
    validator = Draft202012Validator({**item_schema, "components": DOCUMENT["components"]})
    COUNT["frames checked"] = COUNT.get("frames checked", 0) + 1
    for event in sse_events(response.text):
        errors = sorted(validator.iter_errors(event), key=str)
        assert not errors, f"{event['event']} frame: {errors[0].message} at {list(errors[0].path)}"
    return True


@SCHEMA.parametrize()
@settings(max_examples=STATELESS_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any) -> None:
    with_a_sendable_tenant(case)
    COUNT["stateless"] += 1
    response = case.call(timeout=wait_for(case))
    case.validate_response(response, excluded_checks=checks_not_applicable(case, response))


class PanelWorkflows(SCHEMA.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls linked by the ids one answer gives the next (create, then read, execute, stream,
    cancel, delete...). Each scenario is one new tenant: what one step creates the next can find, and no
    scenario sees another's data (hypothesis replays a scenario and must get the same answers)."""

    tenant = ""

    def setup(self) -> None:
        self.tenant = str(uuid.uuid4())

    def before_call(self, case: Any) -> None:
        headers = {**(case.headers or {}), "X-Tenant-ID": self.tenant}
        headers["Authorization"] = f"Bearer {mint_jwt(JWT_SECRET, [self.tenant])}"
        case.headers = headers
        COUNT["stateful"] += 1

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"timeout": wait_for(case)}

    def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=checks_not_applicable(case, response),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_workflows_of_linked_calls_answer_as_documented() -> None:
    PanelWorkflows.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            stateful_step_count=8,
        )
    )


def test_the_fuzzing_ran_at_least_a_thousand_cases() -> None:
    """Runs last: the cases the two tests above sent (a run of this file alone counts them)."""
    if COUNT["stateless"] == 0 or COUNT["stateful"] == 0:
        pytest.skip("the fuzzing tests did not run in this session (selected out)")
    print(f"schemathesis: {COUNT}")
    assert COUNT["stateless"] + COUNT["stateful"] >= 1000, COUNT


@pytest.fixture(scope="module", autouse=True)
def stop_the_app() -> Iterator[None]:
    """The app's lifespan (its container) runs in schemathesis's event loop thread; stop it with the module."""
    yield
    schemathesis_asgi.shutdown_lifespans()
