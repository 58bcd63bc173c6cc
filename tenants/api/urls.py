from rest_framework.routers import DefaultRouter

from tenants.api.views import ProvinceViewSet, TenantViewSet

router = DefaultRouter()
router.register("provinces", ProvinceViewSet, basename="province")
router.register("tenants", TenantViewSet, basename="tenant")
urlpatterns = router.urls
