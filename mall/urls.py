from django.urls import path

from mall import views

app_name = "mall"
urlpatterns = [
    path("", views.home, name="home"),
]
