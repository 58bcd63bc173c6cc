"""Master catalogue API on the apex, mounted at ``/api/v1/catalogue/``."""

from rest_framework.routers import SimpleRouter

from catalog.api.views import AgencyViewSet, CategoryViewSet, MasterServiceViewSet, ReleaseViewSet

# SimpleRouter: the apex already has DRF's browsable API root at /api/v1/.
router = SimpleRouter()
router.register("services", MasterServiceViewSet, basename="catalogue-service")
router.register("agencies", AgencyViewSet, basename="catalogue-agency")
router.register("categories", CategoryViewSet, basename="catalogue-category")
router.register("releases", ReleaseViewSet, basename="catalogue-release")
urlpatterns = router.urls
