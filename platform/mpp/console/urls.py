"""Province console URLs, included under ``provinsi/`` on the apex."""

from django.urls import path

from mpp.console import views

app_name = "console"
urlpatterns = [
    path("", views.province_list, name="provinces"),
    path("<str:code>/", views.province_home, name="province"),
    path("<str:code>/daerah/baru/", views.onboard, name="onboard"),
    path("<str:code>/daerah/impor/", views.onboard_csv, name="onboard-csv"),
    path("<str:code>/daerah/<slug:slug>/", views.tenant_detail, name="tenant"),
    path("<str:code>/daerah/<slug:slug>/<slug:verb>/", views.tenant_action, name="tenant-action"),
    path("<str:code>/audit/", views.audit_log, name="audit"),
]
