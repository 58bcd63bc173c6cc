"""The queue's pages on a tenant's host: citizens and kiosk at ``antrian/``, staff at ``staff/``."""

from django.urls import include, path

urlpatterns = [
    path("antrian/", include("mall.queue.urls_citizen")),
    path("antrian/", include("mall.queue.urls_board")),
    path("staff/loket/", include("mall.queue.urls_counter")),
    path("staff/antrian/", include("mall.queue.urls_admin")),
]
