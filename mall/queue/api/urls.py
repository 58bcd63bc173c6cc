"""The queue API on a tenant's host, included at ``/api/v1/queue/``."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from mall.queue.api import views

router = SimpleRouter()
router.register("services", views.QueueServiceViewSet, basename="queue-service")
router.register("bookings", views.QueueBookingViewSet, basename="queue-booking")
router.register("tickets", views.QueueTicketViewSet, basename="queue-ticket")
router.register("counters", views.QueueCounterViewSet, basename="queue-counter")
router.register("settings", views.QueueSettingViewSet, basename="queue-setting")

urlpatterns = [
    path("board/", views.QueueBoardView.as_view(), name="queue-board"),
    path("", include(router.urls)),
]
