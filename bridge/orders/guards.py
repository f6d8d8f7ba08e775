"""Fraud and eligibility guards that run before any points move."""

from __future__ import annotations

import ipaddress

from bridge.canonical import ErrorCode
from bridge.errors import RequestError
from bridge.settings import AppConfig

IPV4_IN_IPV6 = (
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped (RFC 4291)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (RFC 4291, deprecated)
)
"""IPv6 prefixes whose last 32 bits are an IPv4 address: such an address is that IPv4."""
NO_NETWORK = ipaddress.IPv4Network("255.255.255.255/32")
"""Stands for "no IPv4 form": the broadcast address never places an order."""


def canonical_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """One spelling per address: surrounding blanks and an IPv6 scope id (`%eth0`) dropped,
    an IPv4 address written in IPv6 (`::ffff:a.b.c.d`, `::ffff:0:a.b.c.d`,
    `64:ff9b::a.b.c.d`, `::a.b.c.d`) folded to the IPv4 address. `::` and `::1` stay IPv6.

    Raises ValueError when `text` is not an IP address.
    """
    address = ipaddress.ip_address(text.strip().partition("%")[0])
    if isinstance(address, ipaddress.IPv4Address) or int(address) <= 1:
        return address
    for network in IPV4_IN_IPV6:
        if address in network:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def check_ip(app: AppConfig, ip: str | None) -> str | None:
    """Refuse an order whose origin IP is malformed or inside the app's blocklist.

    Returns the address in its canonical spelling (`canonical_ip`), the one the blocklist
    is checked against and the velocity limit counts, so that neither can be dodged by
    writing the same address another way.
    """
    if ip is None:
        return None
    try:
        address = canonical_ip(ip)
        written = ipaddress.ip_address(ip.strip().partition("%")[0])
    except ValueError as exc:
        raise RequestError(
            ErrorCode.VALIDATION, "order.ip is not a valid IP address.", "order.ip"
        ) from exc
    if _blocked(app, address) or _blocked(app, written):
        raise RequestError(
            ErrorCode.VALIDATION, "Orders from this IP address are not accepted.", "order.ip"
        )
    return str(address)


def _blocked(app: AppConfig, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """In a blocklist entry as written, or in its IPv4 form (`::ffff:203.0.113.0/120` is
    `203.0.113.0/24`)."""
    return any(address in network or address in _as_ipv4(network) for network in app.ip_blocklist)


def _as_ipv4(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> ipaddress.IPv4Network:
    """The IPv4 network an IPv6 entry of a v4-in-v6 prefix names; else an empty match."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        for prefix in IPV4_IN_IPV6:
            if network.subnet_of(prefix):
                first = ipaddress.IPv4Address(int(network.network_address) & 0xFFFFFFFF)
                return ipaddress.IPv4Network((first, network.prefixlen - 96))
    return NO_NETWORK


def check_quantity(app: AppConfig, quantity: int) -> None:
    if quantity > app.max_quantity:
        raise RequestError(
            ErrorCode.VALIDATION,
            f"order.quantity must be at most {app.max_quantity}.",
            "order.quantity",
        )
