"""URLs on the apex host (public schema): platform, province console, control-plane API."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from mpp import views

urlpatterns = [
    path("", views.platform_home, name="platform-home"),
    path("accounts/", include("mpp.accounts.urls")),
    path("operator/katalog/", include("catalog.operator.urls")),
    path("provinsi/", include("mpp.console.urls")),
    path("api/v1/", include("tenants.api.urls")),
    path("api/v1/catalogue/", include("catalog.api.urls_public")),
    path("api/v1/stats/", include("stats.urls")),
    path("api/v1/audit/", include("mpp.audit.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
