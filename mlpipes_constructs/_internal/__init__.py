"""Helpers shared by several mlpipes packages. Not public API."""
