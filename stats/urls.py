"""Province statistics API, mounted on the apex under /api/v1/stats/."""

from django.urls import path

from stats.api import ProvinceOverviewView

urlpatterns = [
    path("provinces/<str:code>/", ProvinceOverviewView.as_view(), name="stats-province-overview"),
]
