"""Operator pages of the master catalogue, included under ``operator/katalog/`` on the apex."""

from django.urls import path

from catalog.operator import views

app_name = "catalog_operator"
urlpatterns = [
    path("", views.service_list, name="services"),
    path("baru/", views.service_create, name="service-create"),
    path("layanan/<slug:key>/", views.service_edit, name="service-edit"),
    path("layanan/<slug:key>/hapus/", views.service_delete, name="service-delete"),
    path("rilis/", views.release_list, name="releases"),
    path("rilis/terbitkan/", views.release_publish, name="release-publish"),
    path("rilis/beda/", views.release_diff, name="release-diff"),
    path("rilis/<int:version>/", views.release_detail, name="release-detail"),
]
