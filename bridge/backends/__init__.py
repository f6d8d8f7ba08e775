"""Backends: where an order is really placed. One protocol, one implementation per target."""
