"""Property tests (hypothesis): the panel's status machine under any sequence of commands, and the configuration
validator under any input."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ask_panel.domain.configuration import NUMBER_RANGES, PanelConfiguration
from ask_panel.domain.errors import DomainError, IllegalTransition
from ask_panel.domain.ids import TenantId
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.values import Member, Recommendation

pytestmark = pytest.mark.fuzz  # hundreds of examples each: run by `make test`, not `make test-fast`

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")
COMMANDS = ("queue", "start", "complete", "fail", "cancel")
# Where each command leads, from the statuses it is allowed in.
TARGET = {
    "queue": PanelStatus.QUEUED,
    "start": PanelStatus.IN_PROGRESS,
    "complete": PanelStatus.COMPLETED,
    "fail": PanelStatus.FAILED,
    "cancel": PanelStatus.CANCELLED,
}


def new_panel() -> Panel:
    return Panel.create(
        tenant_id=TENANT,
        query="Q?",
        panel_type=PanelType.STRUCTURED,
        configuration=PanelConfiguration.parse({"seed": 7}),
        members=[Member("fda_expert", "Dr. A", "FDA"), Member("clinical_expert", "Dr. B", "Clinical")],
    )


def run(panel: Panel, command: str) -> None:
    if command == "complete":
        panel.complete(Recommendation("Do it", "Because", ("a",), (), degraded=False, decided_by="moderator"))
    elif command == "fail":
        panel.fail("it broke")
    else:
        getattr(panel, command)()


@settings(max_examples=300)
@given(st.lists(st.sampled_from(COMMANDS), max_size=12))
def test_any_sequence_of_commands_moves_only_along_allowed_transitions(commands: list[str]) -> None:
    panel = new_panel()
    history = [panel.status]
    for command in commands:
        before = panel.status
        events = len(panel.pending_events)
        if before.can_become(TARGET[command]):
            run(panel, command)
            assert panel.status is TARGET[command]
            announced = 0 if command == "queue" else 1  # queuing is no event; every other move is one, once
            assert len(panel.pending_events) == events + announced
            history.append(panel.status)
        else:
            try:
                run(panel, command)
            except IllegalTransition:
                pass
            else:
                raise AssertionError(f"{command} from {before.value} was allowed")
            assert panel.status is before  # a refused command changes nothing
            assert len(panel.pending_events) == events
    # A terminal status is the last one: nothing leaves it.
    terminal = [i for i, status in enumerate(history) if status.is_terminal]
    assert not terminal or terminal[0] == len(history) - 1
    assert (panel.completed_at is not None) == panel.status.is_terminal


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from([*PanelConfiguration.__dataclass_fields__, "surprise"])


@settings(max_examples=500)
@given(
    st.one_of(st.none(), st.dictionaries(KEYS, JSON, max_size=6), JSON),
    st.none() | st.sampled_from(list(PanelType)),
)
def test_any_configuration_input_is_a_valid_configuration_or_a_domain_error(
    raw: Any, panel_type: PanelType | None
) -> None:
    try:
        config = PanelConfiguration.parse(
            raw if isinstance(raw, dict) or raw is None else {"max_rounds": raw}, panel_type=panel_type
        )
    except DomainError:
        return  # refused, with a message for the caller (a 422)
    config.validate()  # what parse returns is valid by its own rules
    for key, (low, high) in NUMBER_RANGES.items():
        value = getattr(config, key)
        if value is not None:
            assert not isinstance(value, bool) and low <= value <= high, key
            assert not (isinstance(value, float) and math.isnan(value)), key
    if panel_type is not None and isinstance(raw, dict):
        assert set(raw) <= set(PanelConfiguration.keys_for(panel_type))
