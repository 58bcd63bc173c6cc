"""Queue pages (counter)."""

from django.urls import URLPattern

app_name = "queue_counter"
urlpatterns: list[URLPattern] = []
