"""Metrics and logs: defined once, configured once."""
