"""The seed of the panel a model call belongs to, for providers that can sample reproducibly.

`PanelDiscussion` sets it around each model call; the simulated provider mixes it into its
randomness, so two panels with different seeds say different things and the same seed says the
same. A provider that has no use for it ignores it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

panel_seed: ContextVar[int | None] = ContextVar("panel_seed", default=None)


@contextmanager
def sampling_with(seed: int) -> Iterator[None]:
    """Model calls made inside belong to a panel with this seed."""
    token = panel_seed.set(seed)
    try:
        yield
    finally:
        panel_seed.reset(token)
