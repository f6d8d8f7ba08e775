"""Shipping address validation for physical rewards.

Required: addressee, street1, city, country, postal_code; state_province too for countries
whose addresses need one (US, CA). Country codes are ISO 3166-1 alpha-2 and subdivisions
ISO 3166-2, both checked against pycountry's tables; US ZIP and Canadian postal codes are
checked for shape.
"""

from __future__ import annotations

import re
from typing import NoReturn

import pycountry

from bridge.canonical import ErrorCode, ShippingAddress
from bridge.errors import RequestError

REQUIRED = ("addressee", "street1", "city", "country", "postal_code")
COUNTRIES_WITH_STATES = frozenset({"US", "CA"})
POSTAL_CODES = {
    "US": re.compile(r"\d{5}(-\d{4})?"),
    "CA": re.compile(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d", re.I),
}
MAX_FIELD_LENGTH = 255


def validate_address(address: ShippingAddress | None) -> ShippingAddress:
    if address is None:
        raise RequestError(
            ErrorCode.MISSING_DATA,
            "A shipping address is required for a physical reward.",
            field="shipping_address",
        )
    _require(address, REQUIRED)
    country = (address.country or "").upper()
    if pycountry.countries.get(alpha_2=country) is None:
        _invalid("country", "must be an ISO 3166-1 alpha-2 country code")
    if country in COUNTRIES_WITH_STATES:
        _require(address, ("state_province",))
        state = (address.state_province or "").upper()
        subdivision = pycountry.subdivisions.get(code=f"{country}-{state}")  # type: ignore[no-untyped-call]  # pycountry ships no types for subdivisions
        if subdivision is None:
            _invalid("state_province", f"must be an ISO 3166-2 subdivision of {country}")
    pattern = POSTAL_CODES.get(country)
    if pattern is not None and not pattern.fullmatch((address.postal_code or "").strip()):
        _invalid("postal_code", f"is not a valid {country} postal code")
    return address.model_copy(update={"country": country})


def _require(address: ShippingAddress, fields: tuple[str, ...]) -> None:
    for field in fields:
        value = getattr(address, field)
        if value is None or not value.strip():
            raise RequestError(
                ErrorCode.MISSING_DATA,
                f"shipping_address.{field} is required.",
                field=f"shipping_address.{field}",
            )
        if len(value) > MAX_FIELD_LENGTH:
            _invalid(field, f"is longer than {MAX_FIELD_LENGTH} characters")


def _invalid(field: str, reason: str) -> NoReturn:
    raise RequestError(
        ErrorCode.VALIDATION,
        f"shipping_address.{field} {reason}.",
        field=f"shipping_address.{field}",
    )
