"""Pages on the apex host."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.models import Province, Tenant


def platform_home(request: HttpRequest) -> HttpResponse:
    """List every province and its live tenants, each linked to its portal."""
    live = Tenant.objects.exclude(status=Tenant.Status.ARCHIVED).order_by("name")
    provinces = Province.objects.prefetch_related(Prefetch("tenants", queryset=live))
    return render(request, "mpp/home.html", {"provinces": provinces})
