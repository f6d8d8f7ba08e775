"""Shipping address validation for physical rewards.

Required: addressee, street1, city, country, postal_code; state_province too for countries
whose addresses need one (US, CA). Country codes are ISO 3166-1 alpha-2 and subdivisions
ISO 3166-2, both checked against pycountry's tables; US ZIP and Canadian postal codes are
checked for shape.
"""

from __future__ import annotations

import re

import pycountry

from bridge.canonical import ShippingAddress
from bridge.errors import (
    AddressFieldMissing,
    AddressFieldTooLong,
    InvalidPostalCode,
    MissingShippingAddress,
    UnknownCountry,
    UnknownSubdivision,
)

REQUIRED = ("addressee", "street1", "city", "country", "postal_code")
COUNTRIES_WITH_STATES = frozenset({"US", "CA"})
POSTAL_CODES = {
    "US": re.compile(r"\d{5}(-\d{4})?"),
    "CA": re.compile(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d", re.I),
}
MAX_FIELD_LENGTH = 255


def validate_address(offer_id: int, address: ShippingAddress | None) -> ShippingAddress:
    """The address with its country upper-cased; refused if offer `offer_id` (a physical
    reward) cannot be shipped to it."""
    if address is None:
        raise MissingShippingAddress(offer_id)
    _require(address, REQUIRED)
    country = (address.country or "").upper()
    if pycountry.countries.get(alpha_2=country) is None:
        raise UnknownCountry(address.country or "")
    if country in COUNTRIES_WITH_STATES:
        _require(address, ("state_province",))
        state = (address.state_province or "").upper()
        subdivision = pycountry.subdivisions.get(code=f"{country}-{state}")  # type: ignore[no-untyped-call]  # pycountry ships no types for subdivisions
        if subdivision is None:
            raise UnknownSubdivision(country, address.state_province or "")
    postal_code = address.postal_code or ""
    pattern = POSTAL_CODES.get(country)
    if pattern is not None and not pattern.fullmatch(postal_code.strip()):
        raise InvalidPostalCode(country, postal_code)
    return address.model_copy(update={"country": country})


def _require(address: ShippingAddress, fields: tuple[str, ...]) -> None:
    for field in fields:
        value = getattr(address, field)
        if value is None or not value.strip():
            raise AddressFieldMissing(field)
        if len(value) > MAX_FIELD_LENGTH:
            raise AddressFieldTooLong(field, MAX_FIELD_LENGTH)
