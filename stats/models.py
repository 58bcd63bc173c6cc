"""The province statistics rollup (public schema): figures copied out of tenant schemas.

A province's dashboard must not open every tenant schema on each page view, so background
tasks copy what it shows into two public tables whenever a tenant's data changes:

- ``TenantSnapshot``: one row per tenant with typed columns for the overview table;
- ``TenantMetric``: one row per (tenant, metric, dimension) for everything else, including
  whatever later capabilities register (see ``stats.collectors``).

Both are derived data: ``mpp stats rebuild`` recomputes them from the tenant schemas.
A tenant's name and status are not copied: the overview joins the live tenant row.
"""

from __future__ import annotations

from django.db import models

from tenants.models import Tenant


class TenantSnapshot(models.Model):
    """The overview figures of one tenant, as of ``refreshed_at``."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="stats_snapshot"
    )
    # The catalogue the tenant last synced to: master release and province overlay release.
    master_version = models.PositiveIntegerField(null=True, blank=True)
    overlay_version = models.PositiveIntegerField(null=True, blank=True)
    # Fields changed both upstream and locally, awaiting the local admin's decision.
    pending_conflicts = models.PositiveIntegerField(default=0)
    # Services in the catalogue (retired ones excluded), offered to citizens, the tenant's
    # own, and master services with at least one local override.
    services_total = models.PositiveIntegerField(default=0)
    services_enabled = models.PositiveIntegerField(default=0)
    services_local = models.PositiveIntegerField(default=0)
    services_overridden = models.PositiveIntegerField(default=0)
    # Tenant admins who have accepted their invitation and are not deactivated.
    admins_active = models.PositiveIntegerField(default=0)
    # The latest audited change or staff sign-in in the tenant's schema.
    last_activity = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"stats of {self.tenant_id} at {self.refreshed_at:%Y-%m-%d %H:%M}"


class TenantMetric(models.Model):
    """One number about one tenant: ``name`` (e.g. ``services.by_agency``), optionally split
    by ``dimension`` (e.g. an agency code); empty dimension for a plain figure."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="stats_metrics")
    name = models.CharField(max_length=100)
    dimension = models.CharField(max_length=100, blank=True, default="")
    # Exact: counts and rupiah amounts are whole numbers; scores keep four decimals.
    value = models.DecimalField(max_digits=20, decimal_places=4)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "dimension"], name="stats_metric_unique"
            )
        ]
        # Charts read one metric across a province's tenants.
        indexes = [models.Index(fields=["name", "tenant"])]

    def __str__(self) -> str:
        suffix = f"[{self.dimension}]" if self.dimension else ""
        return f"{self.name}{suffix} = {self.value}"
