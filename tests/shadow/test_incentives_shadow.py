"""A bridge on the local target shadowed to Incentives (a real sandbox on port 0, marked
side_effect_free): every operation, writes included, is compared on the shadow store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import demo_apps
from tests.incentives.conftest import (
    base_url,
    incentives_config,
    sandbox,
    sandbox_database,
    start_sandbox,
)
from tests.shadow.conftest import BridgeFactory, bridge_db, report, settle

__all__ = ["sandbox", "sandbox_database", "start_sandbox"]

USER = f"{PREFIX}/users/demo-user-1"
ADDRESS = {
    "addressee": "A",
    "street1": "1 Main St",
    "city": "Springfield",
    "state_province": "IL",
    "country": "US",
    "postal_code": "62701",
}
POLICY = {
    "apps": {
        "demo": {"target": "local", "shadow": {"target": "incentives", "side_effect_free": True}}
    }
}


async def test_the_incentives_translation_answers_like_the_local_engine(
    shadow_bridge: BridgeFactory, sandbox: TestServer, tmp_path: Path
) -> None:
    app = demo_apps()[0].model_copy(update={"incentives": incentives_config(base_url(sandbox))})
    client = await shadow_bridge(POLICY, apps=(app,))
    auth = basic_auth()
    calls: list[tuple[str, str, Any]] = [
        ("post", f"{USER}/offers/1/orders", {"order": {"quantity": 2}}),
        (
            "post",
            f"{USER}/offers/2/orders",
            {"order": {"quantity": 1, "shipping_address": ADDRESS}},
        ),
        ("get", f"{USER}/orders", None),
        ("get", f"{USER}/orders/1", None),
        ("put", f"{PREFIX}/orders/2", {"order": {"status": "approved"}}),
        ("post", f"{USER}/offers/4/orders", {"order": {"quantity": 1}}),
    ]
    for done, (method, path, body) in enumerate(calls):
        if method == "put":  # an update by order id may overtake its create's shadow
            await settle(bridge_db(tmp_path), done)
        response = await getattr(client, method)(path, json=body, headers=auth)
        assert (await response.json())["status"] in ("ok", "error")
    await settle(bridge_db(tmp_path), len(calls))
    rows = {row["operation"]: row for row in (await report(client))["operations"]}
    found = {
        name: (row["comparisons"], row["matches"], row["fields"]) for name, row in rows.items()
    }
    assert found == {
        "create_order": (3, 3, []),
        "list_orders": (1, 1, []),
        "get_order": (1, 1, []),
        "update_order_status": (1, 1, []),
    }
