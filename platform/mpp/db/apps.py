"""Registers the Citus data-model rules as a system check (``manage.py check``)."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class DbConfig(AppConfig):
    """``mpp.db``: no models; checks that the models keep tenant schemas movable."""

    name = "mpp.db"
    label = "mpp_db"

    def ready(self) -> None:
        from mpp.db.citus_rules import check_citus_rules

        checks.register(check_citus_rules, checks.Tags.models)
