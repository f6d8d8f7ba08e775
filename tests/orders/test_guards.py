"""Fraud guards: the app's IP blocklist refuses, its velocity limit holds for review."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

import pytest

from bridge.settings import VelocityLimit
from tests.factories import demo_app
from tests.legacy_api import CA_USER, LegacyApi

ONE_PER_HOUR = VelocityLimit(max_orders=1, window_seconds=3600)


@pytest.fixture
async def limited_api(start_api: Callable[..., Awaitable[LegacyApi]]) -> LegacyApi:
    """The demo app, allowing one order per IP per hour before holding orders for review."""
    return await start_api(apps=(demo_app(velocity=ONE_PER_HOUR),))


@pytest.mark.parametrize("ip", ["203.0.113.7", " 203.0.113.250 ", "::ffff:203.0.113.7"])
async def test_an_ip_in_the_blocklist_is_refused(api: LegacyApi, ip: str) -> None:
    answer = await api.create(offer=1, ip=ip)
    assert (answer.code, answer.message) == (
        "validation",
        "Orders from this IP address are not accepted.",
    )


@pytest.mark.parametrize("ip", ["203.0.113", "localhost", "1.2.3.4.5"])
async def test_a_malformed_ip_is_a_validation_error(api: LegacyApi, ip: str) -> None:
    answer = await api.create(offer=1, ip=ip)
    assert (answer.code, answer.message) == ("validation", "order.ip is not a valid IP address.")


async def test_an_ip_outside_the_blocklist_is_accepted(api: LegacyApi) -> None:
    assert (await api.create(offer=1, ip="198.51.100.7")).order["status"] == "approved"


async def test_a_blocked_order_takes_no_points(api: LegacyApi) -> None:
    await api.create(offer=1, ip="203.0.113.7")
    assert (await api.create(offer=1)).order["user"]["available_points"] == 9900


async def test_orders_within_the_velocity_limit_are_approved(limited_api: LegacyApi) -> None:
    assert (await limited_api.create(offer=1, ip="198.51.100.7")).order["status"] == "approved"


async def test_an_order_over_the_velocity_limit_is_held_for_review(limited_api: LegacyApi) -> None:
    await limited_api.create(offer=1, ip="198.51.100.7")
    held = await limited_api.create(offer=1, customer=CA_USER, ip="198.51.100.7")
    assert held.order["status"] == "pending_approval"


async def test_the_velocity_limit_counts_per_ip(limited_api: LegacyApi) -> None:
    await limited_api.create(offer=1, ip="198.51.100.7")
    assert (await limited_api.create(offer=1, ip="198.51.100.8")).order["status"] == "approved"


async def test_the_velocity_limit_sees_through_ip_spellings(limited_api: LegacyApi) -> None:
    await limited_api.create(offer=1, ip="2001:db8::1")
    held = await limited_api.create(offer=1, ip="2001:0db8:0000::0001")
    assert held.order["status"] == "pending_approval"


@pytest.mark.parametrize(
    "ip",
    [
        "::203.0.113.9",  # IPv4-compatible
        "64:ff9b::203.0.113.9",  # NAT64
        "64:ff9b::cb00:7109",  # NAT64 in hex
        "::ffff:0:203.0.113.9",  # IPv4-translated
        "::FFFF:CB00:7109",  # mapped, upper-case hex
        "203.0.113.9%1",  # with a zone
        "64:ff9b:1::203.0.113.9",  # NAT64 local-use prefix (RFC 8215)
        "64:ff9b:1::cb00:7109",  # the same in hex
        "2002:cb00:7109::1",  # 6to4 (RFC 3056)
        "2001:0:4136:e378:8000:63bf:34ff:8ef6",  # Teredo client 203.0.113.9 (RFC 4380)
        "fe80::5efe:203.0.113.9",  # ISATAP (RFC 5214)
        "fe80::200:5efe:cb00:7109",  # ISATAP, universal interface id
    ],
)
async def test_the_blocklist_sees_an_ipv4_address_in_every_ipv6_spelling(
    api: LegacyApi, ip: str
) -> None:
    answer = await api.create(offer=1, ip=ip)
    assert (answer.code, answer.message) == (
        "validation",
        "Orders from this IP address are not accepted.",
    )


@pytest.mark.parametrize("ip", ["255.255.255.255", "198.51.100.1", "2001:db8::1"])
async def test_an_address_outside_the_blocklist_is_never_taken_for_a_match(
    api: LegacyApi, ip: str
) -> None:
    """An entry with no IPv4 form adds no match (it once stood for 255.255.255.255)."""
    assert (await api.create(offer=1, ip=ip)).order["status"] == "approved"


async def test_a_blocklist_entry_written_in_ipv6_blocks_the_ipv4_address(
    start_api: Callable[..., Awaitable[LegacyApi]],
) -> None:
    api = await start_api(
        apps=(demo_app(ip_blocklist=(ipaddress.ip_network("::ffff:198.51.100.0/120"),)),)
    )
    assert (await api.create(offer=1, ip="198.51.100.7")).code == "validation"
    assert (await api.create(offer=1, ip="198.51.101.7")).order["status"] == "approved"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("2001:db8:77::5", "2001:db8:77::5%1"),
        ("2001:db8:77::5%eth0", "2001:DB8:77:0::5"),
        ("192.0.2.50", "::ffff:192.0.2.50"),
        ("192.0.2.50", "::192.0.2.50"),
        ("192.0.2.50", "64:ff9b::192.0.2.50"),
        ("192.0.2.50", "::ffff:0:c000:232"),
        ("192.0.2.50", "2002:c000:232::1"),
    ],
)
async def test_the_velocity_limit_counts_one_address_whatever_its_spelling(
    limited_api: LegacyApi, first: str, second: str
) -> None:
    await limited_api.create(offer=1, ip=first)
    held = await limited_api.create(offer=1, ip=second)
    assert held.order["status"] == "pending_approval"
