"""One audit table per schema: control-plane actions in public, tenant actions in the tenant."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """A state change made through a domain action."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The actor is kept by value: a tenant's audit row must not reference the public user
    # table (and vice versa), and the record has to survive the user's deletion.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    actor_schema = models.CharField(max_length=63, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_email or 'system'} {self.action}"
