"""Master catalogue API on the apex, mounted at ``/api/v1/catalogue/``."""

from collections.abc import Callable
from typing import Any

from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.api.views import AgencyViewSet, CategoryViewSet, MasterServiceViewSet, ReleaseViewSet
from catalog.api.views_io import MasterExportView, MasterImportView
from catalog.api.views_overlay import ProvinceOverlayViewSet

# SimpleRouter: the apex already has DRF's browsable API root at /api/v1/.
router = SimpleRouter()
router.register("services", MasterServiceViewSet, basename="catalogue-service")
router.register("agencies", AgencyViewSet, basename="catalogue-agency")
router.register("categories", CategoryViewSet, basename="catalogue-category")
router.register("releases", ReleaseViewSet, basename="catalogue-release")


def _overlay(actions: dict[str, str]) -> Callable[..., Any]:
    return ProvinceOverlayViewSet.as_view(actions)


# A router would map PATCH only onto a detail route; the overlay is one object per province,
# with its sub-resources spelled out here.
OVERLAY = "provinces/<str:code>/overlay/"
urlpatterns = [
    *router.urls,
    path("export/", MasterExportView.as_view(), name="catalogue-export"),
    path("import/", MasterImportView.as_view(), name="catalogue-import"),
    path(
        OVERLAY,
        _overlay({"get": "retrieve", "patch": "partial_update"}),
        name="province-overlay",
    ),
    path(f"{OVERLAY}fields/", _overlay({"post": "set_field"}), name="province-overlay-fields"),
    path(
        f"{OVERLAY}services/", _overlay({"post": "add_service"}), name="province-overlay-services"
    ),
    path(f"{OVERLAY}resolve/", _overlay({"post": "resolve"}), name="province-overlay-resolve"),
    path(
        f"{OVERLAY}releases/",
        _overlay({"get": "releases", "post": "publish"}),
        name="province-overlay-releases",
    ),
    path(
        f"{OVERLAY}releases/<int:version>/",
        _overlay({"get": "release"}),
        name="province-overlay-release",
    ),
]
