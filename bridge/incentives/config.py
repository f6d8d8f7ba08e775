"""Per-app configuration of the Incentives target (the `incentives:` block of an app).

Lives apart from settings.py so the Incentives options read as one table; settings.py embeds
it as `AppConfig.incentives`. Reference: docs/configuration.md and docs/mappings.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class IncentivesModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OfferLink(IncentivesModel):
    """One id-map line: a legacy offer id <-> an Incentives reward-store offer.

    The legacy-only facts (type, physical, contest, review) have no home upstream; they are
    configured here so the legacy rules (address, challenge, review) still apply.
    """

    reward_store_id: str = Field(min_length=1)
    reward_store_offer_id: str = Field(min_length=1)
    offer_type: str = "reward"
    physical: bool = False
    contest: bool = False
    review: Literal["approve", "review"] | None = None


class RetryPolicy(IncentivesModel):
    """Retries for reads only: jittered exponential backoff, at most 3 attempts, a budget."""

    attempts: int = Field(default=3, ge=1, le=3)
    wait_initial_seconds: float = Field(default=0.1, ge=0)
    wait_max_seconds: float = Field(default=2.0, ge=0)
    wait_jitter_seconds: float = Field(default=0.2, ge=0)
    budget_ratio: float = Field(default=0.2, ge=0, le=1)
    """Each call earns this many retry tokens; a retry spends one."""
    budget_min_tokens: float = Field(default=10.0, ge=0)
    """Tokens always available, so a quiet upstream can still be retried."""


class BreakerPolicy(IncentivesModel):
    """A circuit breaker per upstream: open after `failure_threshold` failures in a row."""

    failure_threshold: int = Field(default=5, gt=0)
    reset_seconds: float = Field(default=30.0, gt=0)


class IncentivesConfig(IncentivesModel):
    base_url: str = Field(pattern=r"^https?://")
    core_base_url: str | None = Field(default=None, pattern=r"^https?://")
    """The legacy Core API (customer lookup); defaults to `base_url`."""
    connect_key: str = Field(min_length=1)
    connect_secret: SecretStr
    core_api_key: str = Field(min_length=1)
    core_api_secret: SecretStr
    retailer_id: str = Field(min_length=1)
    culture: str = "en-US"
    offers: dict[int, OfferLink] = Field(default_factory=dict)
    connect_timeout_seconds: float = Field(default=2.0, gt=0)
    read_timeout_seconds: float = Field(default=5.0, gt=0)
    total_timeout_seconds: float = Field(default=10.0, gt=0)
    in_flight_margin_seconds: float = Field(default=30.0, ge=0)
    """How long after a call's timeout a write it sent may still land upstream: an undo looks
    for a lost purchase only after one call's timeout plus this margin (docs/reliability.md)."""
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    customer_cache_seconds: float = Field(default=300.0, ge=0)
    customer_cache_size: int = Field(default=10_000, gt=0)
    catalog_cache_seconds: float = Field(default=60.0, ge=0)

    @property
    def core_url(self) -> str:
        return self.core_base_url or self.base_url
