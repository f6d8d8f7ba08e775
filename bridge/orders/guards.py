"""Fraud and eligibility guards that run before any points move."""

from __future__ import annotations

import ipaddress

from bridge.errors import BlockedIp, InvalidIp, QuantityOverLimit
from bridge.settings import AppConfig

IPV4_IN_IPV6 = (
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped (RFC 4291)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # NAT64 local use (RFC 8215), /96 layout
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (RFC 4291, deprecated)
)
"""IPv6 prefixes whose last 32 bits are an IPv4 address: such an address is that IPv4."""
ISATAP_IDS = (0x00005EFE, 0x02005EFE)
"""ISATAP interface ids (RFC 5214): the last 32 bits after them are the host's IPv4."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def canonical_ip(text: str) -> IPAddress:
    """One spelling per address: surrounding blanks and an IPv6 scope id (`%eth0`) dropped,
    an IPv4 address written in IPv6 folded to the IPv4 address (`ipv4_forms`). `::` and
    `::1` stay IPv6.

    Raises ValueError when `text` is not an IP address.
    """
    address = ipaddress.ip_address(text.strip().partition("%")[0])
    forms = ipv4_forms(address)
    return forms[0] if forms else address


def ipv4_forms(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, most specific first: v4-in-v6 prefixes
    (mapped, translated, compatible, NAT64 well-known and local-use), 6to4 (RFC 3056), the
    Teredo client (RFC 4380) and ISATAP (RFC 5214). An IPv4 address carries none."""
    if isinstance(address, ipaddress.IPv4Address) or int(address) <= 1:
        return []
    last32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    forms = [last32 for network in IPV4_IN_IPV6 if address in network][:1]
    if address.sixtofour is not None:
        forms.append(address.sixtofour)
    if address.teredo is not None:
        forms.append(address.teredo[1])
    if (int(address) >> 32) & 0xFFFFFFFF in ISATAP_IDS:
        forms.append(last32)
    return forms


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
        raise InvalidIp(ip) from exc
    if any(_blocked(app, form) for form in (written, address, *ipv4_forms(written))):
        raise BlockedIp(ip)
    return str(address)


def _blocked(app: AppConfig, address: IPAddress) -> bool:
    """In a blocklist entry as written, or in its IPv4 form (`::ffff:203.0.113.0/120` is
    `203.0.113.0/24`)."""
    for network in app.ip_blocklist:
        as_ipv4 = _as_ipv4(network)
        if address in network or (as_ipv4 is not None and address in as_ipv4):
            return True
    return False


def _as_ipv4(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> ipaddress.IPv4Network | None:
    """The IPv4 network an IPv6 entry of a v4-in-v6 prefix names; None for any other entry."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        for prefix in IPV4_IN_IPV6:
            if network.subnet_of(prefix):
                first = ipaddress.IPv4Address(int(network.network_address) & 0xFFFFFFFF)
                return ipaddress.IPv4Network((first, network.prefixlen - 96))
    return None


def check_quantity(app: AppConfig, quantity: int) -> None:
    if quantity > app.max_quantity:
        raise QuantityOverLimit(quantity, app.max_quantity)
