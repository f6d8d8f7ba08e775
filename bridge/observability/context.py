"""Typed per-request facts that handlers record and the observability middleware reads."""

from __future__ import annotations

from aiohttp import web

OPERATION = web.RequestKey("operation", str)
APP_NAME = web.RequestKey("app_name", str)
TARGET = web.RequestKey("target", str)
LEGACY_CODE = web.RequestKey("legacy_code", str)
