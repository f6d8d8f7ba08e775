"""Cutover: policy, router, legacy passthrough, locator, reload, backfill (issue 5)."""
