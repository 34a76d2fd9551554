"""An outage is logged once when it begins and once when it ends, however often it flaps meanwhile."""

from __future__ import annotations

import logging

import pytest

from ask_panel.application.outages import Outage


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_failures_and_successes_interleaved_under_load_are_one_episode(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    outage = Outage("the database", logging.getLogger("test.outage"), quiet_s=5.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        for _ in range(60):  # an exhausted pool: some requests time out, some get the connection
            outage.failed(TimeoutError("QueuePool limit reached"))
            clock.now += 0.02
            outage.succeeded()
            clock.now += 0.02
    assert lines(caplog) == ["the database is unavailable (TimeoutError: QueuePool limit reached)"]


def test_the_episode_ends_at_the_first_success_a_quiet_period_after_the_last_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    outage = Outage("the database", logging.getLogger("test.outage"), quiet_s=5.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        outage.failed(ConnectionError("refused"))
        clock.now += 2
        outage.failed(ConnectionError("refused"))
        outage.succeeded()
        clock.now += 4.9
        outage.succeeded()
        assert len(caplog.records) == 1, "still within the quiet period"
        clock.now += 0.2
        outage.succeeded()
        outage.succeeded()
    assert lines(caplog) == [
        "the database is unavailable (ConnectionError: refused)",
        "the database is available again after 2.0 s (2 failures meanwhile)",
    ]


def test_ongoing_follows_the_latest_report() -> None:
    clock = Clock()
    outage = Outage("Redis", logging.getLogger("test.outage"), clock=clock)
    outage.failed("timed out")
    assert outage.ongoing
    outage.succeeded()
    assert not outage.ongoing, "a success means it works now, even before the episode's log line"
