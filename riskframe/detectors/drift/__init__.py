"""Data validation, drift and monitoring: profiles, ``data-schema``, ``drift``, windows of production data."""
