"""Books reconciliation: the ledger against the Incentives upstream's facts, the drift found
and its repairs (docs/reconcile.md)."""
