"""Citizen portal pages (and the mall profile for its admin) on a tenant's host."""

from django.urls import path

from mall import views

app_name = "mall"
urlpatterns = [
    path("", views.home, name="home"),
    path("cari/", views.search, name="search"),
    path("layanan/", views.service_list, name="services"),
    path("layanan/<slug:key>/", views.service_detail, name="service"),
    path("instansi/", views.agency_list, name="agencies"),
    path("instansi/<slug:code>/", views.agency_detail, name="agency"),
    path("kategori/", views.category_list, name="categories"),
    path("kategori/<slug:code>/", views.category_detail, name="category"),
    path("media/<path:name>", views.media_file, name="media"),
    path("staff/profil/", views.staff_profile, name="staff-profile"),
    path("staff/profil/libur/", views.staff_closure_add, name="staff-closure-add"),
    path("staff/profil/libur/hapus/", views.staff_closure_remove, name="staff-closure-remove"),
]
