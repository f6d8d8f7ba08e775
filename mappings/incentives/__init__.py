"""Canonical <-> Incentives wire, one module per upstream call (both directions).

Each module declares its call as one `Call` (`CALL`: name, method, path, request and response
mappings, error table; docs/mappings.md). `MODULES` is the registry: `orders-bridge
check-mappings` and the golden tests walk it.
"""

from __future__ import annotations

from types import ModuleType

from mappings.incentives import (
    all_balances,
    core_user,
    deposit,
    manual_redeem,
    point_audit_logs,
    purchase_offer,
    revoke,
    reward_store_offers,
    user_offers,
)

MODULES: tuple[ModuleType, ...] = (
    core_user,
    purchase_offer,
    reward_store_offers,
    user_offers,
    manual_redeem,
    revoke,
    deposit,
    all_balances,
    point_audit_logs,
)
