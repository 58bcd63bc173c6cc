"""Citizen portal pages on a tenant's host."""

from __future__ import annotations

from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog.local.models import LocalService


def home(request: HttpRequest) -> HttpResponse:
    """The mall's front page: its name and the services it offers, by agency."""
    services = LocalService.objects.filter(enabled=True, retired=False).only(
        "key", "name_id", "name_en", "agency_name", "fee", "same_day", "processing_days"
    )
    agencies = [
        (agency, list(rows)) for agency, rows in groupby(services, key=lambda s: s.agency_name)
    ]
    return render(
        request,
        "mall/home.html",
        {
            "tenant": request.tenant,  # type: ignore[attr-defined]
            "agencies": agencies,
            "service_count": sum(len(rows) for _, rows in agencies),
        },
    )
