"""A tenant's catalogue API on its own host, mounted at ``/api/``: ``v1/…`` and ``schema/``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from catalog.api.views import LocalServiceViewSet, SyncViewSet
from catalog.api.views_io import LocalExportView, LocalImportView

router = SimpleRouter()
router.register("services", LocalServiceViewSet, basename="local-service")
router.register("sync", SyncViewSet, basename="local-sync")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/export/", LocalExportView.as_view(), name="local-export"),
    path("v1/import/", LocalImportView.as_view(), name="local-import"),
    path("v1/mall/", include("mall.api.urls")),
    path("v1/queue/", include("mall.queue.api.urls")),
    # The apex schema describes the apex URL conf; the tenant API is described on its host.
    path(
        "schema/",
        SpectacularAPIView.as_view(urlconf="mpp.urls_tenant"),
        name="tenant-api-schema",
    ),
]
