"""The order service: legacy semantics that no backend has (guards, review, ledger, outbox)."""
