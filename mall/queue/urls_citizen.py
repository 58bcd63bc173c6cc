"""Queue pages for citizens (online booking) and the kiosk, under ``antrian/``.

The display board's pages live beside these under ``antrian/layar/`` (``urls_board``).
"""

from django.urls import path

from mall.queue import views_citizen, views_kiosk

app_name = "queue_citizen"
urlpatterns = [
    path("", views_citizen.start, name="start"),
    path("pesan/<slug:service_key>/", views_citizen.book_service, name="book"),
    path("kelola/", views_citizen.manage, name="manage"),
    path("booking/<str:code>/", views_citizen.booking_detail, name="booking"),
    path("booking/<str:code>/batal/", views_citizen.booking_cancel, name="cancel"),
    path("booking/<str:code>/ubah/", views_citizen.booking_reschedule, name="reschedule"),
    path("kiosk/", views_kiosk.kiosk, name="kiosk"),
    path("kiosk/ambil/", views_kiosk.walk_in, name="kiosk-walk-in"),
    path("kiosk/checkin/", views_kiosk.kiosk_check_in, name="kiosk-check-in"),
    path("kiosk/tiket/<int:pk>/", views_kiosk.kiosk_ticket, name="kiosk-ticket"),
]
