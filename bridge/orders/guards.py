"""Fraud and eligibility guards that run before any points move."""

from __future__ import annotations

import ipaddress

from bridge.canonical import ErrorCode
from bridge.errors import RequestError
from bridge.settings import AppConfig


def check_ip(app: AppConfig, ip: str | None) -> str | None:
    """Refuse an order whose origin IP is malformed or inside the app's blocklist.

    Returns the address in one canonical spelling (an IPv4-mapped IPv6 address as plain
    IPv4), so that neither the blocklist nor the velocity limit can be dodged by writing the
    same address another way.
    """
    if ip is None:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError as exc:
        raise RequestError(
            ErrorCode.VALIDATION, "order.ip is not a valid IP address.", "order.ip"
        ) from exc
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in app.ip_blocklist):
        raise RequestError(
            ErrorCode.VALIDATION, "Orders from this IP address are not accepted.", "order.ip"
        )
    return str(address)


def check_quantity(app: AppConfig, quantity: int) -> None:
    if quantity > app.max_quantity:
        raise RequestError(
            ErrorCode.VALIDATION,
            f"order.quantity must be at most {app.max_quantity}.",
            "order.quantity",
        )
