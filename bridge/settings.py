"""Settings: environment variables with the BRIDGE_ prefix, apps (tenants) from a YAML file.

Tests build `Settings(...)` directly; only `from_environment()` reads the process environment.
The file format is documented in docs/configuration.md.
"""

from __future__ import annotations

import ipaddress
import re
import string
from pathlib import Path
from typing import Annotated, Literal

import sqlalchemy as sa
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bridge.canonical import Target
from bridge.incentives.config import IncentivesConfig
from bridge.shadow.config import ShadowSettings


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReviewCondition(ConfigModel):
    """All given conditions must hold for a rule to match."""

    physical: bool | None = None
    contest: bool | None = None
    offer_type: str | None = None
    points_over: int | None = None
    quantity_over: int | None = None


class ReviewRule(ConfigModel):
    when: ReviewCondition
    decision: Literal["approve", "review"]


class ReviewPolicy(ConfigModel):
    """First matching rule wins; `default` applies when none matches."""

    default: Literal["approve", "review"] = "review"
    rules: tuple[ReviewRule, ...] = ()


class VelocityLimit(ConfigModel):
    """More than `max_orders` orders from one IP within the window are held for review."""

    max_orders: int = Field(gt=0)
    window_seconds: int = Field(gt=0)


EMAIL_SUBJECT_FIELDS = frozenset({"order_id", "offer_name", "quantity", "points"})
"""The fields an app's `email_subject` template may name (bridge/orders/fulfilment_email.py)."""


def _check_subject_template(template: str) -> str:
    """Refuse a subject template naming an unknown field, at start-up rather than at send."""
    fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    unknown = sorted(fields - EMAIL_SUBJECT_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(EMAIL_SUBJECT_FIELDS))
        raise ValueError(f"unknown field(s) {unknown}; allowed: {allowed}")
    return template


class AppConfig(ConfigModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    api_key: str = Field(min_length=1)
    api_secret: SecretStr
    target: Target = Target.LOCAL
    enable_mpoints_info_in_users_api: bool = False
    max_quantity: int = Field(default=100, gt=0)
    ip_blocklist: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    velocity: VelocityLimit | None = None
    review: ReviewPolicy = ReviewPolicy()
    email_subject: Annotated[str, AfterValidator(_check_subject_template)] = (
        "Your order {order_id}: {offer_name}"
    )
    legacy_base_url: str | None = None
    """Base URL of the app's real legacy Orders API (passthrough target and order locator)."""
    incentives: IncentivesConfig | None = None
    """The app's Incentives upstream (bridge/incentives/config.py); needed by that target."""

    @model_validator(mode="after")
    def _check_incentives(self) -> AppConfig:
        if self.target is Target.INCENTIVES and self.incentives is None:
            raise ValueError("target incentives needs an 'incentives' block")
        return self

    @model_validator(mode="after")
    def _check_legacy(self) -> AppConfig:
        if self.target is Target.LEGACY and self.legacy_base_url is None:
            raise ValueError("target legacy needs a legacy_base_url")
        return self

    @field_validator("legacy_base_url")
    @classmethod
    def _check_legacy_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", value):
            raise ValueError("must be an absolute http(s) URL without query or fragment")
        return value.rstrip("/")


class SmtpSettings(ConfigModel):
    host: str
    port: int = 25
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "orders-bridge@localhost"
    start_tls: bool = False
    timeout_seconds: float = 10.0


class ConfigurationError(Exception):
    """A setting or configuration file that cannot be used: `where` names the file or the
    environment variable, `what` says what is wrong; neither carries a secret's value.

    Not a ValueError on purpose: pydantic turns a ValueError raised while Settings validate
    into a ValidationError that carries the whole settings input, secrets included."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


def read_apps_file(path: Path) -> tuple[AppConfig, ...]:
    """Read the apps file: a YAML mapping with an `apps` list (ConfigurationError if not)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(str(path), f"cannot be read ({type(exc).__name__})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(str(path), f"is not valid YAML{where}") from exc
    except RecursionError as exc:  # the parser recurses once per level of nesting
        raise ConfigurationError(str(path), "is not valid YAML: nested too deeply") from exc
    if not isinstance(document, dict) or not isinstance(document.get("apps"), list):
        raise ConfigurationError(str(path), "expected a mapping with an 'apps' list")
    apps = []
    for index, entry in enumerate(document["apps"]):
        try:
            apps.append(AppConfig.model_validate(entry))
        except ValidationError as exc:
            raise ConfigurationError(str(path), validation_problems(exc, "apps", index)) from exc
    return tuple(apps)


def validation_problems(exc: ValidationError, *prefix: str | int) -> str:
    """`loc: message` for each problem, never the input (it may be a secret)."""
    problems = exc.errors(include_url=False, include_input=False, include_context=False)
    return "; ".join(
        f"{'.'.join(map(str, (*prefix, *problem['loc'])))}: {problem['msg']}"
        for problem in problems
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BRIDGE_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite:///orders-bridge.db"
    db_pool_size: int = Field(default=5, gt=0)
    db_max_overflow: int = Field(default=5, ge=0)
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    idempotency_ttl_seconds: int = Field(default=86400, gt=0)
    idempotency_wait_seconds: float = Field(default=10.0, gt=0)
    idempotency_reap_seconds: float = Field(default=300.0, gt=0)
    config_file: Path | None = None
    apps: tuple[AppConfig, ...] = ()
    email_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    metrics_enabled: bool = True
    """False turns every metric into a no-op (measures what observability costs)."""
    smtp: SmtpSettings | None = None
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    outbox_max_attempts: int = Field(default=8, gt=0)
    policy_file: Path | None = None
    policy_poll_seconds: float = Field(default=1.0, gt=0)
    admin_token: SecretStr | None = None
    legacy_timeout_seconds: float = Field(default=10.0, gt=0)
    legacy_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    legacy_pool_size: int = Field(default=100, gt=0)
    order_id_floor: int = Field(default=0, ge=0)
    shutdown_drain_seconds: float = Field(default=0.0, ge=0)
    """On SIGTERM, readiness answers 503 this long while calls are still accepted."""
    shutdown_timeout_seconds: float = Field(default=30.0, gt=0)
    """Then calls in flight get this long to finish before they are cut."""
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    """A new connection must send its first request's headers within this (bridge/serving)."""
    keepalive_timeout_seconds: float = Field(default=75.0, gt=0)
    """A connection without a complete request for this long is closed (idle keep-alive)."""
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    """A request body must arrive within this (bridge/legacy/middleware.py)."""
    shadow: ShadowSettings = ShadowSettings()
    """Shadow runner, diff store, readiness and recorder (docs/shadowing.md)."""

    @field_validator("email_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            backend = sa.make_url(value).get_backend_name()
        except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port int() refuses
            raise ValueError("is not a database URL") from exc
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"names the unsupported database {backend!r} (sqlite, postgresql)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _load_apps_file(self) -> Settings:
        if self.config_file is not None and not self.apps:
            object.__setattr__(self, "apps", read_apps_file(self.config_file))
        names = [app.name for app in self.apps]
        keys = [app.api_key for app in self.apps]
        if len(set(names)) != len(names) or len(set(keys)) != len(keys):
            where = str(self.config_file) if self.config_file is not None else "BRIDGE_APPS"
            raise ConfigurationError(where, "app names and api keys must be unique across apps")
        return self

    @classmethod
    def from_environment(cls) -> Settings:
        return cls()
