"""The Incentives target: an app's configuration, the HTTP client, one tenant per app, the
backend that serves the legacy order rules on it, the offer sync and the mapping commands."""
