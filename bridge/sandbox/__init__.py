"""The Incentives sandbox: the local order engine behind the Incentives routes and envelopes."""
