"""Queue pages (counter): the officers' counter console."""

from django.urls import path

from mall.queue import views_counter

app_name = "queue_counter"
urlpatterns = [
    path("", views_counter.counter_list, name="list"),
    path("<int:counter_id>/", views_counter.console, name="console"),
    path("<int:counter_id>/panggil/", views_counter.act, {"action": "call"}, name="call"),
    path("<int:counter_id>/panggil-ulang/", views_counter.act, {"action": "recall"}, name="recall"),
    path("<int:counter_id>/lewati/", views_counter.act, {"action": "skip"}, name="skip"),
    path("<int:counter_id>/layani/", views_counter.act, {"action": "start"}, name="start"),
    path("<int:counter_id>/selesai/", views_counter.act, {"action": "finish"}, name="finish"),
    path("<int:counter_id>/alihkan/", views_counter.act, {"action": "transfer"}, name="transfer"),
]
