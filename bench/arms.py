"""The arms of a run: which process each one measures and what load it sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from measure import Load
from stack import AUTH

CUSTOMERS = tuple(f"bench-{n}" for n in range(1, 17))
BASE = "/priv/v1/apps/demo-api-key/users"
CREATE_BODY = '{"order": {"quantity": 1}}'

GET = Load("GET", tuple(f"{BASE}/{c}/orders/{n}" for n, c in enumerate(CUSTOMERS, 1)), "", (AUTH,))
PAGE = 10
"""Orders on the list arm's page (each bench customer is seeded with that many)."""
LIST = Load("GET", tuple(f"{BASE}/{c}/orders?limit={PAGE}&page=1" for c in CUSTOMERS), "", (AUTH,))
CREATE = Load("POST", tuple(f"{BASE}/{c}/offers/1/orders" for c in CUSTOMERS), CREATE_BODY, (AUTH,))
OPERATIONS = {"get": GET, "list": LIST, "create": CREATE}


@dataclass(frozen=True)
class Arm:
    """One measured series: `sut` names the process, `op` the operation (or read/write)."""

    name: str
    sut: str
    op: str
    load: Load


def upstream_loads(answers: dict[str, str], requests: dict[str, str]) -> dict[str, Load]:
    """Arms A-C send the stub the bridge's own upstream calls.

    read: all_balances, the one uncached call of a get or list (the Core lookup and the
    catalog are cached); write: purchase_offer, the first of a create's three calls.
    """
    balances = next(p for p in answers if p.endswith("/all_balances"))
    purchase = next(p for p in answers if p.endswith("/purchase_offer"))
    return {
        "read": Load("POST", (balances,), requests.get(balances, "{}")),
        "write": Load("POST", (purchase,), requests.get(purchase, "{}")),
    }


def proxy_arms(loads: dict[str, Load]) -> list[Arm]:
    """A-C: the stub, nginx and the bare aiohttp proxy; C3: the bare proxy making a create's
    upstream calls in sequence (the floor of D-create)."""
    arms = [Arm(f"{sut}-{op}", sut, op, load) for sut in "ABC" for op, load in loads.items()]
    return [*arms, Arm("C3-create", "C3", "create", CREATE)]


def floor_arms() -> list[Arm]:
    """F: a local create's transaction on the raw driver (the floor of the E arms)."""
    return [
        Arm(f"F-{engine}-create", f"F-{engine}", "create", CREATE) for engine in ("sqlite", "pg")
    ]


def bridge_arms(with_workers: bool) -> list[Arm]:
    arms = [Arm(f"D-{op}", "D", op, load) for op, load in OPERATIONS.items()]
    arms += [Arm(f"D0-{op}", "D0", op, load) for op, load in OPERATIONS.items()]
    arms += [Arm(f"Dsh-{op}", "Dsh", op, OPERATIONS[op]) for op in ("get", "list")]
    arms += [Arm("E-sqlite-create", "E-sqlite", "create", CREATE)]
    arms += [Arm("E-pg-create", "E-pg", "create", CREATE)]
    if with_workers:
        arms += [Arm("W2-get", "W2", "get", GET), Arm("W2-create", "W2", "create", CREATE)]
    return arms


BLOCKS = (
    ("C-read", "D-get", "D0-get", "Dsh-get", "W2-get", "D-list", "D0-list", "Dsh-list"),
    ("C3-create", "D-create", "D0-create", "W2-create"),
    ("F-sqlite-create", "E-sqlite-create"),
    ("F-pg-create", "E-pg-create"),
)
"""Arms compared in a ratio, measured one right after the other (see `blocks`)."""


def blocks(arms: list[Arm]) -> list[list[Arm]]:
    """`arms` in blocks: each of BLOCKS (the arms of it chosen), the others one to a block.

    A ratio is judged per repeat (report.py), so the arms it compares run back to back: on a
    shared machine, arms minutes apart differ by more than the ratios' margins.
    """
    names = {arm.name: arm for arm in arms}
    grouped = [[names[name] for name in block if name in names] for block in BLOCKS]
    placed = {arm.name for block in grouped for arm in block}
    singles = [[arm] for arm in arms if arm.name not in placed]
    return [block for block in grouped if block] + singles


def incentives_apps(path: Path, base_url: str, legacy_url: str | None) -> Path:
    """The demo app on the Incentives target (demo/apps-incentives.yaml minus velocity)."""
    source = Path(__file__).resolve().parent.parent / "demo" / "apps-incentives.yaml"
    document = yaml.safe_load(source.read_text())
    app = document["apps"][0]
    app.pop("velocity", None)
    app["incentives"]["base_url"] = base_url
    if legacy_url is not None:
        app["legacy_base_url"] = legacy_url
    path.write_text(yaml.safe_dump(document))
    return path


def local_apps(path: Path) -> Path:
    source = Path(__file__).resolve().parent.parent / "demo" / "apps.yaml"
    document = yaml.safe_load(source.read_text())
    for app in document["apps"]:
        app.pop("velocity", None)
    path.write_text(yaml.safe_dump(document))
    return path


def shadow_policy(path: Path) -> Path:
    """Reads served on Incentives, every one shadowed to the legacy stub."""
    policy = {
        "apps": {
            "demo": {
                "target": "incentives",
                "shadow": {"target": "legacy", "sample_rate": 1.0},
                "operations": {
                    "create_order": {"shadow": None},
                    "update_order_status": {"shadow": None},
                },
            }
        }
    }
    path.write_text(json.dumps(policy))
    return path
