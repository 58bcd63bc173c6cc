"""URLs on a tenant's host (tenant schema): the citizen portal and staff pages."""

from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

urlpatterns = [
    path("", include("mall.urls")),
    path("", include("mall.queue.urls")),
    path("staff/", include("mpp.accounts.urls")),
    path("staff/katalog/", include("catalog.local.urls")),
    path("api/", include("catalog.api.urls_tenant")),
    # Django's language switch, without the CSRF check: the form sits in every citizen page,
    # which is cached and shared between visitors, so it cannot carry a per-visitor token.
    # A forged request could only change the visitor's language; `next` is still checked
    # against this host by Django.
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
]
