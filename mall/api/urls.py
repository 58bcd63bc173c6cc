"""The mall API on a tenant's host, included at ``/api/v1/mall/``."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from mall.api.views import ClosureViewSet, MallProfileView

router = SimpleRouter()
router.register("closures", ClosureViewSet, basename="mall-closure")

urlpatterns = [
    path("profile/", MallProfileView.as_view(), name="mall-profile"),
    path("", include(router.urls)),
]
