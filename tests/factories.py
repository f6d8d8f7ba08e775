"""Data factories with overrides: demo app configurations, request bodies, addresses."""

from __future__ import annotations

from typing import Any

from bridge.canonical import OrderStatus, Purchase
from bridge.crypto import EmailCipher
from bridge.settings import AppConfig, read_apps_file
from bridge.store.catalog import Catalog
from bridge.store.dataload import DataFile, load_data
from bridge.store.executor import open_database
from tests.clocks import SEED_CREATED_AT
from tests.conftest import DEMO_APPS

SEED_ORDER_REQUEST: dict[str, Any] = {
    "order": {
        "quantity": 1,
        "email": "example@test.com",
        "ip": "127.0.0.1",
        "shipping_address": {
            "addressee": "Mr. Tim O'Brian",
            "street1": "215 Hanover St.",
            "street2": "Suite 100",
            "city": "Boston",
            "state_province": "MA",
            "country": "US",
            "postal_code": "01902",
        },
        "challenge": {"id": 111111},
    }
}
"""The seed's example create-order request body, copied verbatim (orders-api.txt)."""


def demo_app(**changes: Any) -> AppConfig:
    """The demo app from demo/apps.yaml with some options changed."""
    (app,) = read_apps_file(DEMO_APPS)
    return app.model_copy(update=changes)


def us_address(**changes: str | None) -> dict[str, str | None]:
    """A valid US shipping address (the seed's), with some fields changed."""
    return {**SEED_ORDER_REQUEST["order"]["shipping_address"], **changes}


def ca_address(**changes: str | None) -> dict[str, str | None]:
    """A valid Canadian shipping address, with some fields changed."""
    address = us_address(state_province="ON", country="CA", postal_code="K1A 0B1", city="Ottawa")
    return {**address, **changes}


async def load_demo_data(database_url: str, email_key: str, **app_data: Any) -> None:
    """Load more customers, offers or challenges for the demo app (docs/data-file.md)."""
    engine = open_database(database_url)
    try:
        data = DataFile.model_validate({"apps": {"demo": app_data}})
        await load_data(Catalog(engine, EmailCipher([email_key])), data)
    finally:
        await engine.close()


async def approved_purchase(
    catalog: Catalog, app: str, customer: str, offer_id: int = 1, quantity: int = 1
) -> Purchase:
    """A plain approved purchase by a loaded customer of a loaded offer (store-level tests)."""
    buyer = await catalog.customer(app, customer)
    offer = await catalog.offer(app, offer_id)
    assert buyer is not None
    assert offer is not None
    return Purchase(
        app=app,
        customer=buyer,
        offer=offer,
        quantity=quantity,
        points=offer.points * quantity,
        status=OrderStatus.APPROVED,
        email=None,
        ip=None,
        shipping_address=None,
        challenge_id=None,
        external_id=None,
        created_at=SEED_CREATED_AT,
    )
