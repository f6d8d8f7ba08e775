"""Fixtures for the order service's tests: more demo data on the test's store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest

from tests.factories import load_demo_data


@pytest.fixture
def more_data(database_url: str, email_key: str) -> Callable[..., Awaitable[None]]:
    """Load customers, offers or challenges into the demo app of the test's bridge."""
    loader: Callable[..., Awaitable[None]] = partial(load_demo_data, database_url, email_key)
    return loader


def contest_offer(**changes: Any) -> dict[str, Any]:
    """A contest-entries offer like demo offer 3, with some fields changed."""
    return {"id": 5, "name": "Second Sweepstakes", "offer_type": "contest entries",
            "points": 10, "contest": True, **changes}  # fmt: skip
