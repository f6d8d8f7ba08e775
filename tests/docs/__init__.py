"""Tests that keep the documentation honest: docs are checked against the code they describe."""
