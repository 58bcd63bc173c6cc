"""The control-plane REST API (``/api/v1/`` on the apex)."""
