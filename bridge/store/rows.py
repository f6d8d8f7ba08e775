"""Row -> canonical model conversion, shared by the repositories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.canonical import Customer, Offer, Order, OrderStatus, ShippingAddress, Target
from bridge.crypto import EmailCipher


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def customer_from_row(row: Any, cipher: EmailCipher) -> Customer:
    return Customer(
        app=row.app,
        id=row.id,
        external_id=row.external_id,
        registered=row.registered,
        email=cipher.decrypt(row.email_enc) if row.email_enc else None,
        country=row.country,
    )


def offer_from_row(row: Any) -> Offer:
    return Offer(
        app=row.app,
        id=row.id,
        name=row.name,
        logo=row.logo,
        description=row.description,
        offer_type=row.offer_type,
        points=row.points,
        inventory=row.inventory,
        physical=row.physical,
        contest=row.contest,
        review=row.review,
        active=row.active,
    )


def order_from_row(row: Any) -> Order:
    address = row.shipping_address
    return Order(
        id=row.id,
        app=row.app,
        customer_id=row.customer_id,
        offer_id=row.offer_id,
        quantity=row.quantity,
        points=row.points,
        status=OrderStatus(row.status),
        created_at=utc(row.created_at),
        name=row.name,
        logo=row.logo,
        description=row.description,
        offer_type=row.offer_type,
        external_id=row.external_id,
        shipping_address=ShippingAddress.model_validate(address) if address else None,
        target=Target(row.target),
    )
