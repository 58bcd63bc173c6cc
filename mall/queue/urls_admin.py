"""Queue pages (admin)."""

from django.urls import URLPattern

app_name = "queue_admin"
urlpatterns: list[URLPattern] = []
