"""The local admin's catalogue pages, included under ``staff/katalog/`` on a tenant host."""

from django.urls import path

from catalog.local import views

app_name = "local_catalog"
urlpatterns = [
    path("", views.service_list, name="services"),
    path("layanan/baru/", views.local_service_create, name="service-create"),
    path("layanan/<slug:key>/", views.service_detail, name="service"),
    path("layanan/<slug:key>/status/", views.service_enabled, name="service-enabled"),
    path("layanan/<slug:key>/ubah/<str:field>/", views.field_override, name="field-override"),
    path("layanan/<slug:key>/kembalikan/<str:field>/", views.field_revert, name="field-revert"),
    path(
        "layanan/<slug:key>/konflik/<str:field>/",
        views.conflict_resolve,
        name="conflict-resolve",
    ),
    path("instansi/", views.agency_list, name="agencies"),
    path("instansi/baru/", views.agency_create, name="agency-create"),
    path("instansi/<slug:code>/", views.agency_presence, name="agency-presence"),
    path("sinkronisasi/", views.sync, name="sync"),
]
