"""The data file: customers, offers and challenges per app (format: docs/data-file.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bridge.canonical import Customer, Offer
from bridge.store.catalog import Catalog


class DataModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerData(DataModel):
    id: str = Field(min_length=1, max_length=255)
    external_id: str | None = None
    registered: bool = True
    email: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    points: int = Field(default=0, ge=0)


class OfferData(DataModel):
    id: int = Field(ge=1)
    name: str
    logo: str | None = None
    description: str | None = None
    offer_type: str = "reward"
    points: int = Field(ge=0)
    inventory: int | None = Field(default=None, ge=0)
    physical: bool = False
    contest: bool = False
    review: Literal["approve", "review"] | None = None
    active: bool = True


class ChallengeData(DataModel):
    id: int = Field(ge=1)
    customer: str
    offer: int
    status: Literal["valid", "invalid"] = "valid"


class AppData(DataModel):
    customers: tuple[CustomerData, ...] = ()
    offers: tuple[OfferData, ...] = ()
    challenges: tuple[ChallengeData, ...] = ()


class DataFile(DataModel):
    apps: dict[str, AppData]


def read_data_file(path: Path) -> DataFile:
    """Parse a YAML (or JSON, which is YAML) data file."""
    return DataFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


async def load_data(catalog: Catalog, data: DataFile) -> None:
    for app, content in data.apps.items():
        customers = [
            (
                Customer(
                    app=app,
                    id=c.id,
                    external_id=c.external_id,
                    registered=c.registered,
                    email=c.email,
                    country=c.country.upper() if c.country else None,
                ),
                c.points,
            )
            for c in content.customers
        ]
        offers = [Offer(app=app, **offer.model_dump()) for offer in content.offers]
        challenges = [
            {
                "app": app,
                "id": ch.id,
                "customer_id": ch.customer,
                "offer_id": ch.offer,
                "status": ch.status,
            }
            for ch in content.challenges
        ]
        await catalog.load(customers, offers, challenges)
