"""Queue pages (admin): counters, queue settings and statistics at ``/staff/antrian/``."""

from django.urls import URLPattern, path

from mall.queue import views_admin as views

app_name = "queue_admin"
urlpatterns: list[URLPattern] = [
    path("", views.overview, name="overview"),
    path("loket/baru/", views.counter_create, name="counter-create"),
    path("loket/<int:pk>/", views.counter_edit, name="counter"),
    path("loket/<int:pk>/status/", views.counter_status, name="counter-status"),
    path("layanan/", views.setting_pick, name="setting-pick"),
    path("layanan/<slug:key>/", views.setting_edit, name="setting"),
    path("statistik/", views.statistics, name="statistics"),
    path("statistik/csv/", views.statistics_csv, name="statistics-csv"),
]
