"""Queue pages (board)."""

from django.urls import URLPattern

app_name = "queue_board"
urlpatterns: list[URLPattern] = []
