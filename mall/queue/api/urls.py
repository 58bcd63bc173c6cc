"""The queue API on a tenant's host, included at ``/api/v1/queue/``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
