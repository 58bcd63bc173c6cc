"""URLs on a tenant's host (tenant schema): the citizen portal and staff pages."""

from django.urls import include, path

urlpatterns = [
    path("", include("mall.urls")),
    path("staff/", include("mpp.accounts.urls")),
    path("staff/katalog/", include("catalog.local.urls")),
    path("api/", include("catalog.api.urls_tenant")),
    path("i18n/", include("django.conf.urls.i18n")),
]
