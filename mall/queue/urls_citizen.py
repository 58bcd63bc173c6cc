"""Queue pages (citizen)."""

from django.urls import URLPattern

app_name = "queue_citizen"
urlpatterns: list[URLPattern] = []
