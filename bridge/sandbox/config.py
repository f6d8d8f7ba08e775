"""What the sandbox serves: one Connect key and secret, and a tenant per app of the data file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bridge.sandbox import ids

DEMO_CONNECT_KEY = "sandbox-connect-key"
DEMO_CONNECT_SECRET = "sandbox-connect-secret"  # noqa: S105 - a documented demo credential


@dataclass(frozen=True)
class SandboxTenant:
    """One retailer. Its Core api key and secret are derived from the app name (demo values)."""

    app: str
    retailer_id: str
    core_api_key: str
    core_api_secret: str

    @classmethod
    def for_app(cls, app: str) -> SandboxTenant:
        return cls(app, ids.retailer_id(app), f"{app}-core-key", f"{app}-core-secret")


@dataclass(frozen=True)
class SandboxConfig:
    connect_key: str
    connect_secret: str
    tenants: tuple[SandboxTenant, ...]

    @classmethod
    def for_apps(
        cls,
        apps: Iterable[str],
        connect_key: str = DEMO_CONNECT_KEY,
        connect_secret: str = DEMO_CONNECT_SECRET,
    ) -> SandboxConfig:
        tenants = tuple(SandboxTenant.for_app(app) for app in apps)
        return cls(connect_key, connect_secret, tenants)

    def by_retailer(self, retailer_id: str) -> SandboxTenant | None:
        return next((t for t in self.tenants if t.retailer_id == retailer_id), None)

    def by_core_key(self, api_key: str) -> SandboxTenant | None:
        return next((t for t in self.tenants if t.core_api_key == api_key), None)
